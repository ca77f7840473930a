//! Lead intake (seed 002): partner sources push leads with the `source` header.
//!
//! Two body shapes are accepted: the seed's first object (`name`, `mobileNumber`, ...)
//! and its web-form object (`fullName`, `phoneNumber`, `email`, `demand`, `project`, ...).
//! Fields beyond the lead's own land in `metadata`, except the national id numbers,
//! which are encrypted and never shown. The product is the one the body's project code
//! (`projectCode`, or the web form's `project`) is mapped to for the source, else the
//! source's default product.
//!
//! `changeStatus` lets a source report its own status of a lead it sent, naming it by
//! `lead_source_id` (its own id for the lead, sent as `leadSourceId` at create, or the
//! LDBDS lead id). It writes only the source's side of the lead (see
//! `infra::source_status`): the personal fields of its body are accepted and ignored.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, put, web};
use domain::error::RepoError;
use domain::lead::{LeadFields, LeadStatus, NewLead};
use domain::pii::PhoneNumber;
use domain::ports::ReferenceRepository;
use domain::reference::Country;
use infra::intake::{IntakeIds, IntakeOutcome, SOURCE_LEAD_ID_TAKEN};
use infra::orgs::Source;
use infra::source_status::SourceStatusReport;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorResponse};
use crate::gate::ApiKeyOnly;
use crate::idempotency::Principal;
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_intake_lead).service(change_source_status);
}

/// A house direction (seed enumeration).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    Northeast,
    Southeast,
    Northwest,
    Southwest,
    SoutheastSouthwest,
    NorthwestSouthwest,
    NortheastSouthwest,
    NortheastNorthwest,
    East,
    West,
    South,
    North,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MaritalStatus {
    Single,
    Married,
    Divorced,
    Widowed,
    Separated,
    LivingWithPartner,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Gender {
    Male,
    Female,
}

/// The seed's first create object.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntakeLeadRequest {
    /// LDBDS extension: the source's own id for this lead (1 to 128 characters, unique
    /// per source). `changeStatus` names the lead by it (`lead_source_id`).
    pub lead_source_id: Option<String>,
    pub name: String,
    pub mobile_number: String,
    pub home_phone: Option<String>,
    pub email: Option<String>,
    pub gender: Option<Gender>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub id_number: Option<String>,
    pub family_book: Option<String>,
    pub passport: Option<String>,
    pub marital_status: Option<MaritalStatus>,
    pub demand: Option<String>,
    pub project_id: Option<String>,
    /// A project code mapped for the source selects its product; an unmapped code goes to
    /// the source's default product (and stays in `metadata`, like every other field).
    pub project_code: Option<String>,
    pub project_name: Option<String>,
    pub house_type: Option<String>,
    pub house_price: Option<String>,
    pub house_information: Option<String>,
    pub agent_id: Option<i64>,
    pub agent_code: Option<String>,
    pub communication_type: Option<String>,
    pub interaction_type: Option<String>,
    pub source_origin: Option<String>,
    pub contact_type: Option<String>,
    pub house_number: Option<String>,
    pub street: Option<String>,
    /// A province code of `GET /api/v1/regions` (e.g. `79`).
    pub region_code: Option<String>,
    pub district_code: Option<String>,
    pub ward_code: Option<String>,
    pub home_directions: Option<Vec<Direction>>,
    pub balcony_directions: Option<Vec<Direction>>,
}

/// The seed's web-form create object.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebFormLeadRequest {
    /// LDBDS extension: the source's own id for this lead (1 to 128 characters, unique
    /// per source). `changeStatus` names the lead by it (`lead_source_id`).
    pub lead_source_id: Option<String>,
    pub full_name: String,
    pub phone_number: String,
    pub email: String,
    pub demand: String,
    /// A project code mapped for the source selects its product (else the default one).
    pub project: String,
    pub source: Option<String>,
    pub purpose: Option<String>,
    pub apartment: Option<String>,
    pub gender: Option<Gender>,
    pub address: Option<String>,
    pub id_number: Option<String>,
    pub apartment_type: Option<String>,
    pub balcony_view: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_day: Option<String>,
}

/// The created lead.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntakeLeadCreated {
    pub id: Uuid,
    /// `POOL` (waiting for an order) or `ASSIGNED` (delivered at once).
    pub status: &'static str,
}

struct Parsed {
    name: String,
    phone: String,
    email: Option<String>,
    gender: Option<&'static str>,
    birth_date: Option<String>,
    address: Option<String>,
    region: Option<String>,
    project: Option<String>,
    source_lead_id: Option<String>,
    ids: IntakeIds,
    metadata: serde_json::Map<String, serde_json::Value>,
}

fn gender_text(g: Gender) -> &'static str {
    match g {
        Gender::Male => "MALE",
        Gender::Female => "FEMALE",
    }
}

/// The fields of a body that are neither the lead's own nor national ids.
fn metadata_of(value: &serde_json::Value, own: &[&str]) -> serde_json::Map<String, serde_json::Value> {
    value
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, v)| !own.contains(&k.as_str()) && !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

fn parse_body(value: serde_json::Value) -> Result<Parsed, ApiError> {
    let invalid = <ApiError as From<serde_json::Error>>::from;
    if value.get("fullName").is_some() {
        let own = ["fullName", "phoneNumber", "email", "gender", "birthDay", "address", "idNumber", "leadSourceId"];
        let metadata = metadata_of(&value, &own);
        let form: WebFormLeadRequest = serde_json::from_value(value).map_err(invalid)?;
        return Ok(Parsed {
            name: form.full_name,
            phone: form.phone_number,
            email: Some(form.email),
            gender: form.gender.map(gender_text),
            birth_date: form.birth_day,
            address: form.address,
            region: None,
            project: Some(form.project),
            source_lead_id: form.lead_source_id,
            ids: IntakeIds { id_number: form.id_number, ..IntakeIds::default() },
            metadata,
        });
    }
    let own = [
        "name",
        "mobileNumber",
        "homePhone",
        "email",
        "gender",
        "birthDate",
        "idNumber",
        "familyBook",
        "passport",
        "houseNumber",
        "street",
        "regionCode",
        "leadSourceId",
    ];
    let metadata = metadata_of(&value, &own);
    let lead: IntakeLeadRequest = serde_json::from_value(value).map_err(invalid)?;
    let address = match (lead.house_number.as_deref(), lead.street.as_deref()) {
        (None, None) => None,
        (a, b) => Some([a, b].into_iter().flatten().collect::<Vec<_>>().join(" ")),
    };
    Ok(Parsed {
        name: lead.name,
        phone: lead.mobile_number,
        email: lead.email,
        gender: lead.gender.map(gender_text),
        birth_date: lead.birth_date,
        address,
        region: lead.region_code,
        project: lead.project_code,
        source_lead_id: lead.lead_source_id,
        ids: IntakeIds {
            id_number: lead.id_number,
            passport: lead.passport,
            family_book: lead.family_book,
            source_lead_id: None,
        },
        metadata,
    })
}

/// The source the `source` header names, when it is a source of the caller's org (an
/// unknown source and another org's get the same answer).
async fn source_of(state: &AppState, caller: &Caller, req: &HttpRequest) -> Result<Source, ApiError> {
    let code = req.headers().get("source").and_then(|v| v.to_str().ok()).unwrap_or_default().trim().to_owned();
    match infra::orgs::find_source(state.db.conn(), &code).await? {
        Some(source) if matches!(caller, Caller::Key(k) if k.org_id == source.org_id) => Ok(source),
        _ => Err(ApiError::invalid("source", "is not a source of this organization")),
    }
}

/// The longest source id for a lead (`leads.source_lead_id`).
const MAX_SOURCE_LEAD_ID: usize = 128;

/// A trimmed source id for a lead, 1 to 128 characters.
fn source_lead_id(field: &str, raw: &str) -> Result<String, ApiError> {
    let id = raw.trim();
    if id.is_empty() || id.chars().count() > MAX_SOURCE_LEAD_ID {
        return Err(ApiError::invalid(field, "must be 1 to 128 characters"));
    }
    Ok(id.to_owned())
}

/// The product of an intake: the one the project code is mapped to for the source, else
/// the source's default.
async fn product_of(state: &AppState, source: &Source, project: Option<&str>) -> Result<Uuid, ApiError> {
    let mapped = match project.map(str::trim).filter(|p| !p.is_empty()) {
        Some(code) => infra::orgs::product_for_project(state.db.conn(), source.id, code).await?,
        None => None,
    };
    mapped.or(source.default_product_id).ok_or_else(|| ApiError::invalid("source", "has no default product"))
}

fn duplicate_source_lead_id(earlier: impl std::fmt::Display) -> ApiError {
    ApiError::Conflict {
        code: "DUPLICATE_LEAD",
        message: format!("a lead with this leadSourceId from this source arrived earlier: {earlier}"),
    }
}

/// 리드 등록 (lead intake): validates, deduplicates (same phone and product inside the
/// product's duplicate window, or a `leadSourceId` the source already used), encrypts,
/// pools the lead and offers it to the open orders of its product and region, in one
/// transaction. The product is the one the project code is mapped to for the source,
/// else the source's default product.
///
/// Only a lead of the caller's own org counts as a duplicate (409). A phone that only
/// another org sent is answered exactly like a fresh lead (201, a new id); the lead is
/// kept for the operator, flagged `DUPLICATE_OTHER_PROVIDER`, and delivered to no order.
#[utoipa::path(
    tag = "intake",
    params(("source" = String, Header, description = "The source code, e.g. TCB")),
    request_body(content = IntakeLeadRequest, description = "The seed's first object, or its web-form object (`WebFormLeadRequest`)"),
    responses(
        (status = 201, body = IntakeLeadCreated, description = "the lead, pooled or delivered"),
        (status = 400, body = ErrorResponse, description = "unknown source, VALIDATION_FAILED or INVALID_JSON"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 409, body = ErrorResponse, description = "DUPLICATE_LEAD, naming the earlier lead of the caller's org (same phone and product, or same leadSourceId)"),
    ),
    security(("api_key" = []))
)]
#[post("/lead-platform/v1/leads/create")]
pub async fn create_intake_lead(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let source = source_of(&state, &caller, &req).await?;
    let value = body.into_inner();
    // The source is part of the request: the same key and body under another source of
    // the org is another request, never this one's reply.
    let fingerprint = (source.id, &value);
    crate::idempotency::run(&state, &Principal::caller(&caller), &req, &fingerprint, || async {
        let parsed = parse_body(value.clone())?;
        let phone = PhoneNumber::parse_for(&parsed.phone, Country::Vn)
            .map_err(|_| ApiError::invalid("mobileNumber", "must be a Vietnamese mobile number"))?;
        let source_lead_id =
            parsed.source_lead_id.as_deref().map(|id| source_lead_id("leadSourceId", id)).transpose()?;
        let product_id = product_of(&state, &source, parsed.project.as_deref()).await?;
        let product = state
            .reference
            .find_product(product_id)
            .await?
            .ok_or_else(|| ApiError::invalid("source", "has no default product"))?;
        let region = match parsed.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) {
            Some(code) => {
                let regions = state.reference.list_regions(None).await?;
                if !regions.iter().any(|r| r.code == code) {
                    return Err(ApiError::invalid("regionCode", "must be a province code of GET /api/v1/regions"));
                }
                code.to_owned()
            }
            None => String::new(),
        };
        let product_text = product.id.to_string();
        let metadata =
            (!parsed.metadata.is_empty()).then(|| serde_json::Value::Object(parsed.metadata.clone()).to_string());
        let fields = LeadFields {
            product_id: Some(&product_text),
            name: Some(&parsed.name),
            phone: Some(phone.e164()),
            email: parsed.email.as_deref(),
            // Web-form leads carry no province: they are validated without one and pooled
            // unrouted (region ""), so no order line takes them automatically.
            region: Some(if region.is_empty() { "unrouted" } else { &region }),
            address: parsed.address.as_deref(),
            birth_date: parsed.birth_date.as_deref(),
            gender: parsed.gender,
            memo: None,
            metadata,
        };
        let mut new = NewLead::parse(&fields, state.clock.now().date())?;
        new.region = region;
        // Checked first to name the earlier lead; a create racing with the same id is
        // refused by the unique index inside the intake's transaction (nothing written).
        if let Some(id) = source_lead_id.as_deref()
            && let Some(earlier) = state.leads.lead_by_source_lead_id(source.id, id).await?
        {
            return Err(duplicate_source_lead_id(earlier));
        }
        let mut ids = parsed.ids.clone();
        ids.source_lead_id.clone_from(&source_lead_id);
        let taken = |e: &RepoError| matches!(e, RepoError::Conflict(what) if what == SOURCE_LEAD_ID_TAKEN);
        let outcome = match state.leads.intake(&product, &new, &ids, source.org_id, source.id, state.clock.now()).await
        {
            Ok(outcome) => outcome,
            Err(e) if taken(&e) => {
                let id = source_lead_id.as_deref().unwrap_or_default();
                let earlier = state.leads.lead_by_source_lead_id(source.id, id).await?;
                return Err(duplicate_source_lead_id(
                    earlier.map_or_else(|| "another lead".to_owned(), |e| e.to_string()),
                ));
            }
            Err(e) => return Err(e.into()),
        };
        let (lead, status) = match outcome {
            IntakeOutcome::Duplicate { earlier } => {
                return Err(ApiError::Conflict {
                    code: "DUPLICATE_LEAD",
                    message: format!("a lead with this phone for this product arrived earlier: {earlier}"),
                });
            }
            IntakeOutcome::Pooled { lead } => (lead, "POOL"),
            IntakeOutcome::Delivered { lead, .. } => (lead, "ASSIGNED"),
            // Another provider org sent this phone: the lead is held for the operator, and
            // the caller gets a fresh lead's answer (its own new id, the status the offer
            // would have given), so nothing tells it the other lead exists.
            IntakeOutcome::Held { lead, as_if_delivered } => (lead, if as_if_delivered { "ASSIGNED" } else { "POOL" }),
        };
        Ok((StatusCode::CREATED, IntakeLeadCreated { id: lead, status }))
    })
    .await
}

/// The seed's `house_type` enumeration.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HouseType {
    Ht3000,
    Ht3001,
    Ht3002,
    Ht3003,
}

/// The seed's `house_information` enumeration (there is no `HI4001`).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HouseInformation {
    Hi4000,
    Hi4002,
    Hi4003,
    Hi4004,
    Hi4005,
    Hi4006,
    Hi4007,
    Hi4008,
    Hi4009,
    Hi4010,
}

/// The seed's status object: a source reports its own status of a lead it sent.
///
/// `lead_source_id` names the lead: the source's own id for it (`leadSourceId` at
/// create, an LDBDS extension), or else the LDBDS lead id returned by create. The
/// personal fields (`name`, `mobile_number`, `email`, `gender`, `birth_date`,
/// `address`) are accepted for compatibility with the seed and ignored: a source cannot
/// rewrite the contact of a lead it sold. The other fields are stored as the source's
/// report, `note` encrypted; each report replaces the previous one.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeStatusRequest {
    /// The source's own id for the lead, or the LDBDS lead id.
    pub lead_source_id: String,
    /// Ignored (personal).
    pub name: Option<String>,
    /// Ignored (personal).
    pub mobile_number: Option<String>,
    /// Ignored (personal).
    pub email: Option<String>,
    /// Ignored (personal).
    pub gender: Option<Gender>,
    /// Ignored (personal).
    pub birth_date: Option<String>,
    pub project_code: Option<String>,
    pub project_name: Option<String>,
    pub house_type: Option<HouseType>,
    pub house_information: Option<HouseInformation>,
    pub house_price: Option<String>,
    /// RFC 3339 date-time.
    #[schema(format = DateTime)]
    pub request_time: Option<String>,
    /// RFC 3339 date-time.
    #[schema(format = DateTime)]
    pub meeting_time: Option<String>,
    pub channel: Option<String>,
    /// The source's status of the lead, 1 to 32 characters.
    pub status: String,
    /// Free text, stored encrypted.
    pub note: Option<String>,
    /// Untyped in the seed: any JSON value, stored as sent.
    #[schema(value_type = Option<serde_json::Value>)]
    pub sale: Option<serde_json::Value>,
    pub lead_score: Option<i32>,
    /// Ignored (personal).
    pub address: Option<String>,
    pub city_code: Option<String>,
    pub district_code: Option<String>,
    pub ward_code: Option<String>,
}

/// The lead after a status report.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatusChanged {
    /// The LDBDS lead id.
    pub id: Uuid,
    /// The source's own id for the lead; null when it was created without one.
    pub lead_source_id: Option<String>,
    /// The lead's LDBDS lifecycle status (`POOL`, `ASSIGNED`, ...).
    pub status: String,
    /// The status the source reported.
    pub source_status: String,
    /// When LDBDS recorded the report (RFC 3339 UTC).
    pub source_status_at: String,
}

/// The lifecycle status a source is shown: a held lead (`DUPLICATE_OTHER_PROVIDER`) is
/// shown as waiting in the pool, since the flag is the operator's and would tell the
/// source that another provider sent the phone.
fn source_view(status: String) -> String {
    if status == LeadStatus::DuplicateOtherProvider.as_str() { LeadStatus::Pool.as_str().to_owned() } else { status }
}

/// The longest source status (`leads.source_status`).
const MAX_SOURCE_STATUS: usize = 32;

/// A field's JSON form (`null` when absent).
fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

/// The validated report of a status body: personal fields left out.
fn report_of(body: &ChangeStatusRequest) -> Result<SourceStatusReport, ApiError> {
    let status = body.status.trim();
    if status.is_empty() || status.chars().count() > MAX_SOURCE_STATUS {
        return Err(ApiError::invalid("status", "must be 1 to 32 characters"));
    }
    for (field, value) in [("request_time", &body.request_time), ("meeting_time", &body.meeting_time)] {
        if let Some(at) = value
            && OffsetDateTime::parse(at, &Rfc3339).is_err()
        {
            return Err(ApiError::invalid(field, "must be an RFC 3339 date-time"));
        }
    }
    let fields: [(&str, serde_json::Value); 14] = [
        ("status", status.into()),
        ("meeting_time", json(&body.meeting_time)),
        ("request_time", json(&body.request_time)),
        ("lead_score", json(&body.lead_score)),
        ("sale", body.sale.clone().unwrap_or_default()),
        ("channel", json(&body.channel)),
        ("house_type", json(&body.house_type)),
        ("house_information", json(&body.house_information)),
        ("house_price", json(&body.house_price)),
        ("project_code", json(&body.project_code)),
        ("project_name", json(&body.project_name)),
        ("city_code", json(&body.city_code)),
        ("district_code", json(&body.district_code)),
        ("ward_code", json(&body.ward_code)),
    ];
    let detail = fields.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.to_owned(), v)).collect();
    let note = body.note.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
    Ok(SourceStatusReport { status: status.to_owned(), note, detail: serde_json::Value::Object(detail) })
}

/// 리드 상태 변경 (a source's status of its lead): stores the source's status, its
/// non-personal details and its note (encrypted) on the lead the source names by
/// `lead_source_id`. The lead's contact, product, owner and lifecycle are untouched.
#[utoipa::path(
    tag = "intake",
    params(("source" = String, Header, description = "The source code, e.g. TCB")),
    request_body(content = ChangeStatusRequest, description = "The seed's status object (snake_case)"),
    responses(
        (status = 200, body = SourceStatusChanged, description = "the report is stored"),
        (status = 400, body = ErrorResponse, description = "unknown source, VALIDATION_FAILED or INVALID_JSON"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "LEAD_NOT_FOUND: no lead of this source by that id"),
    ),
    security(("api_key" = []))
)]
#[put("/lead-platform/v1/leads/changeStatus")]
pub async fn change_source_status(
    state: web::Data<AppState>,
    ApiKeyOnly(caller): ApiKeyOnly,
    req: HttpRequest,
    body: web::Json<ChangeStatusRequest>,
) -> Result<HttpResponse, ApiError> {
    let source = source_of(&state, &caller, &req).await?;
    let body = body.into_inner();
    let fingerprint = (source.id, &body);
    crate::idempotency::run(&state, &Principal::caller(&caller), &req, &fingerprint, || async {
        let key = body.lead_source_id.trim();
        if key.is_empty() {
            return Err(ApiError::invalid("lead_source_id", "must not be empty"));
        }
        let report = report_of(&body)?;
        let lead =
            state.leads.report_source_status(source.id, key, &report, state.clock.now()).await?.ok_or_else(|| {
                ApiError::not_found("LEAD_NOT_FOUND", "no lead of this source has this lead_source_id")
            })?;
        let changed = SourceStatusChanged {
            id: lead.id,
            lead_source_id: lead.source_lead_id,
            status: source_view(lead.status),
            source_status: report.status,
            source_status_at: lead.source_status_at.map(crate::wire::timestamp).unwrap_or_default(),
        };
        Ok((StatusCode::OK, changed))
    })
    .await
}
