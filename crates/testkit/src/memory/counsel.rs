//! In-memory adapters of the counsel ports, for use-case tests without a database.
