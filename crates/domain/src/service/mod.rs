//! Use cases, generic over the ports, tested with the testkit's in-memory adapters.
//!
//! Each takes a resolved [`crate::principal::Principal`] and parsed input, decides every
//! rule of its area, and returns a domain outcome or a refusal enum; the API maps
//! refusals to HTTP once (`apps/api/src/error.rs`).

pub mod as_claims;
pub mod counsel;
pub mod coverage_lead;
pub mod files;
pub mod funnel;
pub mod intake;
pub mod leads;
pub mod medical;
pub mod orders;
pub mod orgs;
pub mod reference;
pub mod tokens;
pub mod users;
pub mod webhooks;
