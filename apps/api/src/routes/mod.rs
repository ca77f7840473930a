//! Route modules, one per resource; each exposes `configure(&mut ServiceConfig)`.

pub mod as_claims;
pub mod auth;
pub mod counsel;
pub mod coverage;
pub mod docs;
pub mod files;
pub mod health;
pub mod intake;
pub mod leads;
pub mod medical;
pub mod orders;
pub mod orgs;
pub mod reference;
pub mod reports;
pub mod users;
pub mod webhooks;
