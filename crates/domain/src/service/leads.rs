//! The leads use cases.
