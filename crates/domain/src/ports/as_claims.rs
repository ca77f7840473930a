//! Ports of the as_claims use cases (`crate::service::as_claims`): one method per thing a use case
//! needs from storage.
