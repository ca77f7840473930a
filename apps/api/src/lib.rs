//! The LDBDS HTTP API on actix-web.
//!
//! Handlers are thin: extract, parse into domain values, call a `domain::service` use
//! case over `infra` adapters, map the result to a response DTO. The API crate holds no
//! business rule. Cross-cutting machinery lives in its own modules:
//! [`error`] (the one `ApiError`), [`auth`] (the caller extractor and rate limit),
//! [`request_id`], [`metrics`], [`telemetry`] (the request span and the log subscriber), [`idempotency`], [`params`] (pagination and sorting),
//! [`openapi`]. [`startup`] assembles the app for the server and for tests alike.

pub mod auth;
pub mod error;
pub mod extract;
pub mod gate;
pub mod idempotency;
pub mod metrics;
pub mod openapi;
pub mod params;
pub mod request_id;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod wire;
