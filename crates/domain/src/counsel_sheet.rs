//! Outbound counsel cases from a spreadsheet (`saveObCsCounselInfoListExcel`): the
//! `excelColumns` map, the request's type numbers, and each sheet row turned into a
//! [`NewCounselCase`] or the list of what is wrong with it. Pure: the file itself is read
//! by `infra::counsel_excel`.
//!
//! Invariants:
//! - `excelColumns` lists one key per sheet column, in sheet order: `cnslNo` (상담번호),
//!   `mbrNo` (회원번호), `ordNo` (주문번호), `accpCont` (접수내용), `custNm` (고객명),
//!   `custTelNo` (고객연락처), or `skip` for a column to ignore. A key is matched without
//!   regard to ASCII case or surrounding spaces, and its Korean label is accepted for it
//!   (`고객연락처` = `custTelNo`). The list must name `custTelNo` or `cnslNo`, and at least
//!   one of `mbrNo`/`ordNo`; `accpCont`, `custNm` and `cnslNo` are optional columns. An unknown key, a key named twice (`skip` excepted), an
//!   empty item (`a,,b`: write `skip`), an empty list or more than [`MAX_COLUMNS`] items is
//!   a field error on `excelColumns`; every such error is reported, not only the first;
//! - sheet columns after the last listed one are ignored, as are `skip` columns;
//! - the first non-blank row is a header, and skipped, when its `custTelNo` cell (its
//!   `cnslNo` cell when the map has no `custTelNo`) is text without a single digit (a label:
//!   `고객연락처`, `custTelNo`, `상담번호`, ...); otherwise it is data. A label can never be a
//!   phone number or a case number (a UUID always holds its version digit), and a data row
//!   whose key cell has a digit is validated (and reported if bad), so no case is ever
//!   dropped silently as a header;
//! - a row is blank, and skipped, when every listed (non-`skip`) cell is blank;
//! - a row is accepted only if every listed cell is valid; otherwise every bad cell is
//!   reported as a [`RowError`] naming the row (its number in the sheet, 1-based, the
//!   header being row 1) and the column key. Cell rules:
//!   - `custTelNo` is required, a Korean or Vietnamese mobile ([`PhoneNumber::parse`]); a
//!     numeric cell of 9 or 10 digits gets back the leading zero the spreadsheet dropped
//!     (`1012345678` → `01012345678`); a negative, fractional or non-finite number is no
//!     phone; a masked value (`010****5678`, from an export) is refused as masked, except in
//!     a row that names its case (below);
//!   - `mbrNo`/`ordNo`: at least one of them per row; each 1 to [`MAX_NO_CHARS`] visible
//!     ASCII characters (`!`..=`~`); a numeric cell must be a whole number below 2^53
//!     (above it the spreadsheet has already rounded it: type it as text);
//!   - `custNm` is optional, a [`PersonName`]; a masked name (holding `*`) is refused;
//!   - `accpCont` is optional, NFC-normalized, at most [`MAX_ACCP_CONT_CHARS`] characters,
//!     with no control character other than tab and line breaks;
//!   - text is trimmed; a blank cell is a missing value;
//! - a row whose `cnslNo` cell is not blank names an existing case (an export's first
//!   column): the round trip export → import. The cell must be a case number of a known
//!   case ([`KnownCustomer`], looked up by the caller), and the new case takes that case's
//!   customer: a blank `custNm`/`custTelNo` cell takes it as it is, a masked one must be
//!   exactly the mask the export shows of it, a plain one must be the same name or number;
//!   anything else is a row error (a row can never carry one case's number and another
//!   customer). The other cells are read from the sheet as in any row, so an operator may
//!   edit `accpCont` before re-importing. The named case itself is not changed;
//! - `cnslTypNo` and `obTypNo` are checked once per request ([`CaseTypes::parse`]), 1 to
//!   [`MAX_TYP_NO_CHARS`] ASCII letters or digits each, and copied into every case;
//! - errors name keys and positions, never echo a cell's value (it may be personal data).

use std::collections::HashMap;

use unicode_normalization::UnicodeNormalization;
use uuid::Uuid;

use crate::counsel::NewCounselCase;
use crate::error::{FieldError, ValidationError};
use crate::import::Cell;
use crate::pii::{PersonName, PhoneNumber, mask};

/// Most data rows (the header excluded) one file may hold.
pub const MAX_ROWS: usize = 50_000;
/// Largest upload, in bytes (20 MiB).
pub const MAX_FILE_BYTES: u64 = 20 * 1024 * 1024;
/// Most bytes the zip entries of one upload may declare, all together, uncompressed
/// (100 MiB): checked before anything is decompressed.
pub const MAX_UNCOMPRESSED_BYTES: u64 = 100 * 1024 * 1024;
/// Most zip entries an upload may hold (a workbook has a few dozen).
pub const MAX_ZIP_ENTRIES: usize = 10_000;
/// Most items in `excelColumns`.
pub const MAX_COLUMNS: usize = 64;
/// Longest `accpCont`, in characters.
pub const MAX_ACCP_CONT_CHARS: usize = 2_000;
/// Longest `mbrNo` or `ordNo`, in characters.
pub const MAX_NO_CHARS: usize = 40;
/// Longest `cnslTypNo` or `obTypNo`, in characters.
pub const MAX_TYP_NO_CHARS: usize = 20;

const COLUMNS_FIELD: &str = "excelColumns";

/// What a sheet column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColumnKey {
    /// An existing case's number (an export's first column): the row re-imports that
    /// case's customer.
    CnslNo,
    MbrNo,
    OrdNo,
    AccpCont,
    CustNm,
    CustTelNo,
    /// A column to ignore.
    Skip,
}

impl ColumnKey {
    pub const ALL: [Self; 7] =
        [Self::CnslNo, Self::MbrNo, Self::OrdNo, Self::AccpCont, Self::CustNm, Self::CustTelNo, Self::Skip];

    /// The key as `excelColumns` and the row errors spell it.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::CnslNo => "cnslNo",
            Self::MbrNo => "mbrNo",
            Self::OrdNo => "ordNo",
            Self::AccpCont => "accpCont",
            Self::CustNm => "custNm",
            Self::CustTelNo => "custTelNo",
            Self::Skip => "skip",
        }
    }

    /// The Korean label (the export's header); `skip` has none.
    #[must_use]
    pub const fn label(self) -> &'static str {
        match self {
            Self::CnslNo => "상담번호",
            Self::MbrNo => "회원번호",
            Self::OrdNo => "주문번호",
            Self::AccpCont => "접수내용",
            Self::CustNm => "고객명",
            Self::CustTelNo => "고객연락처",
            Self::Skip => "",
        }
    }

    /// A key of `excelColumns`: the key in any ASCII case or its Korean label, trimmed.
    #[must_use]
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        Self::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(raw) || (*k != Self::Skip && k.label() == raw))
    }
}

/// The spreadsheet column letters of a 0-based index (`0` → `A`, `27` → `AB`).
#[must_use]
pub fn column_letters(index: usize) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        // rem < 26: always an ASCII capital.
        letters.push(char::from(b'A' + u8::try_from(rem).unwrap_or(0)));
        n = (n - 1) / 26;
    }
    letters.iter().rev().collect()
}

/// `excelColumns`, parsed: the key of each sheet column, in sheet order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMap {
    columns: Vec<ColumnKey>,
}

impl ColumnMap {
    /// Parses `mbrNo,ordNo,accpCont,custNm,custTelNo` (see the module invariants).
    ///
    /// # Errors
    /// Field errors on `excelColumns`: an empty list, too many items, an empty item, an
    /// unknown key, a key named twice, or a required key missing — all of them.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        if raw.trim().is_empty() {
            return Err(ValidationError::single(
                COLUMNS_FIELD,
                "is required: column keys in sheet order, e.g. mbrNo,ordNo,accpCont,custNm,custTelNo",
            ));
        }
        let items: Vec<&str> = raw.split(',').collect();
        if items.len() > MAX_COLUMNS {
            return Err(ValidationError::single(COLUMNS_FIELD, format!("must list at most {MAX_COLUMNS} columns")));
        }
        let mut errors = Vec::new();
        let mut columns = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("item {} (column {})", i + 1, column_letters(i));
            if item.trim().is_empty() {
                errors.push(FieldError::new(COLUMNS_FIELD, format!("{at} is empty: write `skip` to ignore a column")));
                columns.push(ColumnKey::Skip);
                continue;
            }
            match ColumnKey::parse(item) {
                Some(key) => {
                    if key != ColumnKey::Skip
                        && let Some(first) = columns.iter().position(|k| *k == key)
                    {
                        errors.push(FieldError::new(
                            COLUMNS_FIELD,
                            format!("{at} names `{}` again (first at item {})", key.as_str(), first + 1),
                        ));
                    }
                    columns.push(key);
                }
                None => {
                    let shown: String = item.trim().chars().take(40).collect();
                    errors.push(FieldError::new(
                        COLUMNS_FIELD,
                        format!(
                            "{at} `{shown}` is no column key: use cnslNo, mbrNo, ordNo, accpCont, custNm, custTelNo or skip"
                        ),
                    ));
                    columns.push(ColumnKey::Skip);
                }
            }
        }
        if !columns.contains(&ColumnKey::CustTelNo) && !columns.contains(&ColumnKey::CnslNo) {
            errors.push(FieldError::new(
                COLUMNS_FIELD,
                "must name the `custTelNo` column (or `cnslNo`, to re-import exported cases)",
            ));
        }
        if !columns.contains(&ColumnKey::MbrNo) && !columns.contains(&ColumnKey::OrdNo) {
            errors.push(FieldError::new(COLUMNS_FIELD, "must name the `mbrNo` or the `ordNo` column"));
        }
        if errors.is_empty() { Ok(Self { columns }) } else { Err(ValidationError(errors)) }
    }

    /// The key of each sheet column, in order.
    #[must_use]
    pub fn columns(&self) -> &[ColumnKey] {
        &self.columns
    }

    /// How many sheet columns are listed (the ones after them are ignored).
    #[must_use]
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Never true: a parsed map names at least two columns.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The 0-based sheet column of `key` (`skip`: the first one).
    #[must_use]
    pub fn position(&self, key: ColumnKey) -> Option<usize> {
        self.columns.iter().position(|k| *k == key)
    }
}

/// The request's `cnslTypNo` and `obTypNo`, checked once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseTypes {
    cnsl_typ_no: String,
    ob_typ_no: String,
}

impl CaseTypes {
    /// # Errors
    /// A field error on `cnslTypNo` and/or `obTypNo` when it is not 1 to
    /// [`MAX_TYP_NO_CHARS`] ASCII letters or digits (exactly: the API document's pattern).
    pub fn parse(cnsl_typ_no: &str, ob_typ_no: &str) -> Result<Self, ValidationError> {
        let check = |field: &str, raw: &str, errors: &mut Vec<FieldError>| {
            if raw.is_empty() || raw.len() > MAX_TYP_NO_CHARS || !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
                errors.push(FieldError::new(field, format!("must be 1 to {MAX_TYP_NO_CHARS} letters or digits")));
            }
            raw.to_owned()
        };
        let mut errors = Vec::new();
        let cnsl_typ_no = check("cnslTypNo", cnsl_typ_no, &mut errors);
        let ob_typ_no = check("obTypNo", ob_typ_no, &mut errors);
        if errors.is_empty() { Ok(Self { cnsl_typ_no, ob_typ_no }) } else { Err(ValidationError(errors)) }
    }

    #[must_use]
    pub fn cnsl_typ_no(&self) -> &str {
        &self.cnsl_typ_no
    }

    #[must_use]
    pub fn ob_typ_no(&self) -> &str {
        &self.ob_typ_no
    }
}

/// The three query parameters of an import, checked together: every field error at once.
///
/// # Errors
/// The field errors of [`ColumnMap::parse`] and [`CaseTypes::parse`], together.
pub fn parse_request(
    excel_columns: &str,
    cnsl_typ_no: &str,
    ob_typ_no: &str,
) -> Result<(ColumnMap, CaseTypes), ValidationError> {
    match (ColumnMap::parse(excel_columns), CaseTypes::parse(cnsl_typ_no, ob_typ_no)) {
        (Ok(map), Ok(types)) => Ok((map, types)),
        (map, types) => {
            let mut errors = map.err().map(|e| e.0).unwrap_or_default();
            errors.extend(types.err().map(|e| e.0).unwrap_or_default());
            Err(ValidationError(errors))
        }
    }
}

/// One thing wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The row's number in the sheet, 1-based (the header is row 1).
    pub row: u64,
    /// The column's key (never `skip`).
    pub column: ColumnKey,
    /// Why, in words a user can act on; never the cell's value.
    pub reason: String,
}

fn is_blank(cell: &Cell) -> bool {
    match cell {
        Cell::Empty => true,
        Cell::Text(t) => t.trim().is_empty(),
        Cell::Number(_) | Cell::Date(_) => false,
    }
}

/// The cells of the listed, non-`skip` columns, with their keys.
fn listed<'a>(map: &'a ColumnMap, cells: &'a [Cell]) -> impl Iterator<Item = (ColumnKey, &'a Cell)> {
    map.columns.iter().zip(cells).filter(|(k, _)| **k != ColumnKey::Skip).map(|(k, c)| (*k, c))
}

/// Whether every listed (non-`skip`) cell of the row is blank.
#[must_use]
pub fn is_blank_row(map: &ColumnMap, cells: &[Cell]) -> bool {
    listed(map, cells).all(|(_, c)| is_blank(c))
}

/// Whether the first non-blank row is a header: its `custTelNo` cell (else its `cnslNo`
/// cell) is text without a digit (see the module invariants).
#[must_use]
pub fn is_header_row(map: &ColumnMap, cells: &[Cell]) -> bool {
    let key = map.position(ColumnKey::CustTelNo).or_else(|| map.position(ColumnKey::CnslNo));
    match key.and_then(|i| cells.get(i)) {
        Some(Cell::Text(t)) => !t.trim().is_empty() && !t.chars().any(|c| c.is_ascii_digit()),
        _ => false,
    }
}

/// A number as the integer text it was typed as, when it is one a spreadsheet holds exactly.
fn integer_text(n: f64) -> Option<String> {
    (n.is_finite() && n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0).then(|| format!("{n:.0}"))
}

fn cell_text(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Empty => None,
        Cell::Text(t) => Some(t.trim().to_owned()),
        Cell::Number(n) => Some(integer_text(*n).unwrap_or_else(|| n.to_string())),
        Cell::Date(d) => Some(d.to_string()),
    }
    .filter(|t| !t.is_empty())
}

/// An `mbrNo`/`ordNo` cell: `Ok(None)` when blank.
fn number_text(cell: &Cell) -> Result<Option<String>, String> {
    let text = match cell {
        Cell::Number(n) => match integer_text(*n) {
            Some(t) => Some(t),
            None => return Err("must be text or a whole number below 2^53 (type long numbers as text)".to_owned()),
        },
        other => cell_text(other),
    };
    match text {
        Some(t) if t.chars().count() > MAX_NO_CHARS || !t.bytes().all(|b| b.is_ascii_graphic()) => {
            Err(format!("must be 1 to {MAX_NO_CHARS} visible ASCII characters (letters, digits, symbols; no spaces)"))
        }
        other => Ok(other),
    }
}

/// A customer cell as the sheet shows it.
enum Shown<T> {
    Blank,
    /// Holds the mask character: what an export shows (`010****5678`, `김*수`).
    Masked(String),
    Plain(T),
}

const MASKED_HERE: &str = "a masked value from an export can only come back in a row that names its case (cnslNo)";

/// A `custTelNo` cell.
fn phone(cell: &Cell) -> Result<Shown<PhoneNumber>, String> {
    let text = match cell {
        Cell::Number(n) => match integer_text(*n) {
            Some(t) if t.bytes().all(|b| b.is_ascii_digit()) => {
                if t.len() == 9 || t.len() == 10 {
                    format!("0{t}")
                } else {
                    t
                }
            }
            _ => return Err("must be text or a whole positive number".to_owned()),
        },
        other => match cell_text(other) {
            Some(t) => t,
            None => return Ok(Shown::Blank),
        },
    };
    if text.contains(mask::MASK) {
        return Ok(Shown::Masked(text));
    }
    PhoneNumber::parse(&text)
        .map(Shown::Plain)
        .map_err(|e| first_reason(&e, "is not a Korean or Vietnamese mobile number"))
}

/// A `custNm` cell.
fn name(cell: &Cell) -> Result<Shown<PersonName>, String> {
    let Some(text) = cell_text(cell) else { return Ok(Shown::Blank) };
    if text.contains(mask::MASK) {
        return Ok(Shown::Masked(text));
    }
    PersonName::parse(&text).map(Shown::Plain).map_err(|e| first_reason(&e, "is not a valid name"))
}

/// A customer cell of a row that names no case: a masked value is refused.
fn standalone<T>(shown: Result<Shown<T>, String>) -> Result<Option<T>, String> {
    match shown? {
        Shown::Blank => Ok(None),
        Shown::Masked(_) => Err(format!("is masked: {MASKED_HERE}")),
        Shown::Plain(v) => Ok(Some(v)),
    }
}

/// A customer cell of a row that names a case whose customer value is `known`, shown by
/// an export as `mask(known)`: blank takes it, its mask or itself must match it.
fn against<T: Clone + PartialEq>(
    shown: Result<Shown<T>, String>,
    known: Option<&T>,
    shown_as: impl Fn(&T) -> String,
) -> Result<Option<T>, String> {
    const MISMATCH: &str = "does not match the customer of the case named by cnslNo";
    match (shown?, known) {
        (Shown::Blank, known) => Ok(known.cloned()),
        (Shown::Masked(m), Some(k)) if m == shown_as(k) => Ok(Some(k.clone())),
        (Shown::Plain(v), Some(k)) if v == *k => Ok(Some(v)),
        _ => Err(MISMATCH.to_owned()),
    }
}

/// The customer of an existing case, for the rows that name it (`cnslNo`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct KnownCustomer {
    pub name: Option<PersonName>,
    pub phone: Option<PhoneNumber>,
}

/// The case a row names in its `cnslNo` cell, when the cell holds a case number.
#[must_use]
pub fn named_case(map: &ColumnMap, cells: &[Cell]) -> Option<Uuid> {
    let cell = map.position(ColumnKey::CnslNo).and_then(|i| cells.get(i))?;
    cell_text(cell).and_then(|t| Uuid::parse_str(&t).ok())
}

/// An `accpCont` cell: `Ok(None)` when blank.
fn content(cell: &Cell) -> Result<Option<String>, String> {
    let Some(text) = cell_text(cell) else { return Ok(None) };
    let text: String = text.nfc().collect();
    if text.chars().any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')) {
        return Err("must not hold control characters".to_owned());
    }
    if text.chars().count() > MAX_ACCP_CONT_CHARS {
        return Err(format!("must be at most {MAX_ACCP_CONT_CHARS} characters"));
    }
    Ok(Some(text))
}

fn first_reason(e: &ValidationError, fallback: &str) -> String {
    e.0.first().map_or_else(|| fallback.to_owned(), |f| f.reason.clone())
}

/// A sheet row as a case of `types`: `Ok(None)` for a blank row (skipped). A row that
/// names a case (`cnslNo`) is refused: see [`validate_row_against`].
///
/// `row` is the row's number in the sheet (1-based); `cells` are the row's cells from
/// column A on (missing cells are blank, cells after the listed columns are ignored).
///
/// # Errors
/// Every bad cell of the row, each with `row` and its column key.
pub fn validate_row(
    map: &ColumnMap,
    row: u64,
    cells: &[Cell],
    types: &CaseTypes,
) -> Result<Option<NewCounselCase>, Vec<RowError>> {
    validate_row_against(map, row, cells, types, &HashMap::new())
}

/// [`validate_row`], where a row naming a case (`cnslNo`) takes its customer from
/// `known` (the customers of the cases the sheet names; see the module invariants).
///
/// # Errors
/// Every bad cell of the row, each with `row` and its column key; a `cnslNo` that is no
/// case number or not in `known` is one.
pub fn validate_row_against(
    map: &ColumnMap,
    row: u64,
    cells: &[Cell],
    types: &CaseTypes,
    known: &HashMap<Uuid, KnownCustomer>,
) -> Result<Option<NewCounselCase>, Vec<RowError>> {
    if is_blank_row(map, cells) {
        return Ok(None);
    }
    let mut errors = Vec::new();
    let mut fail = |column: ColumnKey, reason: String| errors.push(RowError { row, column, reason });
    // `None`: the row names no case. `Some(None)`: it names one that is not known (reported
    // once, on cnslNo; its customer cells are then not judged).
    let named: Option<Option<&KnownCustomer>> =
        match map.position(ColumnKey::CnslNo).and_then(|i| cells.get(i)).and_then(cell_text) {
            None => None,
            Some(text) => match Uuid::parse_str(&text) {
                Ok(id) if known.contains_key(&id) => Some(known.get(&id)),
                Ok(_) => {
                    fail(ColumnKey::CnslNo, "names no counsel case".to_owned());
                    Some(None)
                }
                Err(_) => {
                    fail(ColumnKey::CnslNo, "is not a case number (상담번호, as an export shows it)".to_owned());
                    Some(None)
                }
            },
        };
    let mut case = NewCounselCase {
        cnsl_typ_no: types.cnsl_typ_no.clone(),
        ob_typ_no: Some(types.ob_typ_no.clone()),
        mbr_no: None,
        ord_no: None,
        accp_cont: None,
        cust_nm: None,
        cust_tel: None,
        as_id: None,
    };
    for (key, cell) in listed(map, cells) {
        let outcome = match key {
            ColumnKey::MbrNo => number_text(cell).map(|v| case.mbr_no = v),
            ColumnKey::OrdNo => number_text(cell).map(|v| case.ord_no = v),
            ColumnKey::AccpCont => content(cell).map(|v| case.accp_cont = v),
            ColumnKey::CustNm => match named {
                None => standalone(name(cell)).map(|v| case.cust_nm = v),
                Some(Some(k)) => {
                    against(name(cell), k.name.as_ref(), |n| mask::mask_name(n.as_str())).map(|v| case.cust_nm = v)
                }
                Some(None) => Ok(()),
            },
            ColumnKey::CustTelNo => match named {
                None => standalone(phone(cell)).map(|v| case.cust_tel = v),
                Some(Some(k)) => against(phone(cell), k.phone.as_ref(), |p| mask::mask_phone(&p.national()))
                    .map(|v| case.cust_tel = v),
                Some(None) => Ok(()),
            },
            ColumnKey::CnslNo | ColumnKey::Skip => Ok(()),
        };
        if let Err(reason) = outcome {
            fail(key, reason);
        }
    }
    // A row naming a case takes the customer cells the map leaves out from that case.
    if let Some(Some(k)) = named {
        if map.position(ColumnKey::CustNm).is_none() {
            case.cust_nm = k.name.clone();
        }
        if map.position(ColumnKey::CustTelNo).is_none() {
            case.cust_tel = k.phone.clone();
        }
    }
    let reported = |errors: &[RowError], key: ColumnKey| errors.iter().any(|e| e.column == key);
    if case.cust_tel.is_none() && !reported(&errors, ColumnKey::CustTelNo) && !matches!(named, Some(None)) {
        // Without a custTelNo column, only a named case could have given the phone.
        let (column, reason) = if map.position(ColumnKey::CustTelNo).is_some() {
            (ColumnKey::CustTelNo, "is required")
        } else {
            (
                ColumnKey::CnslNo,
                "is required: without a custTelNo column, a row takes its customer from the case it names",
            )
        };
        errors.push(RowError { row, column, reason: reason.to_owned() });
    }
    if case.mbr_no.is_none()
        && case.ord_no.is_none()
        && !reported(&errors, ColumnKey::MbrNo)
        && !reported(&errors, ColumnKey::OrdNo)
    {
        let column = if map.position(ColumnKey::MbrNo).is_some() { ColumnKey::MbrNo } else { ColumnKey::OrdNo };
        errors.push(RowError { row, column, reason: "is required: a row needs mbrNo or ordNo".to_owned() });
    }
    if errors.is_empty() { Ok(Some(case)) } else { Err(errors) }
}

mod workbook;
pub use workbook::{ExportRow, PreviewRow, Sheet, SheetError, SheetRow, single_case};

#[cfg(test)]
mod tests;
