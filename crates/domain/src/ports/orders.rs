//! Ports of the orders use cases (`crate::service::orders`): one method per thing a use case
//! needs from storage.
