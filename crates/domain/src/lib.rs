//! LDBDS domain: the business rules of lead distribution, free of I/O.
//!
//! Invariants kept by this crate:
//! - it depends on no database, web, async-runtime or crypto crate (`just layering`);
//! - values that enter it are parsed into types that cannot hold an invalid state
//!   (`Money`, `PageRequest`, `RegionCode`, ...);
//! - storage and time reach it only through the traits in [`ports`].

pub mod allocation;
pub mod as_claim;
pub mod calendar;
pub mod counsel;
pub mod counsel_ledger;
pub mod counsel_sheet;
pub mod error;
pub mod events;
pub mod files;
pub mod funnel;
pub mod identity;
pub mod ids;
pub mod import;
pub mod intake;
pub mod lead;
pub mod money;
pub mod order;
pub mod pagination;
pub mod pii;
pub mod ports;
pub mod principal;
pub mod reference;
pub mod secret;
pub mod service;
pub mod webhooks;
