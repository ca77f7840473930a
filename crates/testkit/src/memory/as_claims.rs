//! In-memory adapters of the as_claims ports, for use-case tests without a database.
