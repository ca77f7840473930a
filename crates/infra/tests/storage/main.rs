//! Storage tests: every test runs on SQLite and, when configured, on PostgreSQL
//! (see `testkit::on_both_backends!`).
// Test bodies run through `on_both_backends!` rather than `#[test]` functions, so clippy
// does not see them as tests; a failed expectation is exactly a failed test here.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod api_keys;
mod as_claims;
mod counsel;
mod counsel_fixture;
mod counting;
mod file_modes;
mod files;
mod idempotency;
mod identity;
mod import;
mod intake;
mod intake_batch;
mod lead_lists;
mod migrations;
mod money;
mod nats_publish;
mod outbox_rows;
mod reads;
mod sealed_text;
mod seeding;
mod token_state;
mod transfers;
mod vault;
mod webhooks;
mod webhooks_dispatch;
mod write_gate;
