//! The counsel use cases (상담할당관리, seed 001): queues, memberships, cases, and outbound
//! cases in and out of Excel. The operator's work only: the API declares that with its
//! role extractors (`OperatorStaff` for the work, `OperatorAdmin` for queues and
//! memberships), the command line is the operator's by construction.
//!
//! Invariants:
//! - every input is parsed here (queue keys, names, terms, login ids, flags), the same way
//!   for the API and `ldbds counsel`; a refusal is a [`CounselError`] and changes nothing;
//! - a manager is named by their login id and resolved to an active user of the caller's
//!   org (of any operator org for the command line);
//! - a CS manager completes only the cases assigned to them; the operator's key, an
//!   `ADMIN` and the command line complete any;
//! - outbound cases (imported, previewed, or saved one at a time) go to the queue
//!   (`50`, their `obTypNo`); a preview saves nothing;
//! - the export writes its times in [`COUNSEL_ZONE`], the zone counsel's days are
//!   counted in.
//!
//! Layout: queues and memberships in `members`, cases in `cases`, Excel in `excel`.

mod cases;
mod excel;
mod members;

use uuid::Uuid;

pub use cases::CaseView;
pub use excel::{ImportSummary, outbound_queue};
pub use members::{AddMember, NewQueue, StatsRow};

use crate::counsel::{COUNSEL_ZONE, CounselError};
use crate::error::ValidationError;
use crate::identity::MohomId;
use crate::ports::{Clock, CounselStore, CounselWorkbook};
use crate::principal::{Credential, Principal};

/// The counsel use cases over a store, a workbook reader/writer and a clock.
pub struct CounselService<'a, S: ?Sized, W: ?Sized, C: ?Sized> {
    store: &'a S,
    workbook: &'a W,
    clock: &'a C,
}

impl<'a, S: CounselStore + ?Sized, W: CounselWorkbook + ?Sized, C: Clock + ?Sized> CounselService<'a, S, W, C> {
    pub fn new(store: &'a S, workbook: &'a W, clock: &'a C) -> Self {
        Self { store, workbook, clock }
    }

    /// The active user a login id names, in the principal's org (any operator org for the
    /// command line).
    ///
    /// # Errors
    /// [`CounselError::Invalid`] on `field` for a malformed login id,
    /// [`CounselError::UserNotFound`], storage failures.
    async fn operator_user(&self, principal: &Principal, login: &str, field: &str) -> Result<Uuid, CounselError> {
        let mohom = MohomId::parse(login).map_err(|_| ValidationError::single(field, "must be a user id"))?;
        let org = match principal.credential {
            Credential::Cli => None,
            Credential::ApiKey { .. } | Credential::Token { .. } => Some(principal.org_id),
        };
        self.store.operator_user(org, &mohom).await?.ok_or(CounselError::UserNotFound)
    }
}

/// The zone's offset now, for the export's times.
fn export_offset(now: time::OffsetDateTime) -> time::UtcOffset {
    crate::calendar::offset_at(now, COUNSEL_ZONE).unwrap_or(time::UtcOffset::UTC)
}
