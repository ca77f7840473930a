//! HTTP tests of the API through `actix_web::test`, on SQLite and (when configured)
//! PostgreSQL; response shapes are insta snapshots with ids and times redacted.
// Test bodies run through `on_both_backends!` rather than `#[test]` functions, so clippy
// does not see them as tests; a failed expectation is exactly a failed test here.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod abuse;
mod as_claims;
mod at_rest;
mod auth;
mod contract;
mod counsel;
mod coverage;
mod distribution;
mod errors;
mod events;
mod files;
mod health;
mod helpers;
mod idempotency;
mod idempotency_principals;
mod intake;
mod leads;
mod logs;
mod medical;
mod openapi;
mod orders;
mod orgs;
mod principal_cache;
mod rate_limit;
mod reference;
mod roles_first;
mod statements;
mod users;
mod webhooks;
