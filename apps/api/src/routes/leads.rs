//! LDBDS v1 leads (seed 000): register, the owned list, one lead, use, contacts,
//! distribution and recall.
//!
//! Handlers extract, call `domain::service::leads`, and shape the reply: every rule
//! (ownership, visibility, the leader's role, the reveal log) is decided there.
//!
//! Every lead response has the seed's fields exactly (`birth_date` stays snake case).
//! PII is masked unless the caller owns the lead and has used it; a lead the caller
//! neither owns nor distributed is 404. Every reveal of plain PII is written to the PII
//! access log, committed before the response is built (a reveal that cannot be logged
//! fails).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::error::FieldError;
use domain::identity::User;
use domain::lead::{
    AssignmentRecord, AwaySortKey, Gender, Lead, LeadFields, LeadSearch, ListFilter, MAX_CONTACT_IDS, OwnedSortKey,
    Visibility, parse_lead_ids, parse_yn,
};
use domain::pagination::{PageRequest, SortKey};
use domain::pii::mask;
use domain::ports::{Clock, LeadRepository, ReferenceRepository, UserRepository};
use domain::principal::Principal;
use domain::service::leads::{LeadService, RevealTrace};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, acting_user, limit_reveal, limit_search};
use crate::error::{ApiError, ErrorResponse, reveal_refusal_code};
use crate::extract::{ActingBody, ActingQuery, lead_id, optional_body};
use crate::idempotency;
use crate::params::{PageParams, SortParams, page_and_sort};
use crate::state::AppState;
use crate::wire::{Pagination, ProductRef, timestamp};

mod transfers;

pub use self::transfers::*;

pub fn configure(cfg: &mut web::ServiceConfig) {
    // `distributed-away` before `{leadId}`: the literal path must win.
    cfg.service(create_lead)
        .service(list_owned)
        .service(distributed_away)
        .service(contacts)
        .service(distribute)
        .service(recall)
        .service(get_lead)
        .service(use_lead);
}

/// The leads use cases over the state's repositories.
fn leads(
    state: &AppState,
) -> LeadService<'_, impl LeadRepository, impl ReferenceRepository, impl UserRepository, dyn Clock> {
    LeadService::new(&state.leads, &state.reference, &state.member_users, &*state.clock)
}

/// The member a call acts for, and the caller acting as them.
async fn member(state: &AppState, caller: &Caller, mohom_id: Option<&str>) -> Result<(User, Principal), ApiError> {
    let user = acting_user(state, caller, mohom_id).await?;
    Ok((user.clone(), caller.principal().acting_as(user)))
}

/// Where a reveal happens, for the access log.
fn trace(endpoint: &'static str) -> RevealTrace {
    RevealTrace { endpoint, request_id: crate::request_id::current() }
}

/// A lead, with the seed's field names.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadDto {
    pub id: Uuid,
    pub product_id: Uuid,
    pub product: ProductRef,
    /// Plain only for the owner of a used lead; masked otherwise.
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    pub region: String,
    pub address: Option<String>,
    #[serde(rename = "birth_date")]
    pub birth_date: Option<String>,
    pub gender: Option<String>,
    pub memo: Option<String>,
    pub assignment_id: Option<Uuid>,
    pub used_at: Option<String>,
    pub assigned_at: Option<String>,
    pub last_distributed_at: Option<String>,
    /// Free-form JSON object (never PII), or null.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
    pub lead_as: Vec<LeadAsRef>,
    pub lead_as_status: Option<String>,
    pub lead_as_status_label: Option<String>,
}

impl LeadDto {
    fn new(lead: &Lead, visibility: Visibility) -> Self {
        let plain = visibility == Visibility::Revealed;
        let pii = &lead.pii;
        let pick = |plain_value: String, masked: String| if plain { plain_value } else { masked };
        let national = pii.phone.national();
        let latest = lead.latest_as();
        Self {
            id: lead.id,
            product_id: lead.product_id,
            product: ProductRef { id: lead.product_id, name: lead.product_name.clone() },
            name: pick(pii.name.as_str().to_owned(), mask::mask_name(pii.name.as_str())),
            phone: pick(national.clone(), mask::mask_phone(&national)),
            email: pii.email.as_ref().map(|e| pick(e.as_str().to_owned(), mask::mask_email(e.as_str()))),
            region: lead.region.clone(),
            address: pii.address.as_ref().map(|a| pick(a.clone(), mask::mask_address(a))),
            birth_date: pii.birth_date.map(|d| pick(d.to_string(), mask::mask_birth_date(&d.to_string()))),
            gender: lead.gender.map(|g| g.as_str().to_owned()),
            memo: pii.memo.as_ref().map(|m| pick(m.clone(), "***".to_owned())),
            assignment_id: lead.assignment.as_ref().map(|a| a.id),
            used_at: lead.assignment.as_ref().and_then(|a| a.used_at).map(timestamp),
            assigned_at: lead.assignment.as_ref().map(|a| timestamp(a.assigned_at)),
            last_distributed_at: lead.last_distributed_at.map(timestamp),
            metadata: lead.metadata.as_deref().and_then(|m| serde_json::from_str(m).ok()),
            lead_as: lead.as_statuses.iter().map(|s| LeadAsRef { status: s.as_str().to_owned() }).collect(),
            lead_as_status: latest.map(|s| s.as_str().to_owned()),
            lead_as_status_label: latest.map(|s| s.label().to_owned()),
        }
    }
}

/// One AS request of a lead.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadAsRef {
    /// `REQUESTED`, `IN_REVIEW`, `APPROVED`, `REJECTED` or `CANCELLED`.
    pub status: String,
}

/// DB 단건 등록.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateLeadV1Request {
    #[schema(pattern = "^[A-Za-z0-9._@:-]{1,128}$")]
    pub mohom_id: Option<String>,
    #[schema(format = Uuid)]
    pub product_id: String,
    /// 1 to 100 characters, no control characters.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// A Korean or Vietnamese mobile number (`010-1234-5678`, `+84 399 333 999`; dots,
    /// parentheses and `0082`/`0084` are read too).
    #[schema(
        pattern = r"^(?:(?:\+82[ -]?|0)1[016789][ -]?[0-9]{3,4}[ -]?[0-9]{4}|(?:\+84[ -]?|0)[35789](?:[0-9][ -]?[0-9]{3}[ -]?[0-9]{4}|[0-9]{2}[ -]?[0-9]{3}[ -]?[0-9]{3}))$"
    )]
    pub phone: String,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    /// A region `code` of `GET /api/v1/regions`.
    #[schema(min_length = 1, example = "서울")]
    pub region: String,
    /// At most 300 characters, no control characters but line feeds.
    #[schema(max_length = 300, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub address: Option<String>,
    /// `YYYY-MM-DD`, from 1900-01-01 to today.
    #[serde(rename = "birth_date")]
    #[schema(pattern = r"^(?:19[0-9]{2}|20[0-9]{2})-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$")]
    pub birth_date: Option<String>,
    /// `MALE` or `FEMALE`.
    #[schema(schema_with = gender_code)]
    pub gender: Option<String>,
    /// At most 2000 characters, no control characters but line feeds.
    #[schema(max_length = 2000, pattern = r"^[^\x00-\x09\x0b-\x1f\x7f-\x9f]*$")]
    pub memo: Option<String>,
    /// A JSON object (at most 8 KiB serialized), never PII.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// `gender`: `MALE`, `FEMALE` or null (`domain::lead::Gender`).
fn gender_code() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
    let mut values: Vec<serde_json::Value> = Gender::ALL.iter().map(|g| g.as_str().into()).collect();
    values.push(serde_json::Value::Null);
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
        .enum_values(Some(values))
        .description(Some("`MALE` or `FEMALE`."))
        .build()
}

impl CreateLeadV1Request {
    /// The lead fields of this request, `metadata` serialized (an object, or none).
    fn fields(&self) -> Result<LeadFields<'_>, ApiError> {
        let metadata = match &self.metadata {
            None | Some(serde_json::Value::Null) => None,
            Some(value @ serde_json::Value::Object(_)) => Some(value.to_string()),
            Some(_) => return Err(ApiError::invalid("metadata", "must be a JSON object")),
        };
        Ok(LeadFields {
            product_id: Some(&self.product_id),
            name: Some(&self.name),
            phone: Some(&self.phone),
            email: self.email.as_deref(),
            region: Some(&self.region),
            address: self.address.as_deref(),
            birth_date: self.birth_date.as_deref(),
            gender: self.gender.as_deref(),
            memo: self.memo.as_deref(),
            metadata,
        })
    }
}

/// The registered lead.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadCreated {
    pub id: Uuid,
    pub assignment_id: Uuid,
    pub created_at: String,
}

/// The idempotency scope of a member-scoped call.
fn replay_scope(caller: &Caller, member: &User) -> idempotency::Principal {
    idempotency::Principal::acting(caller, member)
}

/// DB 단건 등록: a lead the member found, owned at once (`REGISTERED`).
#[utoipa::path(
    tag = "leads",
    request_body = CreateLeadV1Request,
    responses(
        (status = 201, body = LeadCreated, description = "the lead and its assignment"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED or INVALID_JSON"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND or PRODUCT_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/leads")]
pub async fn create_lead(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<CreateLeadV1Request>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let (owner, principal) = member(&state, &caller, body.mohom_id.as_deref()).await?;
    idempotency::run(&state, &replay_scope(&caller, &owner), &req, &body, || async {
        let created = leads(&state).register(&principal, &body.fields()?).await?;
        let reply = LeadCreated {
            id: created.id,
            assignment_id: created.assignment_id,
            created_at: timestamp(created.created_at),
        };
        Ok((StatusCode::CREATED, reply))
    })
    .await
}

/// Owned-list filters (소유 DB 리스트).
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct OwnedFilter {
    /// The user the call acts for (required with an API key).
    pub mohom_id: Option<String>,
    /// `Y`: used leads only; `N`: unused only.
    pub used: Option<String>,
    /// `Y`: the latest AS exists and is not `CANCELLED`; `N`: the others.
    pub has_as: Option<String>,
    pub product_id: Option<String>,
    /// The supplying organization.
    pub provider_id: Option<String>,
    /// A full phone (any format), its last 4 digits, a full email, an exact name, or part
    /// of the product name.
    pub search: Option<String>,
}

/// 소유 DB 리스트 response.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadsListResponse {
    pub data: Vec<LeadDto>,
    pub pagination: Pagination,
}

fn optional_uuid(raw: Option<&str>, field: &str, errors: &mut Vec<FieldError>) -> Option<Uuid> {
    let raw = raw.map(str::trim)?;
    raw.parse().map_err(|_| errors.push(FieldError::new(field, "must be a UUID"))).ok()
}

/// Parses the filters shared by both lead lists, reporting every bad one at once.
fn list_filter<K: SortKey + Into<domain::lead::ListSortColumn>>(
    filter: &OwnedFilter,
    page: &PageParams,
    sort: &SortParams,
) -> Result<ListFilter, ApiError> {
    let mut errors = Vec::new();
    let paging = page_and_sort::<K>(page, sort).map_err(|e| {
        if let ApiError::Validation(d) = e {
            errors.extend(d);
        }
    });
    let used = parse_yn(filter.used.as_deref(), "used").map_err(|e| errors.extend(e.0)).ok().flatten();
    let has_as = parse_yn(filter.has_as.as_deref(), "hasAs").map_err(|e| errors.extend(e.0)).ok().flatten();
    let product_id = optional_uuid(filter.product_id.as_deref(), "productId", &mut errors);
    let provider_id = optional_uuid(filter.provider_id.as_deref(), "providerId", &mut errors);
    let search = filter
        .search
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .and_then(|s| LeadSearch::parse(s).map_err(|e| errors.extend(e.0)).ok());
    let (page, sort): (PageRequest, domain::pagination::Sort<K>) = match paging {
        Ok(ps) if errors.is_empty() => ps,
        _ => return Err(ApiError::Validation(errors)),
    };
    Ok(ListFilter {
        used,
        has_as,
        product_id,
        provider_id,
        search,
        page,
        sort_column: sort.key.into(),
        sort_order: sort.order,
    })
}

/// 소유 DB 리스트: the caller's leads; contacts masked unless the lead is used.
///
/// `sortBy`: `assignedAt` (default) or `usedAt` (unused leads last).
#[utoipa::path(
    tag = "leads",
    params(OwnedFilter, PageParams, SortParams),
    responses(
        (status = 200, body = LeadsListResponse, description = "one page of owned leads"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/leads")]
pub async fn list_owned(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<OwnedFilter>,
    page: web::Query<PageParams>,
    sort: web::Query<SortParams>,
) -> Result<HttpResponse, ApiError> {
    let (owner, principal) = member(&state, &caller, filter.mohom_id.as_deref()).await?;
    let list = list_filter::<OwnedSortKey>(&filter, &page, &sort)?;
    if list.search.is_some() {
        limit_search(&state, owner.id)?;
    }
    let page = leads(&state).list_owned(&principal, list, &trace("GET /api/v1/leads")).await?;
    Ok(HttpResponse::Ok().json(LeadsListResponse {
        pagination: Pagination::from(&page),
        data: page.items.iter().map(|s| LeadDto::new(&s.lead, s.visibility)).collect(),
    }))
}

/// A lead in the distributed-away list: always masked, with its current owner.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DistributedLeadDto {
    #[serde(flatten)]
    pub lead: LeadDto,
    /// The user who owns it now.
    pub current_owner_id: Uuid,
    /// When the caller distributed it (`lastDistributedAt`).
    pub distributed_at: Option<String>,
}

/// 기분배 DB 리스트 response.
#[derive(Debug, Serialize, ToSchema)]
pub struct DistributedAwayResponse {
    pub data: Vec<DistributedLeadDto>,
    pub pagination: Pagination,
}

/// 기분배 DB 리스트: leads the caller distributed that another user now owns
/// (recallable while unused). Contacts and email are always masked. `sortBy`:
/// `distributedAt` (default, on `lastDistributedAt`) or `usedAt`.
#[utoipa::path(
    tag = "leads",
    params(OwnedFilter, PageParams, SortParams),
    responses(
        (status = 200, body = DistributedAwayResponse, description = "one page of distributed leads"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/leads/distributed-away")]
pub async fn distributed_away(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<OwnedFilter>,
    page: web::Query<PageParams>,
    sort: web::Query<SortParams>,
) -> Result<HttpResponse, ApiError> {
    let (leader, principal) = member(&state, &caller, filter.mohom_id.as_deref()).await?;
    let list = list_filter::<AwaySortKey>(&filter, &page, &sort)?;
    if list.search.is_some() {
        limit_search(&state, leader.id)?;
    }
    let page = leads(&state).distributed_away(&principal, list).await?;
    let data = page
        .items
        .iter()
        .map(|l| DistributedLeadDto {
            lead: LeadDto::new(l, Visibility::Masked),
            current_owner_id: l.assignment.as_ref().map_or(Uuid::nil(), |a| a.owner_user_id),
            distributed_at: l.last_distributed_at.map(timestamp),
        })
        .collect();
    Ok(HttpResponse::Ok().json(DistributedAwayResponse { pagination: Pagination::from(&page), data }))
}

/// A UUID in its hyphenated form (what every id this API returns looks like).
const UUID_PATTERN: &str = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";

/// `leadIds` of at most `max` distinct ids ([`parse_lead_ids`]).
pub(crate) fn lead_ids(max: usize, description: &str) -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
    let id = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .pattern(Some(UUID_PATTERN));
    ArrayBuilder::new()
        .items(id)
        .description(Some(description))
        .min_items(Some(1))
        .max_items(Some(max))
        .unique_items(true)
        .build()
}

fn contact_ids() -> utoipa::openapi::schema::Array {
    lead_ids(MAX_CONTACT_IDS, "At most 100 distinct lead ids.")
}

/// One period of ownership.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AssignmentDto {
    pub id: Uuid,
    /// `ORDER`, `REGISTERED`, `DISTRIBUTED`, `RECALLED` or `REPLACEMENT`.
    pub source: String,
    pub owner_id: Uuid,
    pub distributor_id: Option<Uuid>,
    pub assigned_at: String,
    pub used_at: Option<String>,
    pub ended_at: Option<String>,
    pub end_reason: Option<String>,
}

impl From<&AssignmentRecord> for AssignmentDto {
    fn from(a: &AssignmentRecord) -> Self {
        Self {
            id: a.id,
            source: a.source.as_str().to_owned(),
            owner_id: a.owner_user_id,
            distributor_id: a.distributor_user_id,
            assigned_at: timestamp(a.assigned_at),
            used_at: a.used_at.map(timestamp),
            ended_at: a.ended_at.map(timestamp),
            end_reason: a.end_reason.clone(),
        }
    }
}

/// 소유 DB 단건 조회 response: the lead and its ownership history.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadDetail {
    #[serde(flatten)]
    pub lead: LeadDto,
    pub assignments: Vec<AssignmentDto>,
}

/// The literal paths beside `/api/v1/leads/{leadId}` that take POST only: a GET there is
/// a wrong method (405), not a malformed lead id (400).
pub const POST_ONLY_SIBLINGS: [&str; 3] =
    ["/api/v1/leads/contacts", "/api/v1/leads/distribute", "/api/v1/leads/recall"];

fn not_a_sibling(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    !POST_ONLY_SIBLINGS.contains(&ctx.head().uri.path())
}

/// 소유 DB 단건 조회: owner only; masked unless used; with the assignment history.
#[utoipa::path(
    tag = "leads",
    params(("leadId" = Uuid, Path, description = "Lead id"), ActingQuery),
    responses(
        (status = 200, body = LeadDetail, description = "the lead"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "LEAD_NOT_FOUND (unknown or not yours)"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/leads/{leadId}", guard = "not_a_sibling")]
pub async fn get_lead(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ActingQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = lead_id(&path)?;
    let (_, principal) = member(&state, &caller, query.mohom_id.as_deref()).await?;
    let detail = leads(&state).detail(&principal, id, &trace("GET /api/v1/leads/{leadId}")).await?;
    Ok(HttpResponse::Ok().json(LeadDetail {
        lead: LeadDto::new(&detail.shown.lead, detail.shown.visibility),
        assignments: detail.history.iter().map(AssignmentDto::from).collect(),
    }))
}

/// DB 사용처리: marks the lead used (idempotent: the same `usedAt` every time) and
/// returns it unmasked; the reveal is logged.
#[utoipa::path(
    tag = "leads",
    params(("leadId" = Uuid, Path, description = "Lead id"), ActingQuery),
    request_body(content = Option<ActingBody>, description = "`mohomId` here or in the query"),
    responses(
        (status = 200, body = LeadDto, description = "the lead, unmasked"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "LEAD_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/leads/{leadId}/use")]
pub async fn use_lead(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ActingQuery>,
    req: HttpRequest,
    body: Result<web::Json<Option<ActingBody>>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let body = optional_body(&req, body)?;
    let id = lead_id(&path)?;
    let mohom = body.and_then(|b| b.mohom_id).or_else(|| query.mohom_id.clone());
    let (owner, principal) = member(&state, &caller, mohom.as_deref()).await?;
    limit_reveal(&state, owner.id)?;
    let lead = leads(&state)
        .use_lead(&principal, id, &trace("POST /api/v1/leads/{leadId}/use"))
        .await
        .map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(LeadDto::new(&lead, Visibility::Revealed)))
}

/// Lead ID 목록으로 이름·연락처(복호화) 조회.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactsRequest {
    #[schema(pattern = "^[A-Za-z0-9._@:-]{1,128}$")]
    pub mohom_id: Option<String>,
    /// At most 100 distinct lead ids.
    #[schema(schema_with = contact_ids)]
    pub lead_ids: Vec<String>,
}

/// One revealed contact.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactDto {
    pub id: Uuid,
    pub name: String,
    pub phone: String,
}

/// An id that was not revealed, and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct RejectedContact {
    pub id: Uuid,
    /// `LEAD_NOT_FOUND` (unknown or not yours) or `LEAD_NOT_USED`.
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactsResponse {
    pub data: Vec<ContactDto>,
    pub rejected: Vec<RejectedContact>,
}

/// 이름·연락처(복호화) 조회: plain name and phone of used leads the caller owns; the
/// others are listed in `rejected`, never revealed. Each reveal is logged.
#[utoipa::path(
    tag = "leads",
    request_body = ContactsRequest,
    responses(
        (status = 200, body = ContactsResponse, description = "revealed contacts and refusals"),
        (status = 400, body = ErrorResponse, description = "empty, over 100, duplicate or malformed ids"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/leads/contacts")]
pub async fn contacts(
    state: web::Data<AppState>,
    caller: Caller,
    body: web::Json<ContactsRequest>,
) -> Result<HttpResponse, ApiError> {
    let ids = parse_lead_ids(&body.lead_ids, MAX_CONTACT_IDS)?;
    let (owner, principal) = member(&state, &caller, body.mohom_id.as_deref()).await?;
    limit_reveal(&state, owner.id)?;
    let outcomes = leads(&state).contacts(&principal, &ids, &trace("POST /api/v1/leads/contacts")).await?;
    let (mut data, mut rejected) = (Vec::new(), Vec::new());
    for (id, outcome) in outcomes {
        match outcome {
            Ok(lead) => {
                data.push(ContactDto { id, name: lead.pii.name.as_str().to_owned(), phone: lead.pii.phone.national() })
            }
            Err(refusal) => rejected.push(RejectedContact { id, reason: reveal_refusal_code(refusal).to_owned() }),
        }
    }
    Ok(HttpResponse::Ok().json(ContactsResponse { data, rejected }))
}
