//! sea-orm entities: the storage shape, private to `infra`. Repositories map them to
//! domain types; nothing outside this crate sees a `Model`.

pub mod api_key;
pub mod as_reason;
pub mod audit_log;
pub mod idempotency_key;
pub mod organization;
pub mod product;
pub mod region;
pub mod source;
