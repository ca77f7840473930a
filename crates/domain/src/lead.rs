//! Leads (DB), their ownership history (assignments) and who may see what.
//!
//! Invariants:
//! - a lead has at most one open assignment (also enforced by the database);
//! - plain PII is shown only to the owner of the open assignment, and only once that
//!   assignment is used ([`Visibility`]); everyone else gets masked values, and a user
//!   who neither owns nor distributed the lead does not see it at all (404);
//! - `use` is idempotent: the first call sets `usedAt`, later calls return the same one;
//! - a lead's `metadata` is at most [`MAX_METADATA_BYTES`] of serialized JSON, whichever
//!   door it comes in by (the API, the intake, the import): [`NewLead::parse`] refuses more;
//! - a list of lead ids in a request holds 1 to its limit ([`MAX_CONTACT_IDS`],
//!   [`MAX_TRANSFER_IDS`]) distinct UUIDs ([`parse_lead_ids`]).

use time::{Date, OffsetDateTime};
use uuid::Uuid;

use crate::error::{FieldError, ValidationError};
use crate::identity::{MohomId, User};
use crate::pagination::{PageRequest, SortKey};
use crate::pii::{Email, PersonName, PhoneNumber};
use crate::reference::code_enum;

/// The largest serialized `metadata` a lead takes (8 KiB).
pub const MAX_METADATA_BYTES: usize = 8192;
/// The most ids `POST /api/v1/leads/contacts` takes.
pub const MAX_CONTACT_IDS: usize = 100;
/// The most ids a distribution or recall takes.
pub const MAX_TRANSFER_IDS: usize = 500;
/// The longest address a lead keeps.
pub const MAX_ADDRESS_CHARS: usize = 300;
/// The longest memo a lead keeps.
pub const MAX_MEMO_CHARS: usize = 2000;
/// Mobile numbers in the forms a schema can state: every string it matches is accepted by
/// [`PhoneNumber::parse`] (which also takes dots, parentheses and `0082`/`0084`).
pub const PHONE_PATTERN: &str = r"^(?:(?:\+82[ -]?|0)1[016789][ -]?[0-9]{3,4}[ -]?[0-9]{4}|(?:\+84[ -]?|0)[35789](?:[0-9][ -]?[0-9]{3}[ -]?[0-9]{4}|[0-9]{2}[ -]?[0-9]{3}[ -]?[0-9]{3}))$";
/// A personal name: some visible character, no control character.
pub const NAME_PATTERN: &str = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$";
/// Free text a lead keeps (address, memo): no control character but the line feed.
pub const TEXT_PATTERN: &str = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$";

code_enum!(
    /// How an assignment came to be.
    AssignmentSource {
        Order => "ORDER",
        Registered => "REGISTERED",
        Distributed => "DISTRIBUTED",
        Recalled => "RECALLED",
        Replacement => "REPLACEMENT",
    }
);

code_enum!(
    /// Where a lead is in its life. `DUPLICATE_OTHER_PROVIDER`: a source's lead whose
    /// phone another provider org sent earlier inside the product's duplicate window; kept
    /// for the operator, never offered to an order (see `docs/decisions.md`).
    LeadStatus {
        Pool => "POOL",
        Assigned => "ASSIGNED",
        Returned => "RETURNED",
        Expired => "EXPIRED",
        DuplicateOtherProvider => "DUPLICATE_OTHER_PROVIDER",
    }
);

code_enum!(
    /// An AS request's status.
    AsStatus {
        Requested => "REQUESTED",
        InReview => "IN_REVIEW",
        Approved => "APPROVED",
        Rejected => "REJECTED",
        Cancelled => "CANCELLED",
    }
);

impl AsStatus {
    /// The Korean label shown beside the status.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Self::Requested => "접수",
            Self::InReview => "검토중",
            Self::Approved => "승인",
            Self::Rejected => "반려",
            Self::Cancelled => "취소",
        }
    }

    /// `hasAs=Y`: the latest AS exists and is not cancelled.
    #[must_use]
    pub fn counts_as_has_as(self) -> bool {
        self != Self::Cancelled
    }
}

code_enum!(
    /// A lead's gender, as the seed's intake sends it.
    Gender { Male => "MALE", Female => "FEMALE" }
);

/// The personal data of a lead; only `infra` encrypts it. Its `Debug` prints none of it.
#[derive(Clone, PartialEq, Eq)]
pub struct LeadPii {
    pub name: PersonName,
    pub phone: PhoneNumber,
    pub email: Option<Email>,
    pub address: Option<String>,
    pub birth_date: Option<Date>,
    pub memo: Option<String>,
}

/// A self-registered lead (DB 단건 등록), validated.
#[derive(Debug, Clone)]
pub struct NewLead {
    pub product_id: Uuid,
    pub region: String,
    pub gender: Option<Gender>,
    /// A JSON object as text (never PII), or none.
    pub metadata: Option<String>,
    pub pii: LeadPii,
}

/// The raw fields of `CreateLeadV1Request` (metadata already serialized by the API).
/// Its `Debug` prints none of the personal fields.
#[derive(Clone, Default)]
pub struct LeadFields<'a> {
    pub product_id: Option<&'a str>,
    pub name: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub region: Option<&'a str>,
    pub address: Option<&'a str>,
    pub birth_date: Option<&'a str>,
    pub gender: Option<&'a str>,
    pub memo: Option<&'a str>,
    pub metadata: Option<String>,
}

crate::redacting_debug!(LeadPii { show: [], redact: [name, phone, email, address, birth_date, memo] });
crate::redacting_debug!(LeadFields<'a> {
    show: [product_id, region, gender, metadata],
    redact: [name, phone, email, address, birth_date, memo],
});

fn text(value: Option<&str>, field: &str, max: usize, errors: &mut Vec<FieldError>) -> Option<String> {
    let value = value.map(str::trim).filter(|v| !v.is_empty())?;
    if value.chars().count() > max || value.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError::new(field, format!("must be at most {max} printable characters")));
        return None;
    }
    Some(value.to_owned())
}

/// `YYYY-MM-DD`, not in the future, not before 1900.
///
/// # Errors
/// Names `birth_date`.
pub fn parse_birth_date(raw: &str, today: Date) -> Result<Date, ValidationError> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = Date::parse(raw.trim(), format)
        .map_err(|_| ValidationError::single("birth_date", "must be a date YYYY-MM-DD"))?;
    if date > today || date.year() < 1900 {
        return Err(ValidationError::single("birth_date", "must be between 1900-01-01 and today"));
    }
    Ok(date)
}

impl NewLead {
    /// Parses every field, reporting all the bad ones at once, `metadata` over
    /// [`MAX_METADATA_BYTES`] included. The region is checked against the region table by
    /// the caller (it is data, not a rule).
    ///
    /// # Errors
    /// One [`FieldError`] per missing or malformed field.
    pub fn parse(fields: &LeadFields<'_>, today: Date) -> Result<Self, ValidationError> {
        let mut errors = Vec::new();
        let mut need = |value: Option<&str>, field: &str| {
            if value.is_none_or(|v| v.trim().is_empty()) {
                errors.push(FieldError::new(field, "is required"));
            }
        };
        need(fields.product_id, "productId");
        need(fields.name, "name");
        need(fields.phone, "phone");
        need(fields.region, "region");
        let product_id = fields.product_id.filter(|v| !v.trim().is_empty()).and_then(|v| {
            v.trim().parse::<Uuid>().map_err(|_| errors.push(FieldError::new("productId", "must be a UUID"))).ok()
        });
        let name = fields
            .name
            .filter(|v| !v.trim().is_empty())
            .and_then(|v| PersonName::parse(v).map_err(|e| errors.extend(e.0)).ok());
        let phone = fields
            .phone
            .filter(|v| !v.trim().is_empty())
            .and_then(|v| PhoneNumber::parse(v).map_err(|e| errors.extend(e.0)).ok());
        let email = fields
            .email
            .filter(|v| !v.trim().is_empty())
            .and_then(|v| Email::parse(v).map_err(|e| errors.extend(e.0)).ok());
        let region = fields.region.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        let address = text(fields.address, "address", MAX_ADDRESS_CHARS, &mut errors);
        let memo = text(fields.memo, "memo", MAX_MEMO_CHARS, &mut errors);
        let birth_date = fields
            .birth_date
            .filter(|v| !v.trim().is_empty())
            .and_then(|v| parse_birth_date(v, today).map_err(|e| errors.extend(e.0)).ok());
        let gender = fields.gender.filter(|v| !v.trim().is_empty()).and_then(|v| {
            v.trim()
                .to_ascii_uppercase()
                .parse::<Gender>()
                .map_err(|_| errors.push(FieldError::new("gender", "must be MALE or FEMALE")))
                .ok()
        });
        if fields.metadata.as_ref().is_some_and(|m| m.len() > MAX_METADATA_BYTES) {
            errors.push(FieldError::new("metadata", "must be at most 8 KiB"));
        }
        match (product_id, name, phone, region) {
            (Some(product_id), Some(name), Some(phone), Some(region)) if errors.is_empty() => Ok(Self {
                product_id,
                region,
                gender,
                metadata: fields.metadata.clone(),
                pii: LeadPii { name, phone, email, address, birth_date, memo },
            }),
            _ => Err(ValidationError(errors)),
        }
    }
}

/// The open assignment of a lead, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentAssignment {
    pub id: Uuid,
    pub owner_user_id: Uuid,
    pub source: AssignmentSource,
    pub distributor_user_id: Option<Uuid>,
    pub assigned_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
}

/// One period of ownership, for the history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssignmentRecord {
    pub id: Uuid,
    pub owner_user_id: Uuid,
    pub source: AssignmentSource,
    pub distributor_user_id: Option<Uuid>,
    pub assigned_at: OffsetDateTime,
    pub used_at: Option<OffsetDateTime>,
    pub ended_at: Option<OffsetDateTime>,
    pub end_reason: Option<String>,
}

/// A lead with its PII decrypted (the API decides what to reveal).
#[derive(Debug, Clone)]
pub struct Lead {
    pub id: Uuid,
    pub product_id: Uuid,
    pub product_name: String,
    pub provider_org_id: Uuid,
    pub region: String,
    pub gender: Option<Gender>,
    pub metadata: Option<String>,
    pub status: LeadStatus,
    pub pii: LeadPii,
    pub assignment: Option<CurrentAssignment>,
    pub last_distributed_at: Option<OffsetDateTime>,
    /// Statuses of the lead's AS requests, newest first.
    pub as_statuses: Vec<AsStatus>,
    pub created_at: OffsetDateTime,
}

/// What a user may see of a lead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// The owner, assignment used: plain PII.
    Revealed,
    /// The owner before use, or the user who distributed it: masked PII.
    Masked,
    /// Anyone else: the lead does not exist for them.
    Hidden,
}

impl Lead {
    /// What `user` may see of this lead.
    #[must_use]
    pub fn visibility_for(&self, user: Uuid) -> Visibility {
        match &self.assignment {
            Some(a) if a.owner_user_id == user && a.used_at.is_some() => Visibility::Revealed,
            Some(a) if a.owner_user_id == user => Visibility::Masked,
            Some(a) if a.distributor_user_id == Some(user) => Visibility::Masked,
            _ => Visibility::Hidden,
        }
    }

    /// The latest AS status, if any.
    #[must_use]
    pub fn latest_as(&self) -> Option<AsStatus> {
        self.as_statuses.first().copied()
    }
}

/// What the owned-list `search` looks for.
#[derive(Debug, Clone)]
pub enum LeadSearch {
    Phone(PhoneNumber),
    PhoneLast4(String),
    Email(Email),
    /// An exact name, or a fragment of the product name.
    NameOrProduct {
        name: Option<PersonName>,
        product_fragment: String,
    },
}

impl LeadSearch {
    /// # Errors
    /// Names `search` for a malformed phone or email, or text over 100 characters.
    pub fn parse(raw: &str) -> Result<Self, ValidationError> {
        let text = raw.trim();
        if text.chars().count() > 100 {
            return Err(ValidationError::single("search", "must be at most 100 characters"));
        }
        if text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) {
            return Ok(Self::PhoneLast4(text.to_owned()));
        }
        if text.contains('@') {
            return Email::parse(text)
                .map(Self::Email)
                .map_err(|_| ValidationError::single("search", "is not a valid email address"));
        }
        let digits = text.chars().filter(char::is_ascii_digit).count();
        if digits >= 7 && text.chars().all(|c| c.is_ascii_digit() || " +-.()".contains(c)) {
            return PhoneNumber::parse(text)
                .map(Self::Phone)
                .map_err(|_| ValidationError::single("search", "is not a valid mobile number"));
        }
        Ok(Self::NameOrProduct { name: PersonName::parse(text).ok(), product_fragment: text.to_owned() })
    }
}

/// Sort keys of the owned list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OwnedSortKey {
    AssignedAt,
    UsedAt,
}

impl SortKey for OwnedSortKey {
    const ALLOWED: &'static [(&'static str, Self)] = &[("assignedAt", Self::AssignedAt), ("usedAt", Self::UsedAt)];
    const DEFAULT: Self = Self::AssignedAt;
}

/// `Y`/`N` filters.
///
/// # Errors
/// Names the field when the value is not `Y` or `N`.
pub fn parse_yn(raw: Option<&str>, field: &str) -> Result<Option<bool>, ValidationError> {
    match raw.map(str::trim) {
        None => Ok(None),
        Some("Y") => Ok(Some(true)),
        Some("N") => Ok(Some(false)),
        Some(_) => Err(ValidationError::single(field, "must be Y or N")),
    }
}

/// Sort keys of the distributed-away list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AwaySortKey {
    DistributedAt,
    UsedAt,
}

impl SortKey for AwaySortKey {
    const ALLOWED: &'static [(&'static str, Self)] =
        &[("distributedAt", Self::DistributedAt), ("usedAt", Self::UsedAt)];
    const DEFAULT: Self = Self::DistributedAt;
}

/// The column a lead list sorts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListSortColumn {
    AssignedAt,
    UsedAt,
    /// `lastDistributedAt`.
    DistributedAt,
}

impl From<OwnedSortKey> for ListSortColumn {
    fn from(key: OwnedSortKey) -> Self {
        match key {
            OwnedSortKey::AssignedAt => Self::AssignedAt,
            OwnedSortKey::UsedAt => Self::UsedAt,
        }
    }
}

impl From<AwaySortKey> for ListSortColumn {
    fn from(key: AwaySortKey) -> Self {
        match key {
            AwaySortKey::DistributedAt => Self::DistributedAt,
            AwaySortKey::UsedAt => Self::UsedAt,
        }
    }
}

/// Whose leads a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListScope {
    /// 소유 DB 리스트: the leads this user owns.
    Owned(Uuid),
    /// 기분배 DB 리스트: leads this user distributed that another user now owns.
    DistributedBy(Uuid),
}

/// A lead-list query (소유 DB 리스트, 기분배 DB 리스트).
#[derive(Debug, Clone)]
pub struct OwnedQuery {
    pub scope: ListScope,
    pub used: Option<bool>,
    pub has_as: Option<bool>,
    pub product_id: Option<Uuid>,
    pub provider_id: Option<Uuid>,
    pub search: Option<LeadSearch>,
    pub page: PageRequest,
    pub sort_column: ListSortColumn,
    pub sort_order: crate::pagination::SortOrder,
}

/// The filters of a lead list, before the use case scopes them to the acting member.
#[derive(Debug, Clone)]
pub struct ListFilter {
    pub used: Option<bool>,
    pub has_as: Option<bool>,
    pub product_id: Option<Uuid>,
    pub provider_id: Option<Uuid>,
    pub search: Option<LeadSearch>,
    pub page: PageRequest,
    pub sort_column: ListSortColumn,
    pub sort_order: crate::pagination::SortOrder,
}

impl ListFilter {
    /// The query of this filter over `scope`.
    #[must_use]
    pub fn scoped(self, scope: ListScope) -> OwnedQuery {
        OwnedQuery {
            scope,
            used: self.used,
            has_as: self.has_as,
            product_id: self.product_id,
            provider_id: self.provider_id,
            search: self.search,
            page: self.page,
            sort_column: self.sort_column,
            sort_order: self.sort_order,
        }
    }
}

/// Why a lead cannot move between users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferRefusal {
    /// Unknown, or not the caller's to move (indistinguishable on purpose).
    NotFound,
    /// An AS request is open on it.
    OpenAs,
    /// The recipient has used it (recall only).
    AlreadyUsed,
}

/// Why a lead's contacts were not revealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevealRefusal {
    /// Unknown, or not owned by the caller (indistinguishable on purpose).
    NotFound,
    /// Owned but not used yet.
    NotUsed,
}

impl Lead {
    /// Whether `user` may read this lead's plain contacts: they own it and have used it.
    ///
    /// # Errors
    /// The refusal.
    pub fn check_reveal(&self, user: Uuid) -> Result<(), RevealRefusal> {
        match self.visibility_for(user) {
            Visibility::Revealed => Ok(()),
            _ if self.assignment.as_ref().is_some_and(|a| a.owner_user_id == user) => Err(RevealRefusal::NotUsed),
            _ => Err(RevealRefusal::NotFound),
        }
    }
}

/// The outcome of a distribution or a recall: every lead moved (`(leadId, assignmentId)`
/// in id order), or the first refusal in request order (and nothing moved).
pub type TransferOutcome = Result<Vec<(Uuid, Uuid)>, (Uuid, TransferRefusal)>;

/// An earlier assignment of a lead, as a recall restores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriorAssignment {
    pub id: Uuid,
    pub used_at: Option<OffsetDateTime>,
    pub distributor_user_id: Option<Uuid>,
    pub order_line_id: Option<Uuid>,
    /// The assignment this one had itself restored (a chain of distributions).
    pub restored_from_id: Option<Uuid>,
}

/// A lead about to move, read with what a transfer decides on.
#[derive(Debug, Clone)]
pub struct TransferCandidate {
    pub lead: Lead,
    /// The assignment the open one was handed over from (its `restored_from`), if any.
    pub handed_over_from: Option<PriorAssignment>,
}

/// One decided move: the open assignment `ends` is closed and `next` opened; storage
/// writes it only while `ends` is still the lead's open assignment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handover {
    pub lead_id: Uuid,
    pub ends: Uuid,
    pub next: NextAssignment,
}

/// The assignment a move opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextAssignment {
    pub owner_user_id: Uuid,
    pub owner_org_id: Uuid,
    /// The new owner's `mohomId`, as the transfer's event names them (the planner holds
    /// the user; the writer would otherwise have to read it).
    pub owner_mohom_id: MohomId,
    /// `DISTRIBUTED` or `RECALLED` (also the end reason of the assignment it ends).
    pub source: AssignmentSource,
    pub distributor_user_id: Option<Uuid>,
    pub used_at: Option<OffsetDateTime>,
    pub order_line_id: Option<Uuid>,
    pub restored_from_id: Option<Uuid>,
    pub assigned_at: OffsetDateTime,
}

/// The candidates of `ids`, in request order: the first one missing or refused by `rule`
/// is the refusal.
fn in_request_order<'a>(
    ids: &[Uuid],
    candidates: &'a [TransferCandidate],
    rule: impl Fn(&Lead) -> Result<(), TransferRefusal>,
) -> Result<Vec<&'a TransferCandidate>, (Uuid, TransferRefusal)> {
    ids.iter()
        .map(|id| match candidates.iter().find(|c| c.lead.id == *id) {
            None => Err((*id, TransferRefusal::NotFound)),
            Some(c) => rule(&c.lead).map(|()| c).map_err(|refusal| (*id, refusal)),
        })
        .collect()
}

/// DB 분배: every lead of `ids` goes from `leader` to `recipient`, unused for them, with
/// `leader` as its distributor; refused as a whole by the first lead `leader` may not
/// distribute ([`Lead::check_distribute`]).
///
/// # Errors
/// The first refusal, in request order.
pub fn plan_distribution(
    ids: &[Uuid],
    candidates: &[TransferCandidate],
    leader: &User,
    recipient: &User,
    at: OffsetDateTime,
) -> Result<Vec<Handover>, (Uuid, TransferRefusal)> {
    let chosen = in_request_order(ids, candidates, |lead| lead.check_distribute(leader.id))?;
    Ok(chosen
        .into_iter()
        .filter_map(|c| {
            let open = c.lead.assignment.as_ref()?;
            Some(Handover {
                lead_id: c.lead.id,
                ends: open.id,
                next: NextAssignment {
                    owner_user_id: recipient.id,
                    owner_org_id: recipient.org_id,
                    owner_mohom_id: recipient.mohom_id.clone(),
                    source: AssignmentSource::Distributed,
                    distributor_user_id: Some(leader.id),
                    used_at: None,
                    order_line_id: None,
                    restored_from_id: Some(open.id),
                    assigned_at: at,
                },
            })
        })
        .collect())
}

/// DB 분배 회수: every lead of `ids` comes back to `leader` with exactly the rights they
/// had before it was handed over: that earlier assignment's `usedAt`, distributor, order
/// line and own origin (a lead the leader had used is still used for them); refused as a
/// whole by the first lead `leader` may not recall ([`Lead::check_recall`]).
///
/// # Errors
/// The first refusal, in request order.
pub fn plan_recall(
    ids: &[Uuid],
    candidates: &[TransferCandidate],
    leader: &User,
    at: OffsetDateTime,
) -> Result<Vec<Handover>, (Uuid, TransferRefusal)> {
    let chosen = in_request_order(ids, candidates, |lead| lead.check_recall(leader.id))?;
    Ok(chosen
        .into_iter()
        .filter_map(|c| {
            let open = c.lead.assignment.as_ref()?;
            let before = c.handed_over_from.as_ref();
            Some(Handover {
                lead_id: c.lead.id,
                ends: open.id,
                next: NextAssignment {
                    owner_user_id: leader.id,
                    owner_org_id: leader.org_id,
                    owner_mohom_id: leader.mohom_id.clone(),
                    source: AssignmentSource::Recalled,
                    distributor_user_id: before.and_then(|b| b.distributor_user_id),
                    used_at: before.and_then(|b| b.used_at),
                    order_line_id: before.and_then(|b| b.order_line_id),
                    restored_from_id: before.and_then(|b| b.restored_from_id),
                    assigned_at: at,
                },
            })
        })
        .collect())
}

/// The ids of a request's `leadIds`: 1 to `max`, each a UUID, none twice.
///
/// # Errors
/// Names `leadIds` for an empty or too long list, `leadIds[i]` for a malformed or repeated id.
pub fn parse_lead_ids(raw: &[String], max: usize) -> Result<Vec<Uuid>, ValidationError> {
    if raw.is_empty() || raw.len() > max {
        return Err(ValidationError::single("leadIds", format!("must hold 1 to {max} ids")));
    }
    let mut seen = std::collections::HashSet::new();
    raw.iter()
        .enumerate()
        .map(|(i, text)| {
            let id: Uuid =
                text.parse().map_err(|_| ValidationError::single(format!("leadIds[{i}]"), "must be a UUID"))?;
            if seen.insert(id) {
                Ok(id)
            } else {
                Err(ValidationError::single(format!("leadIds[{i}]"), "is a duplicate"))
            }
        })
        .collect()
}

impl Lead {
    /// Whether `leader` may distribute this lead: they own it and no AS is open.
    ///
    /// # Errors
    /// The refusal.
    pub fn check_distribute(&self, leader: Uuid) -> Result<(), TransferRefusal> {
        match &self.assignment {
            Some(a) if a.owner_user_id == leader => {}
            _ => return Err(TransferRefusal::NotFound),
        }
        if self.has_open_as() {
            return Err(TransferRefusal::OpenAs);
        }
        Ok(())
    }

    /// Whether `leader` may recall this lead: they distributed the open assignment to
    /// someone else (directly, or it came back to its holder by a recall that restored
    /// `leader` as its distributor), who has not used it, and no AS is open.
    ///
    /// # Errors
    /// The refusal.
    pub fn check_recall(&self, leader: Uuid) -> Result<(), TransferRefusal> {
        let Some(a) = &self.assignment else { return Err(TransferRefusal::NotFound) };
        if a.distributor_user_id != Some(leader) || a.owner_user_id == leader {
            return Err(TransferRefusal::NotFound);
        }
        if a.used_at.is_some() {
            return Err(TransferRefusal::AlreadyUsed);
        }
        if self.has_open_as() {
            return Err(TransferRefusal::OpenAs);
        }
        Ok(())
    }

    /// An AS request that is neither decided nor cancelled.
    #[must_use]
    pub fn has_open_as(&self) -> bool {
        matches!(self.latest_as(), Some(AsStatus::Requested | AsStatus::InReview))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    fn fields() -> LeadFields<'static> {
        LeadFields {
            product_id: Some("0192f5c2-0000-7000-8000-000000000001"),
            name: Some("홍길동"),
            phone: Some("010-1234-5678"),
            region: Some("서울"),
            birth_date: Some("1985-03-12"),
            gender: Some("male"),
            ..LeadFields::default()
        }
    }

    #[test]
    fn a_lead_parses_with_optional_fields() {
        let lead = NewLead::parse(&fields(), date!(2026 - 11 - 24)).unwrap();
        assert_eq!(lead.pii.phone.e164(), "+821012345678");
        assert_eq!(lead.gender, Some(Gender::Male));
        assert_eq!(lead.pii.birth_date, Some(date!(1985 - 03 - 12)));
    }

    #[test]
    fn the_debug_of_a_lead_and_its_fields_prints_no_personal_data() {
        let planted = LeadFields {
            email: Some("gildong.planted@example.com"),
            address: Some("서울 강남구 테헤란로 427"),
            memo: Some("계약 희망, 저녁 연락"),
            ..fields()
        };
        let lead = NewLead::parse(&planted, date!(2026 - 11 - 24)).unwrap();
        for printed in [format!("{:?}", lead.pii), format!("{lead:?}"), format!("{planted:?}"), format!("{planted:#?}")]
        {
            for value in ["홍길동", "1234", "5678", "gildong", "테헤란로", "계약", "1985"] {
                assert!(!printed.contains(value), "{value} in {printed}");
            }
            assert!(printed.contains("***"), "{printed}");
        }
        assert!(format!("{planted:?}").contains("서울"), "the region is not personal data: {planted:?}");
    }

    #[test]
    fn every_missing_or_bad_field_is_named() {
        let bad = LeadFields {
            product_id: Some("x"),
            name: None,
            phone: Some("12"),
            birth_date: Some("2999-01-01"),
            gender: Some("?"),
            ..fields()
        };
        let err = NewLead::parse(&bad, date!(2026 - 11 - 24)).err().unwrap();
        let names: Vec<&str> = err.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["name", "productId", "phone", "birth_date", "gender"]);
    }

    #[test]
    fn metadata_is_capped_at_8_kib_serialized() {
        let at_cap = LeadFields { metadata: Some("x".repeat(MAX_METADATA_BYTES)), ..fields() };
        assert!(NewLead::parse(&at_cap, date!(2026 - 11 - 24)).is_ok());
        let over = LeadFields { metadata: Some("x".repeat(MAX_METADATA_BYTES + 1)), name: None, ..fields() };
        let err = NewLead::parse(&over, date!(2026 - 11 - 24)).err().unwrap();
        assert_eq!(
            err.0,
            [FieldError::new("name", "is required"), FieldError::new("metadata", "must be at most 8 KiB")],
            "reported with every other bad field"
        );
    }

    /// Every form [`PHONE_PATTERN`] describes is a number [`PhoneNumber::parse`] takes.
    #[test]
    fn every_form_of_the_phone_pattern_parses() {
        let mut checked = 0;
        for sep in ["", " ", "-"] {
            for code in ["+82", "+82 ", "+82-", "0"] {
                for second in ["0", "1", "6", "7", "8", "9"] {
                    for middle in ["123", "1234"] {
                        let number = format!("{code}1{second}{sep}{middle}{sep}5678");
                        assert!(PhoneNumber::parse(&number).is_ok(), "{number}");
                        checked += 1;
                    }
                }
            }
            for code in ["+84", "+84 ", "+84-", "0"] {
                for first in ['3', '5', '7', '8', '9'] {
                    for number in
                        [format!("{code}{first}9{sep}123{sep}4567"), format!("{code}{first}99{sep}333{sep}999")]
                    {
                        assert!(PhoneNumber::parse(&number).is_ok(), "{number}");
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 3 * (4 * 6 * 2 + 4 * 5 * 2));
    }

    #[test]
    fn lead_id_lists_hold_1_to_max_distinct_uuids() {
        let id = Uuid::from_u128(1).to_string();
        assert_eq!(parse_lead_ids(std::slice::from_ref(&id), 2).unwrap(), [Uuid::from_u128(1)]);
        let named = |raw: &[String], max| parse_lead_ids(raw, max).unwrap_err().0[0].clone();
        assert_eq!(named(&[], 2), FieldError::new("leadIds", "must hold 1 to 2 ids"));
        assert_eq!(named(&[id.clone(), id.clone(), id.clone()], 2).field, "leadIds");
        assert_eq!(named(&[id.clone(), id.clone()], 2), FieldError::new("leadIds[1]", "is a duplicate"));
        assert_eq!(named(&["x".to_owned()], 2), FieldError::new("leadIds[0]", "must be a UUID"));
    }

    fn lead(owner: Uuid, used: bool, distributor: Option<Uuid>) -> Lead {
        let at = datetime!(2026-11-24 10:00 UTC);
        Lead {
            id: Uuid::nil(),
            product_id: Uuid::nil(),
            product_name: "p".into(),
            provider_org_id: Uuid::nil(),
            region: "서울".into(),
            gender: None,
            metadata: None,
            status: LeadStatus::Assigned,
            pii: NewLead::parse(&fields(), date!(2026 - 11 - 24)).unwrap().pii,
            assignment: Some(CurrentAssignment {
                id: Uuid::nil(),
                owner_user_id: owner,
                source: if distributor.is_some() {
                    AssignmentSource::Distributed
                } else {
                    AssignmentSource::Registered
                },
                distributor_user_id: distributor,
                assigned_at: at,
                used_at: used.then_some(at),
            }),
            last_distributed_at: None,
            as_statuses: vec![],
            created_at: at,
        }
    }

    #[test]
    fn the_masking_matrix_holds() {
        let (owner, leader, other) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        assert_eq!(lead(owner, false, None).visibility_for(owner), Visibility::Masked);
        assert_eq!(lead(owner, true, None).visibility_for(owner), Visibility::Revealed);
        assert_eq!(
            lead(owner, true, Some(leader)).visibility_for(leader),
            Visibility::Masked,
            "the distributor never sees plain PII"
        );
        assert_eq!(lead(owner, true, None).visibility_for(other), Visibility::Hidden);
    }

    #[test]
    fn distribution_and_recall_rules_hold() {
        let (owner, leader, other) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        assert_eq!(lead(leader, false, None).check_distribute(leader), Ok(()));
        assert_eq!(lead(owner, false, None).check_distribute(leader), Err(TransferRefusal::NotFound));
        let mut with_as = lead(leader, false, None);
        with_as.as_statuses = vec![AsStatus::Requested];
        assert_eq!(with_as.check_distribute(leader), Err(TransferRefusal::OpenAs));
        with_as.as_statuses = vec![AsStatus::Rejected, AsStatus::Requested];
        assert_eq!(with_as.check_distribute(leader), Ok(()), "only the latest AS counts");

        assert_eq!(lead(owner, false, Some(leader)).check_recall(leader), Ok(()));
        assert_eq!(lead(owner, true, Some(leader)).check_recall(leader), Err(TransferRefusal::AlreadyUsed));
        assert_eq!(
            lead(owner, false, Some(other)).check_recall(leader),
            Err(TransferRefusal::NotFound),
            "someone else distributed it"
        );
        assert_eq!(lead(owner, false, None).check_recall(leader), Err(TransferRefusal::NotFound));
    }

    #[test]
    fn as_labels_are_korean_and_cancelled_does_not_count() {
        assert_eq!(AsStatus::InReview.label(), "검토중");
        assert!(!AsStatus::Cancelled.counts_as_has_as());
        assert!(AsStatus::Rejected.counts_as_has_as());
    }

    #[test]
    fn yn_filters_accept_only_y_and_n() {
        assert_eq!(parse_yn(Some("Y"), "used").unwrap(), Some(true));
        assert_eq!(parse_yn(None, "used").unwrap(), None);
        assert!(parse_yn(Some("yes"), "used").is_err());
    }

    #[test]
    fn search_text_picks_its_index() {
        assert!(matches!(LeadSearch::parse("+84 399 333 999"), Ok(LeadSearch::Phone(_))));
        assert!(matches!(LeadSearch::parse("3999"), Ok(LeadSearch::PhoneLast4(_))));
        assert!(matches!(LeadSearch::parse("실손"), Ok(LeadSearch::NameOrProduct { .. })));
    }
}
