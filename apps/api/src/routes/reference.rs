//! Reference data: the product catalogue, AS policies, regions, AS reason codes.

use actix_web::{HttpResponse, get, web};
use domain::reference::{AsPolicy, AsReason, Country, Product, ProductQuery, ProductSortKey, Region};
use domain::service::reference::{ReferenceError, ReferenceService};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorCode, ErrorResponse};
use crate::params::{PageParams, SortParams, page_and_sort};
use crate::state::AppState;
use crate::wire::Pagination;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(list_products).service(product_as_policy).service(list_regions).service(list_as_reasons);
}

impl From<ReferenceError> for ApiError {
    fn from(err: ReferenceError) -> Self {
        match err {
            ReferenceError::ProductNotFound(id) => {
                ApiError::not_found(ErrorCode::ProductNotFound, format!("product {id} does not exist"))
            }
            ReferenceError::Repo(e) => e.into(),
        }
    }
}

/// A product's AS (claim) rules.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AsPolicyDto {
    /// Hours during which an AS may be requested.
    #[schema(example = 72)]
    pub window_hours: u32,
    /// Whether the window counts from the assignment or from the use of the lead.
    #[schema(example = "ASSIGNED")]
    pub window_starts_from: String,
    /// Reason codes an AS may give (see `GET /api/v1/as/reasons`).
    pub allowed_reason_codes: Vec<String>,
    /// Reason codes that need at least one evidence file.
    pub evidence_required_reason_codes: Vec<String>,
    /// Approved + open AS per order, in percent of its delivered quantity (rounded down, at least 1 AS).
    #[schema(example = 10)]
    pub max_as_rate_percent: u8,
    /// `REPLACEMENT` (another lead) or `REFUND` (one unit price).
    #[schema(example = "REPLACEMENT")]
    pub compensation: String,
    /// Whether a plain case is approved at once.
    pub auto_approve: bool,
}

impl From<&AsPolicy> for AsPolicyDto {
    fn from(p: &AsPolicy) -> Self {
        let codes = |list: &[domain::reference::AsReasonCode]| list.iter().map(|c| c.as_str().to_owned()).collect();
        Self {
            window_hours: p.window_hours(),
            window_starts_from: p.window_starts_from().as_str().to_owned(),
            allowed_reason_codes: codes(p.allowed_reasons()),
            evidence_required_reason_codes: codes(p.evidence_required()),
            max_as_rate_percent: p.max_rate_percent(),
            compensation: p.compensation().as_str().to_owned(),
            auto_approve: p.auto_approve(),
        }
    }
}

/// 상품 AS 정책 조회: a product's AS policy.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductAsPolicyResponse {
    pub product_id: Uuid,
    pub product_name: String,
    #[serde(flatten)]
    pub policy: AsPolicyDto,
}

/// One product of the catalogue.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProductDto {
    pub id: Uuid,
    pub name: String,
    #[schema(example = "INSURANCE")]
    pub category: String,
    /// Decimal string, in won unless the product says otherwise.
    #[schema(value_type = String, example = "30000")]
    pub unit_price: String,
    /// True when `unitPrice` excludes VAT.
    pub prices_exclude_vat: bool,
    /// `FIFO`, `ROUND_ROBIN`, `WEIGHTED` or `LEAST_LOADED`.
    #[schema(example = "ROUND_ROBIN")]
    pub allocation_policy: String,
    pub as_policy: AsPolicyDto,
}

impl From<&Product> for ProductDto {
    fn from(p: &Product) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            category: p.category.clone(),
            unit_price: p.unit_price.to_string(),
            prices_exclude_vat: p.prices_exclude_vat,
            allocation_policy: p.allocation_policy.as_str().to_owned(),
            as_policy: AsPolicyDto::from(&p.as_policy),
        }
    }
}

/// The catalogue: products on sale.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProductsResponse {
    pub data: Vec<ProductDto>,
    pub pagination: Pagination,
}

/// Catalogue filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductFilter {
    /// Only this category (e.g. `INSURANCE`).
    pub category: Option<String>,
}

/// The product catalogue: products on sale, to find what to order.
///
/// `sortBy`: `name`, `unitPrice` or `createdAt` (default).
#[utoipa::path(
    tag = "reference",
    params(ProductFilter, PageParams, SortParams),
    responses(
        (status = 200, body = ProductsResponse, description = "products on sale, one page"),
        (status = 400, body = ErrorResponse, description = "bad page, limit, sortBy or sortOrder"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED: missing, unknown or revoked API key"),
        (status = 429, body = ErrorResponse, description = "RATE_LIMITED"),
    ),
    security(("api_key" = []))
)]
#[get("/api/v1/products")]
pub async fn list_products(
    state: web::Data<AppState>,
    _caller: Caller,
    filter: web::Query<ProductFilter>,
    page: web::Query<PageParams>,
    sort: web::Query<SortParams>,
) -> Result<HttpResponse, ApiError> {
    let (page, sort) = page_and_sort::<ProductSortKey>(&page, &sort)?;
    let category = filter.into_inner().category.filter(|c| !c.is_empty());
    let query = ProductQuery { category, page, sort };
    let result = ReferenceService::new(&state.reference).catalogue(&query).await?;
    Ok(HttpResponse::Ok().json(ProductsResponse {
        pagination: Pagination::from(&result),
        data: result.items.iter().map(ProductDto::from).collect(),
    }))
}

/// 상품 AS 정책 조회: the AS policy of a product (on sale or not).
#[utoipa::path(
    tag = "reference",
    params(("productId" = Uuid, Path, description = "Product id")),
    responses(
        (status = 200, body = ProductAsPolicyResponse, description = "the product's AS policy"),
        (status = 400, body = ErrorResponse, description = "productId is not a UUID"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED: missing, unknown or revoked API key"),
        (status = 404, body = ErrorResponse, description = "PRODUCT_NOT_FOUND"),
    ),
    security(("api_key" = []))
)]
#[get("/api/v1/products/{productId}/as-policy")]
pub async fn product_as_policy(
    state: web::Data<AppState>,
    _caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path
        .parse::<Uuid>()
        .map_err(|_| ApiError::Validation(vec![domain::error::FieldError::new("productId", "must be a UUID")]))?;
    let product = ReferenceService::new(&state.reference).product(id).await?;
    Ok(HttpResponse::Ok().json(ProductAsPolicyResponse {
        product_id: product.id,
        policy: AsPolicyDto::from(&product.as_policy),
        product_name: product.name,
    }))
}

/// One allowed region value.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionDto {
    /// The value orders, leads and filters carry (`서울`, `79`, ...).
    #[schema(example = "서울")]
    pub code: String,
    #[schema(example = "서울특별시")]
    pub name: String,
    /// `KR` or `VN`.
    #[schema(example = "KR")]
    pub country: String,
}

impl From<&Region> for RegionDto {
    fn from(r: &Region) -> Self {
        Self { code: r.code.clone(), name: r.name.clone(), country: r.country.as_str().to_owned() }
    }
}

/// 지역 허용값 목록.
#[derive(Debug, Serialize, ToSchema)]
pub struct RegionsResponse {
    pub data: Vec<RegionDto>,
}

/// Region filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RegionFilter {
    /// `KR` or `VN`; all countries when absent.
    pub country: Option<String>,
}

/// 지역 허용값 목록: the allowed region values.
#[utoipa::path(
    tag = "reference",
    params(RegionFilter),
    responses(
        (status = 200, body = RegionsResponse, description = "the allowed region values"),
        (status = 400, body = ErrorResponse, description = "unknown country"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED: missing, unknown or revoked API key"),
    ),
    security(("api_key" = []))
)]
#[get("/api/v1/regions")]
pub async fn list_regions(
    state: web::Data<AppState>,
    _caller: Caller,
    filter: web::Query<RegionFilter>,
) -> Result<HttpResponse, ApiError> {
    let country = match filter.country.as_deref() {
        None => None,
        Some(raw) => Some(raw.parse::<Country>().map_err(|_| {
            ApiError::Validation(vec![domain::error::FieldError::new("country", "must be one of KR, VN")])
        })?),
    };
    let regions = ReferenceService::new(&state.reference).regions(country).await?;
    Ok(HttpResponse::Ok().json(RegionsResponse { data: regions.iter().map(RegionDto::from).collect() }))
}

/// One AS reason code.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AsReasonDto {
    #[schema(example = "WRONG_NUMBER")]
    pub code: String,
    #[schema(example = "결번")]
    pub label: String,
    pub requires_evidence: bool,
}

impl From<&AsReason> for AsReasonDto {
    fn from(r: &AsReason) -> Self {
        Self { code: r.code.as_str().to_owned(), label: r.label.clone(), requires_evidence: r.requires_evidence }
    }
}

/// AS 사유 코드 목록.
#[derive(Debug, Serialize, ToSchema)]
pub struct AsReasonsResponse {
    pub data: Vec<AsReasonDto>,
}

/// AS 사유 코드 목록: the AS reason codes.
#[utoipa::path(
    tag = "reference",
    responses((status = 200, body = AsReasonsResponse, description = "the AS reason codes"), (status = 401, body = ErrorResponse, description = "UNAUTHORIZED: missing, unknown or revoked API key")),
    security(("api_key" = []))
)]
#[get("/api/v1/as/reasons")]
pub async fn list_as_reasons(state: web::Data<AppState>, _caller: Caller) -> Result<HttpResponse, ApiError> {
    let reasons = ReferenceService::new(&state.reference).as_reasons().await?;
    Ok(HttpResponse::Ok().json(AsReasonsResponse { data: reasons.iter().map(AsReasonDto::from).collect() }))
}
