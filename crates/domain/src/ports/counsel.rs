//! Ports of the counsel use cases (`crate::service::counsel`): one method per thing a use case
//! needs from storage.
