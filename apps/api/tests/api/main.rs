//! HTTP tests of the API through `actix_web::test`, on SQLite and (when configured)
//! PostgreSQL; response shapes are insta snapshots with ids and times redacted.

mod errors;
mod health;
mod helpers;
mod idempotency;
mod openapi;
mod rate_limit;
mod reference;
