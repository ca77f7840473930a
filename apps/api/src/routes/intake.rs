//! Lead intake (seed 002): partner sources push leads with the `source` header.
//!
//! Two body shapes are accepted: the seed's first object (`name`, `mobileNumber`, ...)
//! and its web-form object (`fullName`, `phoneNumber`, `email`, `demand`, `project`, ...).
//! Fields beyond the lead's own land in `metadata`, except the national id numbers,
//! which are encrypted and never shown.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, post, web};
use domain::lead::{LeadFields, NewLead};
use domain::pii::PhoneNumber;
use domain::ports::ReferenceRepository;
use domain::reference::Country;
use infra::intake::{IntakeIds, IntakeOutcome};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorResponse};
use crate::state::AppState;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_intake_lead);
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
    pub full_name: String,
    pub phone_number: String,
    pub email: String,
    pub demand: String,
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
    let invalid = |e: serde_json::Error| ApiError::InvalidJson { message: e.to_string(), details: Vec::new() };
    if value.get("fullName").is_some() {
        let own = ["fullName", "phoneNumber", "email", "gender", "birthDay", "address", "idNumber"];
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
            ids: IntakeIds { id_number: form.id_number, passport: None, family_book: None },
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
        ids: IntakeIds { id_number: lead.id_number, passport: lead.passport, family_book: lead.family_book },
        metadata,
    })
}

/// 리드 등록 (lead intake): validates, deduplicates (same phone and product inside the
/// product's duplicate window), encrypts, pools the lead and offers it to the open orders
/// of its product and region, in one transaction.
#[utoipa::path(
    tag = "intake",
    params(("source" = String, Header, description = "The source code, e.g. TCB")),
    request_body(content = IntakeLeadRequest, description = "The seed's first object, or its web-form object (`WebFormLeadRequest`)"),
    responses(
        (status = 201, body = IntakeLeadCreated, description = "the lead, pooled or delivered"),
        (status = 400, body = ErrorResponse, description = "unknown source, VALIDATION_FAILED or INVALID_JSON"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 409, body = ErrorResponse, description = "DUPLICATE_LEAD, naming the earlier lead"),
    ),
    security(("api_key" = []))
)]
#[post("/lead-platform/v1/leads/create")]
pub async fn create_intake_lead(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<serde_json::Value>,
) -> Result<HttpResponse, ApiError> {
    let code = req.headers().get("source").and_then(|v| v.to_str().ok()).unwrap_or_default().trim().to_owned();
    let source =
        match infra::orgs::find_source(state.db.conn(), &code).await.map_err(|e| ApiError::Internal(e.into()))? {
            Some(source) if matches!(&caller, Caller::Key(k) if k.org_id == source.org_id) => source,
            _ => return Err(ApiError::invalid("source", "is not a source of this organization")),
        };
    let value = body.into_inner();
    crate::idempotency::run(&state, &caller, &req, &value, || async {
        let parsed = parse_body(value.clone())?;
        let phone = PhoneNumber::parse_for(&parsed.phone, Country::Vn)
            .map_err(|_| ApiError::invalid("mobileNumber", "must be a Vietnamese mobile number"))?;
        let product_id =
            source.default_product_id.ok_or_else(|| ApiError::invalid("source", "has no default product"))?;
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
        let outcome =
            state.leads.intake(&product, &new, &parsed.ids, source.org_id, source.id, state.clock.now()).await?;
        match outcome {
            IntakeOutcome::Duplicate { earlier } => Err(ApiError::Conflict {
                code: "DUPLICATE_LEAD",
                message: format!("a lead with this phone for this product arrived earlier: {earlier}"),
            }),
            IntakeOutcome::Pooled { lead } => Ok((StatusCode::CREATED, IntakeLeadCreated { id: lead, status: "POOL" })),
            IntakeOutcome::Delivered { lead, .. } => {
                Ok((StatusCode::CREATED, IntakeLeadCreated { id: lead, status: "ASSIGNED" }))
            }
        }
    })
    .await
}
