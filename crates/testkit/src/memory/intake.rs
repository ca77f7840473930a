//! In-memory adapters of the intake ports, for use-case tests without a database.
