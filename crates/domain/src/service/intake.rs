//! The intake use cases.
