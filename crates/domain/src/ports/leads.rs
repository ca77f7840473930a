//! Ports of the leads use cases (`crate::service::leads`): one method per thing a use case
//! needs from storage.
