//! Ports of the intake use cases (`crate::service::intake`): one method per thing a use case
//! needs from storage.
