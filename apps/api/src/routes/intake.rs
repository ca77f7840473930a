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
//! `domain::service::intake`): the personal fields of its body are accepted and ignored.
//!
//! The rules are `domain::service::intake`; the handlers read the body's shape, call,
//! answer.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, put, web};
use domain::intake::IntakeIds;
use domain::service::intake::{IntakeCreated, IntakeLead, IntakeService, StatusChanged, StatusReportInput};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

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
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    pub lead_source_id: Option<String>,
    /// 1 to 100 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// A Vietnamese mobile number (`[35789]` + 8 digits), nationally (`0…`) or with `+84`,
    /// digits optionally grouped by spaces, dots or hyphens.
    #[schema(example = "0399123456", pattern = r"^(\+84 ?|0)[35789]([ .-]?[0-9]){8}$")]
    pub mobile_number: String,
    pub home_phone: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    pub gender: Option<Gender>,
    /// `YYYY-MM-DD`, from 1900 to today.
    #[schema(pattern = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
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
    #[schema(example = "79", pattern = "^[0-9]{2}$")]
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
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
    pub lead_source_id: Option<String>,
    /// 1 to 100 characters, not blank.
    #[schema(
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub full_name: String,
    /// A Vietnamese mobile number, as `mobileNumber`.
    #[schema(example = "0912345678", pattern = r"^(\+84 ?|0)[35789]([ .-]?[0-9]){8}$")]
    pub phone_number: String,
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    pub demand: String,
    /// A project code mapped for the source selects its product (else the default one).
    pub project: String,
    pub source: Option<String>,
    pub purpose: Option<String>,
    pub apartment: Option<String>,
    pub gender: Option<Gender>,
    /// At most 300 characters.
    #[schema(max_length = 300)]
    pub address: Option<String>,
    pub id_number: Option<String>,
    pub apartment_type: Option<String>,
    pub balcony_view: Option<String>,
    /// `YYYY-MM-DD`, from 1900 to today.
    #[schema(pattern = r"^(19|20)[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")]
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

impl From<Gender> for domain::lead::Gender {
    fn from(g: Gender) -> Self {
        match g {
            Gender::Male => Self::Male,
            Gender::Female => Self::Female,
        }
    }
}

/// The fields of a body that are neither the lead's own nor national ids, as JSON text
/// (none when there are none).
fn metadata_of(value: &serde_json::Value, own: &[&str]) -> Option<String> {
    let fields: serde_json::Map<String, serde_json::Value> = value
        .as_object()
        .map(|o| {
            o.iter()
                .filter(|(k, v)| !own.contains(&k.as_str()) && !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default();
    (!fields.is_empty()).then(|| serde_json::Value::Object(fields).to_string())
}

/// Either body shape (the web form is told by its `fullName`) as the use case's input.
fn parse_body(value: serde_json::Value) -> Result<IntakeLead, ApiError> {
    if value.get("fullName").is_some() {
        let own = ["fullName", "phoneNumber", "email", "gender", "birthDay", "address", "idNumber", "leadSourceId"];
        let metadata = metadata_of(&value, &own);
        let form: WebFormLeadRequest = serde_json::from_value(value)?;
        return Ok(IntakeLead {
            name: form.full_name,
            phone: form.phone_number,
            email: Some(form.email),
            gender: form.gender.map(Into::into),
            birth_date: form.birth_day,
            address: form.address,
            region: None,
            project: Some(form.project),
            ids: IntakeIds { id_number: form.id_number, source_lead_id: form.lead_source_id, ..IntakeIds::default() },
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
    let lead: IntakeLeadRequest = serde_json::from_value(value)?;
    let address = match (lead.house_number.as_deref(), lead.street.as_deref()) {
        (None, None) => None,
        (a, b) => Some([a, b].into_iter().flatten().collect::<Vec<_>>().join(" ")),
    };
    Ok(IntakeLead {
        name: lead.name,
        phone: lead.mobile_number,
        email: lead.email,
        gender: lead.gender.map(Into::into),
        birth_date: lead.birth_date,
        address,
        region: lead.region_code,
        project: lead.project_code,
        ids: IntakeIds {
            id_number: lead.id_number,
            passport: lead.passport,
            family_book: lead.family_book,
            source_lead_id: lead.lead_source_id,
        },
        metadata,
    })
}

/// The `source` header's value (empty when absent or unreadable).
fn source_header(req: &HttpRequest) -> &str {
    req.headers().get("source").and_then(|v| v.to_str().ok()).unwrap_or_default()
}

impl From<IntakeCreated> for IntakeLeadCreated {
    fn from(created: IntakeCreated) -> Self {
        Self { id: created.lead, status: created.status.as_str() }
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
    params(("source" = String, Header, description = "The source code, e.g. TCB", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", example = "TCB")),
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
    let service = IntakeService::new(&state.leads, &state.reference, &*state.clock);
    let source = service.source(&caller.principal(), source_header(&req)).await?;
    let value = body.into_inner();
    // The source is part of the request: the same key and body under another source of
    // the org is another request, never this one's reply.
    let fingerprint = (source.id, &value);
    crate::idempotency::run(&state, &Principal::caller(&caller), &req, &fingerprint, || async {
        let created = service.create(&source, parse_body(value.clone())?).await?;
        Ok((StatusCode::CREATED, IntakeLeadCreated::from(created)))
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
    #[schema(min_length = 1, max_length = 128, pattern = r"\S")]
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
    #[schema(example = "CONTACTED", min_length = 1, max_length = 32, pattern = r"\S")]
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

/// A field's JSON form (`null` when absent).
fn json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or_default()
}

impl From<&ChangeStatusRequest> for StatusReportInput {
    /// The report's fields, the personal ones left out.
    fn from(body: &ChangeStatusRequest) -> Self {
        let fields: [(&str, serde_json::Value); 11] = [
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
        Self {
            lead_key: body.lead_source_id.clone(),
            status: body.status.clone(),
            note: body.note.clone(),
            request_time: body.request_time.clone(),
            meeting_time: body.meeting_time.clone(),
            detail: fields.into_iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }
}

impl From<StatusChanged> for SourceStatusChanged {
    fn from(changed: StatusChanged) -> Self {
        Self {
            id: changed.lead.id,
            lead_source_id: changed.lead.source_lead_id,
            status: changed.lead.status,
            source_status: changed.reported,
            source_status_at: changed.lead.source_status_at.map(crate::wire::timestamp).unwrap_or_default(),
        }
    }
}

/// 리드 상태 변경 (a source's status of its lead): stores the source's status, its
/// non-personal details and its note (encrypted) on the lead the source names by
/// `lead_source_id`. The lead's contact, product, owner and lifecycle are untouched.
#[utoipa::path(
    tag = "intake",
    params(("source" = String, Header, description = "The source code, e.g. TCB", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", example = "TCB")),
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
    let service = IntakeService::new(&state.leads, &state.reference, &*state.clock);
    let source = service.source(&caller.principal(), source_header(&req)).await?;
    let body = body.into_inner();
    let fingerprint = (source.id, &body);
    crate::idempotency::run(&state, &Principal::caller(&caller), &req, &fingerprint, || async {
        let changed = service.change_status(&source, StatusReportInput::from(&body)).await?;
        Ok((StatusCode::OK, SourceStatusChanged::from(changed)))
    })
    .await
}
