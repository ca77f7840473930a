//! The orders use cases.
