//! sea-orm entities: the storage shape, private to `infra`. Repositories map them to
//! domain types; nothing outside this crate sees a `Model`.

pub mod allocation_pool;
pub mod api_key;
pub mod as_reason;
pub mod as_request;
pub mod as_status_history;
pub mod assignment;
pub mod audit_log;
pub mod counsel_case;
pub mod counsel_member;
pub mod counsel_queue;
pub mod idempotency_record;
pub mod lead;
pub mod order;
pub mod order_line;
pub mod organization;
// Read by the webhook dispatcher (being built beside this); `outbox::append` writes with
// sea-query, so nothing else reads the entity yet.
#[allow(dead_code)]
pub mod outbox_event;
pub mod pii_access_log;
pub mod product;
pub mod region;
pub mod source;
pub mod source_project;
pub mod sso_token_use;
pub mod uploaded_file;
pub mod user;
pub mod webhook_delivery;
pub mod webhook_endpoint;
