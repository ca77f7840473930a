//! Counsel allocation (seed 001, 상담할당관리) under `/v2/customerservice/csAllocationMgmt`,
//! and the operator's queue and membership administration under `/api/v1/counsel`.
//!
//! - Every endpoint is the operator's, declared by its role extractor: `OperatorStaff`
//!   (its API key, or a `CS_MANAGER`/`ADMIN` user of the operator org) for the work,
//!   `OperatorAdmin` (the key or an `ADMIN`) for queues and memberships; anyone else
//!   gets 403 before the request is read.
//! - Users are named by their login id (`userId`, `aempId` = `mohomId` of the operator
//!   org's users); departments (`deptCd`) are the users' `teamId`.
//! - Customer names and phones leave masked (JSON and the Excel export).
//! - On the seed's paths (`/v2/...`) an optional query parameter sent empty (`deptCd=`,
//!   as back-office grids send them) is absent; a present one must be a good value.
//! - Handlers parse the wire, call `domain::service::counsel`, and shape the reply; every
//!   rule is the use case's, every refusal is mapped once in `crate::error`.
//!
//! Layout: DTOs and shared parsing here; `queues` (queues and memberships), `allocation`
//! (the seed's manager and statistics reads, the flag, `checkValidateManager`), `cases`
//! (manual assignment, reading and completing cases), `excel` (import, preview, export).

mod allocation;
mod cases;
mod dto;
mod excel;
mod queues;

use actix_web::web;
use domain::counsel::{AutoDivGroup, is_detail_number};
use domain::identity::MohomId;
use domain::ports::{Clock, CounselStore, CounselWorkbook};
use domain::service::counsel::CounselService;

pub use self::allocation::*;
pub use self::cases::*;
pub use self::dto::*;
pub use self::excel::*;
pub use self::queues::*;
use crate::error::ApiError;
use crate::state::AppState;

/// The seed's path prefix.
pub const PREFIX: &str = "/v2/customerservice/csAllocationMgmt";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(save_excel)
        .service(export_excel)
        .service(change_possible)
        .service(manual_assign_list)
        .service(manual_assign)
        .service(manager_list)
        .service(manager_count)
        .service(allocation_stats)
        .service(allocation_detail)
        .service(check_validate_manager)
        .service(create_queue)
        .service(list_queues)
        .service(add_member)
        .service(update_member)
        .service(remove_member)
        .service(read_case)
        .service(complete_case);
}

/// The counsel use cases over the app's storage, workbook and clock.
fn service(state: &AppState) -> CounselService<'_, impl CounselStore, impl CounselWorkbook, dyn Clock> {
    CounselService::new(&state.counsel, &state.counsel_workbook, &*state.clock)
}

/// A seed-001 query parameter: sent empty is absent.
fn given(raw: Option<&String>) -> Option<&str> {
    raw.map(String::as_str).filter(|r| !r.is_empty())
}

// Optional filters: absent means "any"; present must be a good value.

fn optional_group(raw: Option<&str>, field: &str) -> Result<Option<AutoDivGroup>, ApiError> {
    raw.map(|r| r.parse::<AutoDivGroup>().map_err(|_| ApiError::invalid(field, "must be one of 10, 20, 50 (CS023)")))
        .transpose()
}

fn optional_detail<'a>(raw: Option<&'a str>, field: &str) -> Result<Option<&'a str>, ApiError> {
    match raw {
        Some(r) if !is_detail_number(r) => Err(ApiError::invalid(field, "must be 1 to 20 letters or digits")),
        other => Ok(other),
    }
}

fn optional_login<'a>(raw: Option<&'a str>, field: &str) -> Result<Option<&'a str>, ApiError> {
    match raw {
        Some(r) if MohomId::parse(r).is_err() => Err(ApiError::invalid(field, "must be a user id")),
        other => Ok(other),
    }
}

fn optional_text<'a>(raw: Option<&'a str>, field: &str) -> Result<Option<&'a str>, ApiError> {
    match raw {
        Some(r) if r.is_empty() || r.chars().count() > 100 => {
            Err(ApiError::invalid(field, "must be 1 to 100 characters"))
        }
        other => Ok(other),
    }
}

fn yn(flag: bool) -> String {
    if flag { "Y" } else { "N" }.to_owned()
}

/// A `{cnslNo}` (or body `cnslNo`).
fn cnsl_no_of(raw: &str) -> Result<uuid::Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid("cnslNo", "must be a UUID"))
}
