//! LDBDS adapters: everything that touches the outside world on behalf of the domain.
//!
//! - [`config`]: typed settings from the layered TOML files and the environment;
//! - [`db`]: connections, SQLite's write gate, migrations;
//! - [`reference`]: the reference-data repository (regions, products, AS reasons);
//! - [`api_keys`], [`idempotency`], [`audit`]: the storage behind the API's machinery;
//! - [`crypto`] (AES-256-GCM envelopes, keyring, blind indexes), [`vault`] (keys from the
//!   settings), [`users`] (encrypted users), [`orgs`] (SSO settings), [`tokens`] (JWT),
//!   [`pii_access`] (the access log), [`rotation`] (re-encryption under the active key),
//!   [`seal_backfill`] (sealing free text stored before the vault covered it);
//! - [`outbox`], [`webhook_dispatch`], [`nats_publish`]: events written with their change,
//!   sent to webhooks and published to NATS JetStream;
//! - [`files`]: evidence uploads (local signed URLs or S3 presigned PUTs) and their use;
//! - [`fixtures`]: reference and demo data loaders;
//! - [`pdf`]: report documents rendered as PDFs (krilla, the embedded Pretendard font).
//!
//! sea-orm entities are private to this crate; callers see domain types only.

pub mod analyses;
pub mod api_keys;
pub mod as_claims;
pub mod audit;
mod batch_delivery;
pub mod config;
pub mod counsel;
pub mod counsel_excel;
pub mod coverage_table;
pub mod crypto;
pub mod db;
mod entities;
mod error;
pub mod event_directory;
pub mod files;
pub mod fixtures;
pub mod group_commit;
pub mod idempotency;
pub mod identity;
pub mod import;
pub mod insurance_http;
pub mod insurance_sandbox;
pub mod intake;
mod intake_batch;
mod intake_port;
mod intake_queue;
pub mod invalidation;
mod lead_events;
pub mod leads;
pub mod medical;
pub mod nats_publish;
pub mod nhis_http;
pub mod nhis_sandbox;
mod operator_events;
pub mod orders;
pub mod orgs;
pub mod outbound_tls;
pub mod outbox;
pub mod pdf;
pub mod pii_access;
pub mod pools;
pub mod principal_cache;
pub mod provider_http;
pub mod reference;
pub mod reference_cache;
pub mod reveal_log;
pub mod rotation;
mod sandbox_rng;
pub mod seal_backfill;
pub mod sms;
pub mod source_status;
pub mod statements;
pub mod terms;
mod timestamp;
pub mod tokens;
pub mod transfers;
mod update_rows;
pub mod users;
pub mod vault;
pub mod webhook_destination;
pub mod webhook_dispatch;
pub mod webhook_signature;
pub mod webhooks;

pub use timestamp::{from_millis, to_millis};
