//! The files use cases.
