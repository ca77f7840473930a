//! Storage tests: every test runs on SQLite and, when configured, on PostgreSQL
//! (see `testkit::on_both_backends!`).

mod api_keys;
mod idempotency;
mod migrations;
mod money;
mod seeding;
mod write_gate;
