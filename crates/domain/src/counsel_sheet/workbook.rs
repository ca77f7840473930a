//! An upload's rows as read ([`Sheet`]), why an upload yields no cases ([`SheetError`]),
//! one case given as fields instead of a file ([`single_case`]), and one row of the
//! export ([`ExportRow`]). Reading and writing `.xlsx` bytes is the workbook port's
//! (`crate::ports::CounselWorkbook`); judging the rows is this module's.
//!
//! Invariants:
//! - all or nothing for a save: [`Sheet::cases`] fails with every error of every row;
//! - a preview ([`Sheet::preview`]) judges each row on its own, by the same rules, and
//!   is never saved;
//! - a single case obeys the row rules of its cells (`mbrNo`/`ordNo`: at least one;
//!   `accpCont`); it has no customer.

use std::collections::{BTreeSet, HashMap};

use time::OffsetDateTime;
use uuid::Uuid;

use super::{
    CaseTypes, ColumnKey, ColumnMap, KnownCustomer, MAX_FILE_BYTES, MAX_ROWS, RowError, content, named_case,
    number_text, validate_row_against,
};
use crate::counsel::{CaseStatus, NewCounselCase};
use crate::error::{FieldError, ValidationError};
use crate::import::Cell;

/// Why an upload yields no cases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SheetError {
    /// Not a readable `.xlsx` workbook; the reason says what it is or what is broken.
    #[error("not a readable .xlsx file: {0}")]
    NotXlsx(String),
    /// Over [`MAX_FILE_BYTES`].
    #[error("the file is {bytes} bytes, over the {MAX_FILE_BYTES}-byte limit")]
    TooLarge { bytes: u64 },
    /// Over [`MAX_ROWS`] data rows.
    #[error("the sheet has more than {MAX_ROWS} rows")]
    TooManyRows,
    /// The zip declares more than the uncompressed limit, or too many entries.
    #[error("the file would decompress too far: {0}")]
    ZipBomb(String),
    /// Bad rows: every error of every row, in sheet order (nothing was imported).
    #[error("{} error(s) in the rows; nothing imported", .0.len())]
    Rows(Vec<RowError>),
    /// No data row (a header alone, or blank rows only).
    #[error("the sheet has no data rows")]
    Empty,
}

/// A sheet row as read: its number in the sheet (1-based) and its cells from column A.
pub type SheetRow = (u64, Vec<Cell>);

/// The data rows of an upload under its column map: blank rows and a header dropped.
#[derive(Debug, Clone)]
pub struct Sheet {
    map: ColumnMap,
    rows: Vec<SheetRow>,
}

/// One row of a preview: the case it would make, or what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewRow {
    /// The row's number in the sheet (1-based, the header is row 1).
    pub row: u64,
    pub case: Result<NewCounselCase, Vec<RowError>>,
}

impl Sheet {
    /// The data rows of a sheet (the reader drops blank rows and the header).
    ///
    /// # Errors
    /// [`SheetError::TooManyRows`] past [`MAX_ROWS`].
    pub fn new(map: ColumnMap, rows: Vec<SheetRow>) -> Result<Self, SheetError> {
        if rows.len() > MAX_ROWS {
            return Err(SheetError::TooManyRows);
        }
        Ok(Self { map, rows })
    }

    /// The cases the rows name in their `cnslNo` cells (each once), for the caller to look
    /// up their customers.
    #[must_use]
    pub fn named_cases(&self) -> Vec<Uuid> {
        let named: BTreeSet<Uuid> = self.rows.iter().filter_map(|(_, cells)| named_case(&self.map, cells)).collect();
        named.into_iter().collect()
    }

    /// Every row validated as a case of `types`, all or nothing; a row naming a case takes
    /// its customer from `known`.
    ///
    /// # Errors
    /// [`SheetError::Rows`] with every error of every bad row, in sheet order;
    /// [`SheetError::Empty`] when no row holds a case.
    pub fn cases(
        &self,
        types: &CaseTypes,
        known: &HashMap<Uuid, KnownCustomer>,
    ) -> Result<Vec<NewCounselCase>, SheetError> {
        let mut cases = Vec::with_capacity(self.rows.len());
        let mut errors = Vec::new();
        for row in self.preview_rows(types, known) {
            match row.case {
                Ok(case) => cases.push(case),
                Err(mut bad) => errors.append(&mut bad),
            }
        }
        if !errors.is_empty() {
            return Err(SheetError::Rows(errors));
        }
        if cases.is_empty() {
            return Err(SheetError::Empty);
        }
        Ok(cases)
    }

    /// Each non-blank row judged on its own, by the rules of [`Sheet::cases`].
    ///
    /// # Errors
    /// [`SheetError::Empty`] when no row holds data.
    pub fn preview(
        &self,
        types: &CaseTypes,
        known: &HashMap<Uuid, KnownCustomer>,
    ) -> Result<Vec<PreviewRow>, SheetError> {
        let rows = self.preview_rows(types, known);
        if rows.is_empty() { Err(SheetError::Empty) } else { Ok(rows) }
    }

    fn preview_rows(&self, types: &CaseTypes, known: &HashMap<Uuid, KnownCustomer>) -> Vec<PreviewRow> {
        self.rows
            .iter()
            .filter_map(|(row, cells)| match validate_row_against(&self.map, *row, cells, types, known) {
                Ok(Some(case)) => Some(PreviewRow { row: *row, case: Ok(case) }),
                Ok(None) => None,
                Err(bad) => Some(PreviewRow { row: *row, case: Err(bad) }),
            })
            .collect()
    }
}

/// One case given as fields (`saveObCsCounselInfoListExcel` without a file): the cells'
/// rules of a sheet row, reported on the query's field names.
///
/// # Errors
/// Every bad field: `mbrNo`/`ordNo` (at least one, each 1 to 40 visible ASCII
/// characters), `accpCont`.
pub fn single_case(
    types: &CaseTypes,
    mbr_no: Option<&str>,
    ord_no: Option<&str>,
    accp_cont: Option<&str>,
) -> Result<NewCounselCase, ValidationError> {
    let cell = |raw: Option<&str>| raw.map_or(Cell::Empty, |t| Cell::Text(t.to_owned()));
    let mut errors = Vec::new();
    let mut field = |name: &str, outcome: Result<Option<String>, String>| {
        outcome.unwrap_or_else(|reason| {
            errors.push(FieldError::new(name, reason));
            None
        })
    };
    let mbr_no_value = field(ColumnKey::MbrNo.as_str(), number_text(&cell(mbr_no)));
    let ord_no_value = field(ColumnKey::OrdNo.as_str(), number_text(&cell(ord_no)));
    let accp_cont_value = field(ColumnKey::AccpCont.as_str(), content(&cell(accp_cont)));
    if mbr_no_value.is_none() && ord_no_value.is_none() && errors.is_empty() {
        errors.push(FieldError::new("mbrNo", "is required: a case needs mbrNo or ordNo"));
    }
    if !errors.is_empty() {
        return Err(ValidationError(errors));
    }
    Ok(NewCounselCase {
        cnsl_typ_no: types.cnsl_typ_no().to_owned(),
        ob_typ_no: Some(types.ob_typ_no().to_owned()),
        mbr_no: mbr_no_value,
        ord_no: ord_no_value,
        accp_cont: accp_cont_value,
        cust_nm: None,
        cust_tel: None,
        as_id: None,
    })
}

/// One case of the export. The customer's name and phone are plain: the workbook writer
/// masks them. The phone is in the form to show (`PhoneNumber::national`, e.g.
/// `01012345678`, masks to `010****5678`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    /// 상담번호.
    pub cnsl_no: String,
    /// 회원번호.
    pub mbr_no: Option<String>,
    /// 주문번호.
    pub ord_no: Option<String>,
    /// 접수내용.
    pub accp_cont: Option<String>,
    /// 고객명, plain (masked on writing).
    pub cust_nm: Option<String>,
    /// 고객연락처, plain (masked on writing).
    pub cust_tel: Option<String>,
    /// 상담유형번호.
    pub cnsl_typ_no: String,
    /// OB유형번호.
    pub ob_typ_no: Option<String>,
    /// 상태.
    pub status: CaseStatus,
    /// 담당자 (the manager's login id).
    pub manager: Option<String>,
    /// 접수일시.
    pub received_at: OffsetDateTime,
    /// 배정일시.
    pub assigned_at: Option<OffsetDateTime>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types() -> CaseTypes {
        CaseTypes::parse("10", "100").unwrap()
    }

    #[test]
    fn one_case_follows_the_row_rules_of_its_cells() {
        let case = single_case(&types(), Some("M-1"), None, Some("재가입 안내")).unwrap();
        assert_eq!(
            (case.mbr_no.as_deref(), case.ob_typ_no.as_deref(), case.cust_tel),
            (Some("M-1"), Some("100"), None)
        );
        assert_eq!(single_case(&types(), None, Some("O-1"), None).unwrap().ord_no.as_deref(), Some("O-1"));
        let fields = |e: ValidationError| e.0.into_iter().map(|f| f.field).collect::<Vec<_>>();
        assert_eq!(fields(single_case(&types(), None, None, Some("x")).unwrap_err()), ["mbrNo"]);
        assert_eq!(
            fields(single_case(&types(), Some("a b"), Some(&"9".repeat(41)), None).unwrap_err()),
            ["mbrNo", "ordNo"]
        );
        assert_eq!(fields(single_case(&types(), Some("M-1"), None, Some("bell\u{7}")).unwrap_err()), ["accpCont"]);
    }

    #[test]
    fn a_preview_judges_each_row_where_a_save_refuses_them_all() {
        let map = ColumnMap::parse("mbrNo,custTelNo").unwrap();
        let text = |t: &str| Cell::Text(t.to_owned());
        let rows = vec![(2, vec![text("M-1"), text("010-5555-0001")]), (3, vec![Cell::Empty, text("not a phone")])];
        let sheet = Sheet::new(map, rows).unwrap();
        let preview = sheet.preview(&types(), &HashMap::new()).unwrap();
        assert!(preview[0].case.is_ok());
        let errors = preview[1].case.as_ref().unwrap_err();
        assert_eq!(errors.iter().map(|e| e.column).collect::<Vec<_>>(), [ColumnKey::CustTelNo, ColumnKey::MbrNo]);
        assert!(matches!(sheet.cases(&types(), &HashMap::new()), Err(SheetError::Rows(e)) if e.len() == 2));
        let empty = Sheet::new(ColumnMap::parse("mbrNo,custTelNo").unwrap(), Vec::new()).unwrap();
        assert_eq!(empty.preview(&types(), &HashMap::new()).unwrap_err(), SheetError::Empty);
        let too_many = vec![(2, Vec::new()); MAX_ROWS + 1];
        assert_eq!(
            Sheet::new(ColumnMap::parse("mbrNo,custTelNo").unwrap(), too_many).unwrap_err(),
            SheetError::TooManyRows
        );
    }
}
