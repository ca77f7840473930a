//! LDBDS v1 leads (seed 000): register, the owned list, one lead, use, contacts.
//!
//! Every lead response has the seed's fields exactly (`birth_date` stays snake case).
//! PII is masked unless the caller owns the lead and has used it; a lead the caller
//! neither owns nor distributed is 404. Every reveal of plain PII is written to the PII
//! access log, committed before the response is built (a reveal that cannot be logged
//! fails).

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::error::FieldError;
use domain::identity::Role;
use domain::identity::User;
use domain::lead::{
    AssignmentRecord, AwaySortKey, Lead, LeadFields, LeadSearch, ListScope, NewLead, OwnedQuery, OwnedSortKey,
    TransferRefusal, Visibility, parse_yn,
};
use domain::pagination::{PageRequest, SortKey, SortOrder};
use domain::pii::mask;
use domain::ports::{PiiAccess, ReferenceRepository};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, acting_user, limit_reveal, limit_search};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ActingBody, ActingQuery, lead_id, optional_body};
use crate::gate::LeaderOrKey;
use crate::idempotency::Principal;
use crate::params::{PageParams, SortParams, page_and_sort};
use crate::state::AppState;
use crate::wire::{Pagination, timestamp};

/// The most ids `POST /api/v1/leads/contacts` takes.
pub const MAX_CONTACT_IDS: usize = 100;

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

fn lead_not_found() -> ApiError {
    ApiError::not_found("LEAD_NOT_FOUND", "no such lead among yours")
}

/// The product of a lead.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductRef {
    pub id: Uuid,
    pub name: String,
}

/// One AS request of a lead.
#[derive(Debug, Serialize, ToSchema)]
pub struct LeadAsRef {
    /// `REQUESTED`, `IN_REVIEW`, `APPROVED`, `REJECTED` or `CANCELLED`.
    pub status: String,
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

fn access(state: &AppState, caller: &Caller, user: &User, endpoint: &str, fields: Vec<&'static str>) -> PiiAccess {
    PiiAccess {
        org_id: user.org_id,
        user_id: Some(user.id),
        actor: caller.actor(),
        subject_kind: "lead",
        subject_id: Uuid::nil(),
        fields,
        endpoint: endpoint.to_owned(),
        request_id: crate::request_id::current(),
        at: state.clock.now(),
    }
}

const REVEALED_FIELDS: [&str; 6] = ["name", "phone", "email", "address", "birth_date", "memo"];

/// DB 단건 등록.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateLeadV1Request {
    pub mohom_id: Option<String>,
    pub product_id: String,
    pub name: String,
    pub phone: String,
    pub email: Option<String>,
    /// A region `code` of `GET /api/v1/regions`.
    pub region: String,
    pub address: Option<String>,
    #[serde(rename = "birth_date")]
    pub birth_date: Option<String>,
    /// `MALE` or `FEMALE`.
    pub gender: Option<String>,
    pub memo: Option<String>,
    /// A JSON object (at most 8 KiB serialized), never PII.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Value>,
}

/// The registered lead.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct LeadCreated {
    pub id: Uuid,
    pub assignment_id: Uuid,
    pub created_at: String,
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
    let owner = acting_user(&state, &caller, body.mohom_id.as_deref()).await?;
    crate::idempotency::run(&state, &Principal::acting(&caller, &owner), &req, &body, || async {
        let metadata = match &body.metadata {
            None | Some(serde_json::Value::Null) => None,
            Some(value @ serde_json::Value::Object(_)) => {
                let text = value.to_string();
                if text.len() > 8192 {
                    return Err(ApiError::invalid("metadata", "must be at most 8 KiB"));
                }
                Some(text)
            }
            Some(_) => return Err(ApiError::invalid("metadata", "must be a JSON object")),
        };
        let today = state.clock.now().date();
        let new = NewLead::parse(
            &LeadFields {
                product_id: Some(&body.product_id),
                name: Some(&body.name),
                phone: Some(&body.phone),
                email: body.email.as_deref(),
                region: Some(&body.region),
                address: body.address.as_deref(),
                birth_date: body.birth_date.as_deref(),
                gender: body.gender.as_deref(),
                memo: body.memo.as_deref(),
                metadata,
            },
            today,
        )?;
        let regions = state.reference.list_regions(None).await?;
        if !regions.iter().any(|r| r.code == new.region) {
            return Err(ApiError::invalid("region", "must be a code of GET /api/v1/regions"));
        }
        if state.reference.find_product(new.product_id).await?.is_none() {
            return Err(ApiError::not_found("PRODUCT_NOT_FOUND", format!("product {} does not exist", new.product_id)));
        }
        let (id, assignment_id) = state.leads.register(&owner, &new, state.clock.now()).await?;
        let created = LeadCreated { id, assignment_id, created_at: timestamp(state.clock.now()) };
        Ok((StatusCode::CREATED, created))
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
    let owner = acting_user(&state, &caller, filter.mohom_id.as_deref()).await?;
    let query = list_query::<OwnedSortKey>(ListScope::Owned(owner.id), &filter, &page, &sort)?;
    if query.search.is_some() {
        limit_search(&state, owner.id)?;
    }
    let result = state.leads.list_owned(&query).await?;
    let revealed: Vec<Uuid> =
        result.items.iter().filter(|l| l.visibility_for(owner.id) == Visibility::Revealed).map(|l| l.id).collect();
    let template = access(&state, &caller, &owner, "GET /api/v1/leads", REVEALED_FIELDS.to_vec());
    state.leads.log_reveals(&revealed, &template).await?;
    Ok(HttpResponse::Ok().json(LeadsListResponse {
        pagination: Pagination::from(&result),
        data: result.items.iter().map(|l| LeadDto::new(l, l.visibility_for(owner.id))).collect(),
    }))
}

/// Parses the filters shared by both lead lists, reporting every bad one at once.
fn list_query<K: SortKey + Into<domain::lead::ListSortColumn>>(
    scope: ListScope,
    filter: &OwnedFilter,
    page: &PageParams,
    sort: &SortParams,
) -> Result<OwnedQuery, ApiError> {
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
    let sort_order: SortOrder = sort.order;
    Ok(OwnedQuery {
        scope,
        used,
        has_as,
        product_id,
        provider_id,
        search,
        page,
        sort_column: sort.key.into(),
        sort_order,
    })
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
    let leader = acting_user(&state, &caller, filter.mohom_id.as_deref()).await?;
    let query = list_query::<AwaySortKey>(ListScope::DistributedBy(leader.id), &filter, &page, &sort)?;
    if query.search.is_some() {
        limit_search(&state, leader.id)?;
    }
    let result = state.leads.list_owned(&query).await?;
    let data = result
        .items
        .iter()
        .map(|l| DistributedLeadDto {
            lead: LeadDto::new(l, Visibility::Masked),
            current_owner_id: l.assignment.as_ref().map_or(Uuid::nil(), |a| a.owner_user_id),
            distributed_at: l.last_distributed_at.map(timestamp),
        })
        .collect();
    Ok(HttpResponse::Ok().json(DistributedAwayResponse { pagination: Pagination::from(&result), data }))
}

/// The most ids a distribution or recall takes.
pub const MAX_TRANSFER_IDS: usize = 500;

/// DB 분배.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DistributeRequest {
    pub mohom_id: Option<String>,
    /// A user of the same org.
    pub to_mohom_id: String,
    /// 1 to 500 distinct lead ids.
    pub lead_ids: Vec<String>,
}

/// DB 분배 회수.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecallRequest {
    pub mohom_id: Option<String>,
    /// 1 to 500 distinct lead ids.
    pub lead_ids: Vec<String>,
}

/// One lead moved and its new assignment.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MovedLead {
    pub lead_id: Uuid,
    pub assignment_id: Uuid,
}

/// The result of a distribution.
#[derive(Debug, Serialize, ToSchema)]
pub struct DistributeResponse {
    pub distributed: usize,
    pub assignments: Vec<MovedLead>,
}

/// The result of a recall.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecallResponse {
    pub recalled: usize,
    pub assignments: Vec<MovedLead>,
}

fn parse_ids(raw: &[String], max: usize) -> Result<Vec<Uuid>, ApiError> {
    if raw.is_empty() || raw.len() > max {
        return Err(ApiError::invalid("leadIds", &format!("must hold 1 to {max} ids")));
    }
    let mut seen = HashSet::new();
    raw.iter()
        .enumerate()
        .map(|(i, text)| {
            let id: Uuid = text.parse().map_err(|_| ApiError::invalid(&format!("leadIds[{i}]"), "must be a UUID"))?;
            if seen.insert(id) { Ok(id) } else { Err(ApiError::invalid(&format!("leadIds[{i}]"), "is a duplicate")) }
        })
        .collect()
}

fn refusal_error(id: Uuid, refusal: TransferRefusal) -> ApiError {
    match refusal {
        TransferRefusal::NotFound => ApiError::not_found("LEAD_NOT_FOUND", format!("lead {id} is not yours to move")),
        TransferRefusal::OpenAs => ApiError::conflict("LEAD_HAS_OPEN_AS", format!("lead {id} has an open AS request")),
        TransferRefusal::AlreadyUsed => {
            ApiError::conflict("LEAD_ALREADY_USED", format!("lead {id} was used by its owner"))
        }
    }
}

fn transfer_error(err: domain::error::RepoError) -> ApiError {
    match err {
        domain::error::RepoError::Conflict(what) => {
            ApiError::conflict("LEAD_CONFLICT", format!("{what}; nothing was moved, retry"))
        }
        other => other.into(),
    }
}

/// The moved leads of a transfer, or its error.
fn moved_leads(
    outcome: Result<infra::leads::TransferOutcome, domain::error::RepoError>,
) -> Result<Vec<MovedLead>, ApiError> {
    let moved = outcome.map_err(transfer_error)?.map_err(|(id, refusal)| refusal_error(id, refusal))?;
    Ok(moved.into_iter().map(|(lead_id, assignment_id)| MovedLead { lead_id, assignment_id }).collect())
}

fn require_leader(user: &User) -> Result<(), ApiError> {
    if user.role == Role::Leader {
        Ok(())
    } else {
        Err(ApiError::forbidden("only a LEADER distributes and recalls leads"))
    }
}

/// DB 분배: all or nothing; each lead owned by the caller (a `LEADER`) with no open AS;
/// the recipient an active user of the same org.
#[utoipa::path(
    tag = "leads",
    request_body = DistributeRequest,
    responses(
        (status = 200, body = DistributeResponse, description = "every lead moved"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED: ids empty, over 500, duplicate or malformed; recipient is the caller"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN: not a LEADER"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND or LEAD_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "LEAD_HAS_OPEN_AS or LEAD_CONFLICT"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/leads/distribute")]
pub async fn distribute(
    state: web::Data<AppState>,
    LeaderOrKey(caller): LeaderOrKey,
    req: HttpRequest,
    body: web::Json<DistributeRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let ids = parse_ids(&body.lead_ids, MAX_TRANSFER_IDS)?;
    let leader = acting_user(&state, &caller, body.mohom_id.as_deref()).await?;
    require_leader(&leader)?;
    let to = domain::identity::MohomId::parse(&body.to_mohom_id)
        .map_err(|_| ApiError::invalid("toMohomId", "must be a mohomId"))?;
    if to.as_str() == leader.mohom_id.as_str() {
        return Err(ApiError::invalid("toMohomId", "must be another user"));
    }
    let recipient =
        domain::service::users::UserService::new(&state.users, &*state.clock).get(leader.org_id, &to).await?;
    crate::idempotency::run(&state, &Principal::acting(&caller, &leader), &req, &body, || async {
        let assignments = moved_leads(state.leads.distribute(&leader, &recipient, &ids, state.clock.now()).await)?;
        Ok((StatusCode::OK, DistributeResponse { distributed: assignments.len(), assignments }))
    })
    .await
}

/// DB 분배 회수: all or nothing; each lead's open assignment was distributed by the
/// caller (a `LEADER`), is unused, and has no open AS. The caller gets back exactly the
/// rights they had before (a lead they had used is still used for them).
#[utoipa::path(
    tag = "leads",
    request_body = RecallRequest,
    responses(
        (status = 200, body = RecallResponse, description = "every lead recalled"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN: not a LEADER"),
        (status = 404, body = ErrorResponse, description = "LEAD_NOT_FOUND: unknown, or not distributed by the caller"),
        (status = 409, body = ErrorResponse, description = "LEAD_ALREADY_USED, LEAD_HAS_OPEN_AS or LEAD_CONFLICT"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/leads/recall")]
pub async fn recall(
    state: web::Data<AppState>,
    LeaderOrKey(caller): LeaderOrKey,
    req: HttpRequest,
    body: web::Json<RecallRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let ids = parse_ids(&body.lead_ids, MAX_TRANSFER_IDS)?;
    let leader = acting_user(&state, &caller, body.mohom_id.as_deref()).await?;
    require_leader(&leader)?;
    crate::idempotency::run(&state, &Principal::acting(&caller, &leader), &req, &body, || async {
        let assignments = moved_leads(state.leads.recall(&leader, &ids, state.clock.now()).await)?;
        Ok((StatusCode::OK, RecallResponse { recalled: assignments.len(), assignments }))
    })
    .await
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

/// `GET /api/v1/leads/contacts` (and the other POST-only siblings) is not a lead id but a
/// wrong method: 405, not 400.
fn not_a_sibling(ctx: &actix_web::guard::GuardContext<'_>) -> bool {
    crate::openapi::documents("GET", ctx.head().uri.path())
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
    let owner = acting_user(&state, &caller, query.mohom_id.as_deref()).await?;
    let lead = state.leads.get(id).await?.ok_or_else(lead_not_found)?;
    let visibility = lead.visibility_for(owner.id);
    let owns = lead.assignment.as_ref().is_some_and(|a| a.owner_user_id == owner.id);
    if !owns {
        return Err(lead_not_found());
    }
    if visibility == Visibility::Revealed {
        let template = access(&state, &caller, &owner, "GET /api/v1/leads/{leadId}", REVEALED_FIELDS.to_vec());
        state.leads.log_reveals(&[id], &template).await?;
    }
    let history = state.leads.history(id).await?;
    Ok(HttpResponse::Ok().json(LeadDetail {
        lead: LeadDto::new(&lead, visibility),
        assignments: history.iter().map(AssignmentDto::from).collect(),
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
    let owner = acting_user(&state, &caller, mohom.as_deref()).await?;
    limit_reveal(&state, owner.id)?;
    let template = access(&state, &caller, &owner, "POST /api/v1/leads/{leadId}/use", REVEALED_FIELDS.to_vec());
    let lead = state.leads.use_lead(id, &owner, template).await.map_err(ApiError::from)?.ok_or_else(lead_not_found)?;
    Ok(HttpResponse::Ok().json(LeadDto::new(&lead, Visibility::Revealed)))
}

/// Lead ID 목록으로 이름·연락처(복호화) 조회.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContactsRequest {
    pub mohom_id: Option<String>,
    /// At most 100 distinct lead ids.
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
    let ids = parse_ids(&body.lead_ids, MAX_CONTACT_IDS)?;
    let owner = acting_user(&state, &caller, body.mohom_id.as_deref()).await?;
    limit_reveal(&state, owner.id)?;
    let outcomes = state.leads.owned_for_reveal(&owner, &ids).await?;
    let mut data = Vec::new();
    let mut rejected = Vec::new();
    for (id, outcome) in outcomes {
        match outcome {
            Ok(lead) => {
                data.push(ContactDto { id, name: lead.pii.name.as_str().to_owned(), phone: lead.pii.phone.national() })
            }
            Err(refusal) => rejected.push(RejectedContact { id, reason: refusal.code().to_owned() }),
        }
    }
    let revealed: Vec<Uuid> = data.iter().map(|c| c.id).collect();
    let template = access(&state, &caller, &owner, "POST /api/v1/leads/contacts", vec!["name", "phone"]);
    state.leads.log_reveals(&revealed, &template).await?;
    Ok(HttpResponse::Ok().json(ContactsResponse { data, rejected }))
}
