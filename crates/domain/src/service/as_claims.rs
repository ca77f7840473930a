//! The as_claims use cases.
