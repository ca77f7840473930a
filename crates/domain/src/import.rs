//! Lead import rows (`ldbds import`): a spreadsheet's header mapped to lead fields, and
//! each row turned into a [`NewLead`] or the list of what is wrong with it.
//!
//! Invariants:
//! - a header must name the `name`, `phone` and `region` columns (English, Korean or
//!   Vietnamese labels, case, spaces and `_`/`-` ignored); a label that names no field
//!   is ignored and reported, never imported (an unknown column may hold personal data,
//!   and `metadata` never does);
//! - a row is accepted only if every field parses ([`NewLead::parse`], the same rules
//!   as the API) and its region is a code or a name of the region table; otherwise every
//!   bad field is reported with the row's number in the file (the header is row 1);
//! - a phone typed into a spreadsheet as a number loses its leading zero
//!   (`1012345678`): a numeric phone cell of 9 or 10 digits gets it back; a text cell is
//!   taken as written; a negative, fractional or non-finite number is no phone (refused);
//! - an empty row (every cell blank) is skipped, not rejected.

use std::collections::HashMap;

use time::Date;
use uuid::Uuid;

use crate::error::FieldError;
use crate::lead::{LeadFields, NewLead};
use crate::reference::Region;

/// The lead fields a column can hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Name,
    Phone,
    Email,
    Region,
    Address,
    BirthDate,
    Gender,
    Memo,
}

impl Field {
    /// The name used in error reports (the API's field name).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Phone => "phone",
            Self::Email => "email",
            Self::Region => "region",
            Self::Address => "address",
            Self::BirthDate => "birth_date",
            Self::Gender => "gender",
            Self::Memo => "memo",
        }
    }

    /// The labels a header may use for this field (compared after [`fold`]).
    const fn labels(self) -> &'static [&'static str] {
        match self {
            Self::Name => &["name", "fullname", "customername", "이름", "성명", "고객명", "hoten", "họtên", "họvàtên"],
            Self::Phone => &[
                "phone",
                "mobile",
                "mobilenumber",
                "phonenumber",
                "연락처",
                "전화번호",
                "휴대폰",
                "휴대폰번호",
                "핸드폰",
                "sốđiệnthoại",
                "sđt",
            ],
            Self::Email => &["email", "이메일"],
            Self::Region => &["region", "regioncode", "지역", "시도", "tỉnh", "tỉnh/thành", "tỉnhthành"],
            Self::Address => &["address", "주소", "địachỉ"],
            Self::BirthDate => &["birthdate", "birthday", "dateofbirth", "생년월일", "ngàysinh"],
            Self::Gender => &["gender", "sex", "성별", "giớitính"],
            Self::Memo => &["memo", "note", "메모", "비고", "ghichú"],
        }
    }

    const ALL: [Self; 8] =
        [Self::Name, Self::Phone, Self::Email, Self::Region, Self::Address, Self::BirthDate, Self::Gender, Self::Memo];
}

/// A header label folded for comparison: lower case, without white space, `_` and `-`.
fn fold(label: &str) -> String {
    label.chars().filter(|c| !c.is_whitespace() && *c != '_' && *c != '-').flat_map(char::to_lowercase).collect()
}

/// A header that cannot be imported.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("the file has no header row")]
    Empty,
    #[error("the header has no `{0}` column")]
    Missing(&'static str),
    #[error("the header names `{0}` twice (columns {1} and {2})")]
    Duplicate(&'static str, usize, usize),
}

/// The first row of a file, mapped to fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    columns: Vec<Option<Field>>,
    /// The labels of the columns that name no field (ignored).
    pub ignored: Vec<String>,
}

impl Header {
    /// Maps each label to a field.
    ///
    /// # Errors
    /// No labels at all, a required column missing, or a field named twice.
    pub fn parse(labels: &[String]) -> Result<Self, HeaderError> {
        if labels.iter().all(|l| l.trim().is_empty()) {
            return Err(HeaderError::Empty);
        }
        let mut seen: HashMap<Field, usize> = HashMap::new();
        let mut columns = Vec::with_capacity(labels.len());
        let mut ignored = Vec::new();
        for (i, label) in labels.iter().enumerate() {
            let folded = fold(label);
            let field = Field::ALL.into_iter().find(|f| f.labels().contains(&folded.as_str()));
            if let Some(field) = field {
                if let Some(first) = seen.insert(field, i) {
                    return Err(HeaderError::Duplicate(field.as_str(), first + 1, i + 1));
                }
            } else if !label.trim().is_empty() {
                ignored.push(label.trim().to_owned());
            }
            columns.push(field);
        }
        for required in [Field::Name, Field::Phone, Field::Region] {
            if !seen.contains_key(&required) {
                return Err(HeaderError::Missing(required.as_str()));
            }
        }
        Ok(Self { columns, ignored })
    }
}

/// A cell as the file holds it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(Date),
}

impl Cell {
    fn is_blank(&self) -> bool {
        match self {
            Self::Empty => true,
            Self::Text(t) => t.trim().is_empty(),
            Self::Number(_) | Self::Date(_) => false,
        }
    }
}

/// One thing wrong with one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// The row's number in the file, the header being row 1.
    pub row: u64,
    pub field: String,
    pub reason: String,
}

/// Region codes and names, each mapped to the code leads carry.
#[derive(Debug, Clone, Default)]
pub struct RegionLookup(HashMap<String, String>);

impl RegionLookup {
    #[must_use]
    pub fn new(regions: &[Region]) -> Self {
        let mut map = HashMap::new();
        for r in regions {
            map.insert(r.name.trim().to_owned(), r.code.clone());
            map.insert(r.code.clone(), r.code.clone());
        }
        Self(map)
    }

    fn code(&self, raw: &str) -> Option<&str> {
        self.0.get(raw.trim()).map(String::as_str)
    }
}

/// A number as the integer text it was typed as (`1.0e9` → `1000000000`).
fn integer_text(n: f64) -> Option<String> {
    // Spreadsheet numbers beyond 2^53 are not exact integers any more.
    (n.is_finite() && n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0).then(|| format!("{n:.0}"))
}

/// The text of a phone cell; a numeric cell of 9 or 10 digits gets its leading zero back.
///
/// `Err` for a numeric cell that is not a natural number: its text is no phone number, yet
/// the phone rule would read its `-` or `.` as a separator (`-700000000` with the zero back
/// is `0-700000000`, a valid VN mobile; `8210123456.78` reads as `+82 10 1234 5678`).
fn phone_text(cell: &Cell) -> Result<Option<String>, ()> {
    match cell {
        Cell::Number(n) => match integer_text(*n) {
            Some(t) if t.bytes().all(|b| b.is_ascii_digit()) => {
                Ok(Some(if t.len() == 9 || t.len() == 10 { format!("0{t}") } else { t }))
            }
            _ => Err(()),
        },
        other => Ok(plain_text(other)),
    }
}

fn plain_text(cell: &Cell) -> Option<String> {
    match cell {
        Cell::Empty => None,
        Cell::Text(t) => Some(t.clone()),
        Cell::Number(n) => Some(integer_text(*n).unwrap_or_else(|| n.to_string())),
        Cell::Date(d) => Some(d.to_string()),
    }
}

/// `남`/`여`, `nam`/`nữ`, `M`/`F` as `MALE`/`FEMALE`; anything else as written (refused
/// by the lead's own rule).
fn gender_text(raw: &str) -> String {
    match fold(raw).as_str() {
        "남" | "남자" | "남성" | "m" | "male" | "nam" => "MALE".to_owned(),
        "여" | "여자" | "여성" | "f" | "female" | "nữ" | "nu" => "FEMALE".to_owned(),
        _ => raw.trim().to_owned(),
    }
}

/// A row's cells as a lead of `product_id`.
///
/// # Errors
/// Every bad field of the row, each with the row number.
pub fn parse_row(
    header: &Header,
    row: u64,
    cells: &[Cell],
    product_id: Uuid,
    regions: &RegionLookup,
    today: Date,
) -> Result<Option<NewLead>, Vec<RowError>> {
    if cells.iter().all(Cell::is_blank) {
        return Ok(None);
    }
    let mut values: HashMap<Field, String> = HashMap::new();
    let mut errors = Vec::new();
    for (i, field) in header.columns.iter().enumerate() {
        let (Some(field), Some(cell)) = (field, cells.get(i)) else { continue };
        let text = match (field, cell) {
            (Field::Phone, cell) => phone_text(cell).unwrap_or_else(|()| {
                errors.push(RowError {
                    row,
                    field: "phone".into(),
                    reason: "must be text or a whole positive number".into(),
                });
                None
            }),
            (Field::BirthDate, Cell::Number(_)) => {
                errors.push(RowError { row, field: "birth_date".into(), reason: "must be a date YYYY-MM-DD".into() });
                None
            }
            (Field::Gender, cell) => plain_text(cell).map(|t| gender_text(&t)),
            (_, cell) => plain_text(cell),
        };
        if let Some(text) = text.filter(|t| !t.trim().is_empty()) {
            values.insert(*field, text);
        }
    }
    let region = match values.get(&Field::Region) {
        Some(raw) => match regions.code(raw) {
            Some(code) => Some(code.to_owned()),
            None => {
                errors.push(RowError {
                    row,
                    field: "region".into(),
                    reason: "must be a region code or name of GET /api/v1/regions".into(),
                });
                None
            }
        },
        None => None,
    };
    let product = product_id.to_string();
    let get = |f: Field| values.get(&f).map(String::as_str);
    let fields = LeadFields {
        product_id: Some(&product),
        name: get(Field::Name),
        phone: get(Field::Phone),
        email: get(Field::Email),
        // A region that is not in the table was reported above; the lead's own rule
        // still reports a missing one.
        region: region.as_deref().or_else(|| get(Field::Region).map(|_| "?")),
        address: get(Field::Address),
        birth_date: get(Field::BirthDate),
        gender: get(Field::Gender),
        memo: get(Field::Memo),
        metadata: None,
    };
    match NewLead::parse(&fields, today) {
        Ok(lead) if errors.is_empty() => Ok(Some(lead)),
        Ok(_) => Err(errors),
        Err(e) => {
            // A field reported above (a numeric phone) is not reported again as missing.
            let reported: Vec<String> = errors.iter().map(|e| e.field.clone()).collect();
            let rest = e.0.into_iter().filter(|f| !reported.contains(&f.field));
            errors.extend(rest.map(|FieldError { field, reason }| RowError { row, field, reason }));
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests;
