//! Ports of the files use cases (`crate::service::files`): one method per thing a use case
//! needs from storage.
