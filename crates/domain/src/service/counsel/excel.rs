//! Outbound cases in and out of Excel: an upload imported (all or nothing) or previewed
//! (each row judged, nothing saved), one case saved from fields, and the export.

use super::{CounselService, export_offset};
use crate::counsel::{AutoDivGroup, CaseFilter, CaseOutcome, CounselError, QueueKey};
use crate::counsel_sheet::{CaseTypes, ColumnMap, ExportRow, PreviewRow, single_case};
use crate::error::RepoError;
use crate::ports::{Clock, CounselStore, CounselWorkbook};
use crate::principal::Principal;

/// What an import or a single save created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub outcomes: Vec<CaseOutcome>,
}

impl ImportSummary {
    /// How many were assigned at once (the others wait).
    #[must_use]
    pub fn assigned(&self) -> usize {
        self.outcomes.iter().filter(|o| o.assignee.is_some()).count()
    }
}

/// The queue outbound cases of these types go to: (`50`, `obTypNo`).
///
/// # Errors
/// [`CounselError::Invalid`] when `obTypNo` is no detail number.
pub fn outbound_queue(ob_typ_no: &str) -> Result<QueueKey, CounselError> {
    Ok(QueueKey::parse(AutoDivGroup::Outbound.as_str(), ob_typ_no)?)
}

impl<S: CounselStore + ?Sized, W: CounselWorkbook + ?Sized, C: Clock + ?Sized> CounselService<'_, S, W, C> {
    /// Imports an upload into the outbound queue of `types`: every row valid or nothing.
    /// Rows naming an exported case (`cnslNo`) take its customer.
    ///
    /// # Errors
    /// [`CounselError::Sheet`] (unreadable, too big, bad rows, no rows),
    /// `QueueNotFound`.
    pub async fn import(
        &self,
        principal: &Principal,
        map: ColumnMap,
        types: &CaseTypes,
        bytes: Vec<u8>,
    ) -> Result<ImportSummary, CounselError> {
        let key = outbound_queue(types.ob_typ_no())?;
        let sheet = self.workbook.read(bytes, map).await?;
        let known = self.store.customers_of(&sheet.named_cases()).await?;
        let cases = sheet.cases(types, &known)?;
        let outcomes = self.store.create_cases(&key, &cases, &principal.actor(), self.clock.now()).await?;
        Ok(ImportSummary { outcomes })
    }

    /// Each row of an upload judged as an import would judge it; nothing is saved.
    ///
    /// # Errors
    /// [`CounselError::Sheet`] for an unreadable or empty file.
    pub async fn preview(
        &self,
        map: ColumnMap,
        types: &CaseTypes,
        bytes: Vec<u8>,
    ) -> Result<Vec<PreviewRow>, CounselError> {
        let sheet = self.workbook.read(bytes, map).await?;
        let known = self.store.customers_of(&sheet.named_cases()).await?;
        Ok(sheet.preview(types, &known)?)
    }

    /// Saves one outbound case given as fields (no customer).
    ///
    /// # Errors
    /// [`CounselError::Invalid`] naming the bad fields, `QueueNotFound`.
    pub async fn save_one(
        &self,
        principal: &Principal,
        types: &CaseTypes,
        mbr_no: Option<&str>,
        ord_no: Option<&str>,
        accp_cont: Option<&str>,
    ) -> Result<ImportSummary, CounselError> {
        let key = outbound_queue(types.ob_typ_no())?;
        let case = single_case(types, mbr_no, ord_no, accp_cont)?;
        let outcomes =
            self.store.create_cases(&key, std::slice::from_ref(&case), &principal.actor(), self.clock.now()).await?;
        Ok(ImportSummary { outcomes })
    }

    /// The cases passing `filter` as a workbook: customers masked, times in the counsel
    /// zone, managers by login id.
    ///
    /// # Errors
    /// Storage or writer failures.
    pub async fn export(&self, filter: &CaseFilter) -> Result<Vec<u8>, RepoError> {
        let cases = self.store.list_cases(filter).await?;
        let views = self.views(cases).await?;
        let rows: Vec<ExportRow> = views
            .into_iter()
            .map(|v| ExportRow {
                cnsl_no: v.case.cnsl_no.to_string(),
                mbr_no: v.case.mbr_no,
                ord_no: v.case.ord_no,
                accp_cont: v.case.accp_cont,
                cust_nm: v.case.cust_nm.as_ref().map(|n| n.as_str().to_owned()),
                cust_tel: v.case.cust_tel.as_ref().map(crate::pii::PhoneNumber::national),
                cnsl_typ_no: v.case.cnsl_typ_no,
                ob_typ_no: v.case.ob_typ_no,
                status: v.case.status,
                manager: v.manager_login,
                received_at: v.case.created_at,
                assigned_at: v.case.assigned_at,
            })
            .collect();
        self.workbook.write(rows, export_offset(self.clock.now())).await
    }
}
