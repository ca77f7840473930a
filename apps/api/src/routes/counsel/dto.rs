//! The counsel DTOs: what the endpoints send, seed field names on the wire, customers
//! masked (`mask_name`, `mask_phone`) on the way out.

use domain::counsel::{ManagerEntry, Membership, Queue};
use domain::counsel_sheet::PreviewRow;
use domain::pii::mask;
use domain::service::counsel::{CaseView, ImportSummary, StatsRow};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use super::yn;
use crate::wire::timestamp;

/// A counsel queue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct QueueDto {
    pub auto_div_gb_cd: String,
    pub auto_div_gb_nm: String,
    #[schema(pattern = "^[A-Za-z0-9]{1,20}$")]
    pub auto_div_dtl_no: String,
    pub name: String,
    /// `ROUND_ROBIN`, `WEIGHTED` or `LEAST_LOADED`.
    pub policy: String,
    pub created_at: String,
}

impl From<&Queue> for QueueDto {
    fn from(q: &Queue) -> Self {
        Self {
            auto_div_gb_cd: q.key.group.as_str().to_owned(),
            auto_div_gb_nm: q.key.group.label().to_owned(),
            auto_div_dtl_no: q.key.detail.clone(),
            name: q.name.clone(),
            policy: q.policy.as_str().to_owned(),
            created_at: timestamp(q.created_at),
        }
    }
}

/// A manager's membership of a queue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipDto {
    /// 자동배분번호.
    pub auto_div_no: String,
    pub auto_div_gb_cd: String,
    #[schema(pattern = "^[A-Za-z0-9]{1,20}$")]
    pub auto_div_dtl_no: String,
    pub queue_name: String,
    pub policy: String,
    /// The manager's login id (`aempId`).
    pub user_id: String,
    pub dept_cd: Option<String>,
    pub weight: u32,
    pub capacity: u32,
    /// `Y` or `N`.
    #[schema(schema_with = fields::flag_described)]
    pub alloc_possible_yn: String,
    pub open_cases: u64,
    /// `Y` when the manager's account is active.
    pub use_yn: String,
    pub last_assigned_at: Option<String>,
}

impl From<&Membership> for MembershipDto {
    fn from(m: &Membership) -> Self {
        Self {
            auto_div_no: m.auto_div_no.to_string(),
            auto_div_gb_cd: m.queue.group.as_str().to_owned(),
            auto_div_dtl_no: m.queue.detail.clone(),
            queue_name: m.queue_name.clone(),
            policy: m.policy.as_str().to_owned(),
            user_id: m.mohom_id.clone(),
            dept_cd: m.dept.clone(),
            weight: m.terms.weight,
            capacity: m.terms.capacity,
            alloc_possible_yn: yn(m.possible),
            open_cases: m.open_cases,
            use_yn: yn(m.user_active),
            last_assigned_at: m.last_assigned_at.map(timestamp),
        }
    }
}

/// A counsel case; the customer masked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CaseDto {
    /// 상담번호.
    pub cnsl_no: Uuid,
    pub auto_div_gb_cd: String,
    #[schema(pattern = "^[A-Za-z0-9]{1,20}$")]
    pub auto_div_dtl_no: String,
    pub cnsl_typ_no: String,
    pub ob_typ_no: Option<String>,
    pub mbr_no: Option<String>,
    pub ord_no: Option<String>,
    pub accp_cont: Option<String>,
    /// Masked.
    pub cust_nm: Option<String>,
    /// Masked.
    pub cust_tel_no: Option<String>,
    /// `WAITING`, `ASSIGNED` or `COMPLETED`.
    pub status: String,
    /// The assigned manager's login id (담당자ID, as `manualAssign` and the manager list
    /// name them).
    #[schema(pattern = "^[A-Za-z0-9._@:-]{1,128}$")]
    pub aemp_id: Option<String>,
    pub auto_div_no: Option<String>,
    /// `AUTO` or `MANUAL`.
    pub assign_kind: Option<String>,
    /// The engine's reasons for an automatic pick: policy, candidates with their credits,
    /// the others and why they were skipped.
    #[schema(value_type = Option<CaseExplanation>)]
    pub explanation: Option<serde_json::Value>,
    pub as_id: Option<Uuid>,
    pub created_at: String,
    pub assigned_at: Option<String>,
    pub completed_at: Option<String>,
}

impl From<&CaseView> for CaseDto {
    /// The case, its manager named by their login id.
    fn from(view: &CaseView) -> Self {
        let c = &view.case;
        Self {
            cnsl_no: c.cnsl_no,
            auto_div_gb_cd: c.queue.group.as_str().to_owned(),
            auto_div_dtl_no: c.queue.detail.clone(),
            cnsl_typ_no: c.cnsl_typ_no.clone(),
            ob_typ_no: c.ob_typ_no.clone(),
            mbr_no: c.mbr_no.clone(),
            ord_no: c.ord_no.clone(),
            accp_cont: c.accp_cont.clone(),
            cust_nm: c.cust_nm.as_ref().map(|n| mask::mask_name(n.as_str())),
            cust_tel_no: c.cust_tel.as_ref().map(|p| mask::mask_phone(&p.national())),
            status: c.status.as_str().to_owned(),
            aemp_id: view.manager_login.clone(),
            auto_div_no: c.auto_div_no.map(|n| n.to_string()),
            assign_kind: c.assign_kind.map(|k| k.as_str().to_owned()),
            explanation: c.explanation.clone(),
            as_id: c.as_id,
            created_at: timestamp(c.created_at),
            assigned_at: c.assigned_at.map(timestamp),
            completed_at: c.completed_at.map(timestamp),
        }
    }
}

/// The engine's record of an assignment, as stored on the case. Its membership numbers
/// (`chosen`, `autoDivNo`) are the engine's integers, where the case's own `autoDivNo` is
/// the seed's string; its `userId`s are user ids (UUIDs), where `aempId` is a login id.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct CaseExplanation {
    /// The queue's policy.
    #[schema(value_type = String, examples("ROUND_ROBIN", "WEIGHTED", "LEAST_LOADED"))]
    pub policy: String,
    /// `AUTO` (the engine's pick) or `MANUAL` (a person's, counted as a pick).
    #[schema(value_type = String, examples("AUTO", "MANUAL"))]
    pub kind: String,
    /// The membership chosen (`autoDivNo`, as an integer).
    #[schema(format = Int64)]
    pub chosen: i64,
    /// The queue's pick counter when it was decided.
    #[schema(format = Int64, minimum = 0)]
    pub pick: i64,
    pub considered: Vec<ConsideredMember>,
    pub skipped: Vec<SkippedMember>,
    /// Who assigned it by hand (`MANUAL` only): the audit actor.
    pub by: Option<String>,
}

/// A member the engine weighed.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ConsideredMember {
    /// The membership (`autoDivNo`, as an integer).
    #[schema(format = Int64)]
    pub auto_div_no: i64,
    /// The member's user id (a UUID, not the login id).
    pub user_id: Option<Uuid>,
    /// Their credit in the ledger.
    #[schema(format = Int64)]
    pub credit: i64,
    /// Their open cases.
    #[schema(format = Int64, minimum = 0)]
    pub load: i64,
}

/// A member the engine passed over, and why.
#[derive(Debug, ToSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct SkippedMember {
    /// The membership (`autoDivNo`, as an integer).
    #[schema(format = Int64)]
    pub auto_div_no: i64,
    /// The member's user id (a UUID, not the login id).
    pub user_id: Option<Uuid>,
    /// `UNAVAILABLE` (flag `N` or inactive) or `OVER_CAPACITY`.
    pub reason: String,
}

/// A list of cases.
#[derive(Debug, Serialize, ToSchema)]
pub struct CaseListResponse {
    pub data: Vec<CaseDto>,
    pub total: usize,
}

/// A manager in auto-distribution with their memberships.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ManagerDto {
    pub user_id: String,
    /// Masked.
    pub user_nm: String,
    pub dept_cd: Option<String>,
    pub use_yn: String,
    pub memberships: Vec<MembershipDto>,
}

impl From<&ManagerEntry> for ManagerDto {
    fn from(m: &ManagerEntry) -> Self {
        Self {
            user_id: m.mohom_id.clone(),
            user_nm: mask::mask_name(m.name.as_str()),
            dept_cd: m.dept.clone(),
            use_yn: yn(m.active),
            memberships: m.memberships.iter().map(MembershipDto::from).collect(),
        }
    }
}

/// The manager list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ManagerListResponse {
    pub data: Vec<ManagerDto>,
}

/// The manager count.
#[derive(Debug, Serialize, ToSchema)]
pub struct CountResponse {
    pub count: usize,
}

/// Memberships.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembershipListResponse {
    pub data: Vec<MembershipDto>,
}

/// Queues.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueListResponse {
    pub data: Vec<QueueDto>,
}

impl From<&StatsRow> for AllocationStatsDto {
    fn from(row: &StatsRow) -> Self {
        let (m, s) = (&row.membership, &row.stats);
        Self {
            auto_div_no: m.auto_div_no.to_string(),
            auto_div_gb_cd: m.queue.group.as_str().to_owned(),
            auto_div_dtl_no: m.queue.detail.clone(),
            user_id: m.mohom_id.clone(),
            weight: m.terms.weight,
            alloc_possible_yn: yn(m.possible),
            auto_assigned: s.auto_assigned,
            manual_assigned: s.manual_assigned,
            completed: s.completed,
            open: s.open,
            actual_share: row.actual_share,
            weight_share: row.weight_share,
        }
    }
}

/// One manager's counts in the range.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllocationStatsDto {
    pub auto_div_no: String,
    pub auto_div_gb_cd: String,
    #[schema(pattern = "^[A-Za-z0-9]{1,20}$")]
    pub auto_div_dtl_no: String,
    pub user_id: String,
    pub weight: u32,
    #[schema(schema_with = fields::flag)]
    pub alloc_possible_yn: String,
    /// Assigned by the engine in the range.
    pub auto_assigned: u64,
    /// Assigned by a person in the range.
    pub manual_assigned: u64,
    pub completed: u64,
    /// Open now.
    pub open: u64,
    /// This manager's percentage of the cases assigned in the range, among the rows
    /// shown of the same queue.
    pub actual_share: f64,
    /// The percentage their weight asks for, among the rows shown of the same queue.
    pub weight_share: f64,
}

/// `csAllocationMgmtList`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AllocationStatsResponse {
    pub data: Vec<AllocationStatsDto>,
    /// The range counted, `[from, to)`, or null for all time.
    pub from: Option<String>,
    pub to: Option<String>,
}

/// `checkValidateManager`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ValidateManagerResponse {
    pub valid: bool,
    /// Why not: `USER_NOT_FOUND`, `USER_INACTIVE`, `NOT_CS_MANAGER`, `DEPARTMENT_MISMATCH`,
    /// `ALREADY_MEMBER`, `QUEUE_NOT_FOUND`.
    pub reason: Option<String>,
}

/// The result of an import.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportResponse {
    pub imported: usize,
    pub assigned: usize,
    pub waiting: usize,
    pub cases: Vec<ImportedCase>,
}

/// One imported case.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImportedCase {
    pub cnsl_no: Uuid,
    pub auto_div_no: Option<String>,
}

/// The availability toggle's result.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangePossibleResponse {
    pub data: Vec<MembershipDto>,
}

impl From<&ImportSummary> for ImportResponse {
    fn from(summary: &ImportSummary) -> Self {
        let assigned = summary.assigned();
        Self {
            imported: summary.outcomes.len(),
            assigned,
            waiting: summary.outcomes.len() - assigned,
            cases: summary
                .outcomes
                .iter()
                .map(|o| ImportedCase { cnsl_no: o.cnsl_no, auto_div_no: o.assignee.map(|(n, _)| n.to_string()) })
                .collect(),
        }
    }
}

/// A preview of an upload (`getObCsCounselInfoListExcel` with an `excelFile`): each row
/// judged as `saveObCsCounselInfoListExcel` would judge it; nothing saved.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewResponse {
    /// Rows holding data.
    pub total: usize,
    /// Rows that would import.
    pub valid: usize,
    /// Rows with errors (an import of this file would save nothing).
    pub invalid: usize,
    pub rows: Vec<PreviewRowDto>,
}

/// One row of a preview: the case it would make (customer masked) or its errors.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PreviewRowDto {
    /// The row's number in the sheet (1-based, the header is row 1).
    pub row: u64,
    pub mbr_no: Option<String>,
    pub ord_no: Option<String>,
    pub accp_cont: Option<String>,
    /// Masked.
    pub cust_nm: Option<String>,
    /// Masked.
    pub cust_tel_no: Option<String>,
    /// Empty when the row is valid.
    pub errors: Vec<RowErrorDto>,
}

/// What is wrong with one cell of a row.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RowErrorDto {
    /// The column's key (`mbrNo`, `custTelNo`, ...).
    pub column: String,
    pub reason: String,
}

impl From<&[PreviewRow]> for PreviewResponse {
    fn from(rows: &[PreviewRow]) -> Self {
        let valid = rows.iter().filter(|r| r.case.is_ok()).count();
        Self {
            total: rows.len(),
            valid,
            invalid: rows.len() - valid,
            rows: rows
                .iter()
                .map(|r| match &r.case {
                    Ok(c) => PreviewRowDto {
                        row: r.row,
                        mbr_no: c.mbr_no.clone(),
                        ord_no: c.ord_no.clone(),
                        accp_cont: c.accp_cont.clone(),
                        cust_nm: c.cust_nm.as_ref().map(|n| mask::mask_name(n.as_str())),
                        cust_tel_no: c.cust_tel.as_ref().map(|p| mask::mask_phone(&p.national())),
                        errors: Vec::new(),
                    },
                    Err(errors) => PreviewRowDto {
                        row: r.row,
                        mbr_no: None,
                        ord_no: None,
                        accp_cont: None,
                        cust_nm: None,
                        cust_tel_no: None,
                        errors: errors
                            .iter()
                            .map(|e| RowErrorDto { column: e.column.as_str().to_owned(), reason: e.reason.clone() })
                            .collect(),
                    },
                })
                .collect(),
        }
    }
}

/// The export's workbook.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct XlsxFile(Vec<u8>);

/// Field schemas the derive cannot state (enumerations, patterns of list items), from the
/// domain's own lists so the document and the checks cannot drift apart.
pub(super) mod fields {
    use domain::counsel::{AutoDivGroup, QUEUE_POLICIES};
    use serde_json::Value;
    use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, SchemaType, Type};

    fn strings(values: impl IntoIterator<Item = &'static str>, nullable: bool) -> Vec<Value> {
        let mut out: Vec<Value> = values.into_iter().map(Value::from).collect();
        if nullable {
            out.push(Value::Null);
        }
        out
    }

    fn enumeration(values: Vec<Value>, nullable: bool, description: Option<&str>) -> Object {
        let kind =
            if nullable { SchemaType::from_iter([Type::String, Type::Null]) } else { SchemaType::new(Type::String) };
        ObjectBuilder::new().schema_type(kind).enum_values(Some(values)).description(description).build()
    }

    /// `autoDivGbCd` of a request: CS023.
    pub fn group() -> Object {
        enumeration(strings(AutoDivGroup::ALL.iter().map(|g| g.as_str()), false), false, None)
    }

    /// `policy` of a new queue.
    pub fn policy() -> Object {
        let values = strings(QUEUE_POLICIES.iter().map(|p| p.as_str()), true);
        enumeration(values, true, Some("`ROUND_ROBIN` (default), `WEIGHTED` or `LEAST_LOADED`."))
    }

    /// `allocPossibleYn` of a new member.
    pub fn possible() -> Object {
        enumeration(strings(["Y", "N"], true), true, Some("`Y` (default) or `N`."))
    }

    /// A membership's flag as sent (`Y`/`N`).
    pub fn flag() -> Object {
        ObjectBuilder::new().schema_type(Type::String).enum_values(Some(strings(["Y", "N"], true))).build()
    }

    /// [`flag`], described.
    pub fn flag_described() -> Object {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(strings(["Y", "N"], true)))
            .description(Some("`Y` or `N`."))
            .build()
    }

    /// `state` of the flag change.
    pub fn state() -> Object {
        enumeration(strings(["Y", "N"], false), false, Some("`Y` or `N`."))
    }

    /// `autoDivNoList`: membership numbers, braces tolerated (`{1000442}`, the seed's example).
    pub fn auto_div_no_list() -> utoipa::openapi::schema::Array {
        let item = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^([1-9][0-9]{0,17}|\{[1-9][0-9]{0,17}\})$"))
            .build();
        ArrayBuilder::new().items(item).description(Some("자동배분번호 목록.")).min_items(Some(1)).build()
    }
}
