//! In-memory adapters of the files ports, for use-case tests without a database.
