//! In-memory adapters of the leads ports, for use-case tests without a database.
