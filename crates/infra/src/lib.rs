//! LDBDS adapters: everything that touches the outside world on behalf of the domain.
//!
//! - [`config`]: typed settings from the layered TOML files and the environment;
//! - [`db`]: connections, SQLite's write gate, migrations;
//! - [`reference`]: the reference-data repository (regions, products, AS reasons);
//! - [`api_keys`], [`idempotency`], [`audit`]: the storage behind the API's machinery;
//! - [`fixtures`]: reference and demo data loaders.
//!
//! sea-orm entities are private to this crate; callers see domain types only.

pub mod api_keys;
pub mod audit;
pub mod config;
pub mod db;
mod entities;
pub mod fixtures;
pub mod idempotency;
pub mod reference;
mod timestamp;

pub use timestamp::{from_millis, to_millis};
