//! In-memory adapters of the orders ports, for use-case tests without a database.
