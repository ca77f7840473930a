//! LDBDS v1 orders (seed 000): 주문 등록, 주문 목록·통계, 주문 단건 조회, 주문 취소.
//!
//! An order is placed for the acting user; a new order takes matching pool leads at
//! once, oldest first. Amounts are decimal strings; VAT is shown separately when the
//! product's price excludes it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use domain::order::{Order, OrderLine, OrderSummary};
use domain::ports::{Clock, OrderRepository, ReferenceRepository};
use domain::service::orders::{OrderListQuery, OrderRequest, OrderService, line_amount, line_status};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, acting_user};
use crate::error::{ApiError, ErrorResponse};
use crate::extract::{ActingBody, ActingQuery, optional_body};
use crate::idempotency::Principal;
use crate::params::PageParams;
use crate::state::AppState;
use crate::wire::ProductRef;
use crate::wire::{Pagination, timestamp};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_order).service(list_orders).service(get_order).service(cancel_order);
}

/// One `{region, quantity}` line.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegionQuantity {
    /// A region `code` of `GET /api/v1/regions`.
    #[schema(min_length = 1, example = "서울")]
    pub region: String,
    /// At least 1.
    // Up to `domain::order::MAX_LINE_QUANTITY` (tests/api/orders.rs checks the document says so).
    #[schema(minimum = 1, maximum = 100000)]
    pub quantity: i64,
}

/// 주문 등록.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateOrderRequest {
    #[schema(pattern = "^[A-Za-z0-9._@:-]{1,128}$")]
    pub mohom_id: Option<String>,
    #[schema(format = Uuid)]
    pub product_id: String,
    /// One line per region.
    #[schema(min_items = 1)]
    pub regions: Vec<RegionQuantity>,
    /// At most this many leads a day (in the product's time zone).
    #[schema(minimum = 1)]
    pub daily_limit: Option<i64>,
    /// At most 1000 characters; a blank memo is none.
    #[schema(max_length = 1000)]
    pub memo: Option<String>,
}

/// One line of an order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderLineDto {
    pub id: Uuid,
    pub region: String,
    pub quantity: u64,
    pub delivered: u64,
    #[schema(value_type = String, example = "30000")]
    pub unit_price: String,
    /// Unit price × quantity (before VAT).
    #[schema(value_type = String)]
    pub amount: String,
    /// `OPEN` while it takes leads, `FULL` when delivered, `CLOSED` when the order is cancelled.
    pub status: &'static str,
}

/// An order.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderDto {
    pub id: Uuid,
    pub product_id: Uuid,
    pub product: ProductRef,
    /// `PENDING`, `IN_PROGRESS`, `COMPLETED` or `CANCELLED`.
    pub status: String,
    pub lines: Vec<OrderLineDto>,
    pub quantity: u64,
    pub delivered_quantity: u64,
    #[schema(value_type = String)]
    pub unit_price: String,
    pub prices_exclude_vat: bool,
    #[schema(value_type = String)]
    pub subtotal: String,
    #[schema(value_type = String)]
    pub vat: String,
    /// Subtotal + VAT.
    #[schema(value_type = String)]
    pub total_amount: String,
    /// Refunded on cancel (unit price × undelivered, with VAT when it applies).
    #[schema(value_type = String)]
    pub refund_amount: String,
    pub daily_limit: Option<u64>,
    pub memo: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub cancelled_at: Option<String>,
}

impl OrderLineDto {
    fn of(order: &Order, line: &OrderLine) -> Self {
        Self {
            id: line.id,
            region: line.region.clone(),
            quantity: line.quantity,
            delivered: line.delivered,
            unit_price: order.unit_price.to_string(),
            amount: line_amount(order, line).map(|m| m.to_string()).unwrap_or_default(),
            status: line_status(order, line).as_str(),
        }
    }
}

impl From<&Order> for OrderDto {
    fn from(o: &Order) -> Self {
        Self {
            id: o.id,
            product_id: o.product_id,
            product: ProductRef { id: o.product_id, name: o.product_name.clone() },
            status: o.status.as_str().to_owned(),
            lines: o.lines.iter().map(|line| OrderLineDto::of(o, line)).collect(),
            quantity: o.quantity,
            delivered_quantity: o.delivered,
            unit_price: o.unit_price.to_string(),
            prices_exclude_vat: o.prices_exclude_vat,
            subtotal: o.amounts.subtotal.to_string(),
            vat: o.amounts.vat.to_string(),
            total_amount: o.amounts.total.to_string(),
            refund_amount: o.refunded.to_string(),
            daily_limit: o.daily_limit,
            memo: o.memo.clone(),
            created_at: timestamp(o.created_at),
            updated_at: timestamp(o.updated_at),
            cancelled_at: o.cancelled_at.map(timestamp),
        }
    }
}

/// The order use cases over the app's stores.
fn service(state: &AppState) -> OrderService<'_, impl OrderRepository, impl ReferenceRepository, dyn Clock> {
    OrderService::new(&state.orders, &state.reference, &*state.clock)
}

/// 주문 등록: places an order; matching pool leads are delivered at once, oldest first.
#[utoipa::path(
    tag = "orders",
    request_body = CreateOrderRequest,
    responses(
        (status = 201, body = OrderDto, description = "the order, with what was delivered at once"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED: regions, quantities, dailyLimit, productId"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND or PRODUCT_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "PRODUCT_NOT_ON_SALE"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/orders")]
pub async fn create_order(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<CreateOrderRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let buyer = acting_user(&state, &caller, body.mohom_id.as_deref()).await?;
    let idempotent = Principal::acting(&caller, &buyer);
    let principal = caller.principal().acting_as(buyer);
    crate::idempotency::run(&state, &idempotent, &req, &body, || async {
        let request = OrderRequest {
            product_id: body.product_id.clone(),
            regions: body.regions.iter().map(|r| (r.region.clone(), r.quantity)).collect(),
            daily_limit: body.daily_limit,
            memo: body.memo.clone(),
        };
        let order = service(&state).place(&principal, request).await?;
        Ok((StatusCode::CREATED, OrderDto::from(&order)))
    })
    .await
}

/// Order list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct OrderListFilter {
    /// Required with an API key.
    pub mohom_id: Option<String>,
    /// `PENDING`, `IN_PROGRESS`, `COMPLETED` or `CANCELLED`.
    pub status: Option<String>,
    pub product_id: Option<String>,
    /// Orders created at or after this instant (RFC 3339).
    pub from: Option<String>,
    /// Orders created before this instant (RFC 3339).
    pub to: Option<String>,
}

/// Orders by status.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub struct ByStatus {
    pub pending: u64,
    pub in_progress: u64,
    pub completed: u64,
    pub cancelled: u64,
}

/// Totals over the whole filter, not the page.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrdersSummary {
    pub total_orders: u64,
    pub total_quantity: u64,
    pub delivered_quantity: u64,
    /// Undelivered units of open orders.
    pub remaining_quantity: u64,
    #[schema(value_type = String)]
    pub total_amount: String,
    #[schema(value_type = String)]
    pub refunded_amount: String,
    pub by_status: ByStatus,
}

/// 주문 목록·통계.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrdersListWithSummaryResponse {
    pub data: Vec<OrderDto>,
    pub pagination: Pagination,
    pub summary: OrdersSummary,
}

/// 주문 목록·통계: the acting user's orders, newest first, with a summary over the
/// whole filter.
#[utoipa::path(
    tag = "orders",
    params(OrderListFilter, PageParams),
    responses(
        (status = 200, body = OrdersListWithSummaryResponse, description = "one page and the summary"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/orders")]
pub async fn list_orders(
    state: web::Data<AppState>,
    caller: Caller,
    filter: web::Query<OrderListFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, ApiError> {
    let principal = crate::auth::principal(&state, &caller, filter.mohom_id.as_deref()).await?;
    let page = page.parse()?;
    let query = OrderListQuery {
        status: filter.status.as_deref(),
        product_id: filter.product_id.as_deref(),
        from: filter.from.as_deref(),
        to: filter.to.as_deref(),
    };
    let (result, summary) = service(&state).list(&principal, query, page).await?;
    Ok(HttpResponse::Ok().json(OrdersListWithSummaryResponse {
        pagination: Pagination::from(&result),
        data: result.items.iter().map(OrderDto::from).collect(),
        summary: OrdersSummary::from(&summary),
    }))
}

impl From<&OrderSummary> for OrdersSummary {
    fn from(summary: &OrderSummary) -> Self {
        Self {
            total_orders: summary.total_orders,
            total_quantity: summary.total_quantity,
            delivered_quantity: summary.delivered_quantity,
            remaining_quantity: summary.remaining_quantity,
            total_amount: money_text(summary.total_amount),
            refunded_amount: money_text(summary.refunded_amount),
            by_status: ByStatus {
                pending: summary.pending,
                in_progress: summary.in_progress,
                completed: summary.completed,
                cancelled: summary.cancelled,
            },
        }
    }
}

fn money_text(value: rust_decimal::Decimal) -> String {
    domain::money::Money::new(value).map(|m| m.to_string()).unwrap_or_else(|_| value.to_string())
}

fn order_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid("orderId", "must be a UUID"))
}

/// 주문 단건 조회.
#[utoipa::path(
    tag = "orders",
    params(("orderId" = Uuid, Path, description = "Order id"), ActingQuery),
    responses(
        (status = 200, body = OrderDto, description = "the order"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "ORDER_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/orders/{orderId}")]
pub async fn get_order(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ActingQuery>,
) -> Result<HttpResponse, ApiError> {
    let id = order_id(&path)?;
    let principal = crate::auth::principal(&state, &caller, query.mohom_id.as_deref()).await?;
    let order = service(&state).detail(&principal, id).await?;
    Ok(HttpResponse::Ok().json(OrderDto::from(&order)))
}

/// 주문 취소: refunds the undelivered remainder; 409 `ORDER_NOT_CANCELLABLE` when the
/// order is completed or already cancelled.
#[utoipa::path(
    tag = "orders",
    params(("orderId" = Uuid, Path, description = "Order id"), ActingQuery),
    request_body(content = Option<ActingBody>, description = "`mohomId` here or in the query"),
    responses(
        (status = 200, body = OrderDto, description = "the cancelled order with its refundAmount"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "ORDER_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "ORDER_NOT_CANCELLABLE"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/orders/{orderId}/cancel")]
pub async fn cancel_order(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<String>,
    query: web::Query<ActingQuery>,
    req: HttpRequest,
    body: Result<web::Json<Option<ActingBody>>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    let body = optional_body(&req, body)?;
    let id = order_id(&path)?;
    let mohom = body.and_then(|b| b.mohom_id).or_else(|| query.mohom_id.clone());
    let principal = crate::auth::principal(&state, &caller, mohom.as_deref()).await?;
    let order = service(&state).cancel(&principal, id).await.map_err(ApiError::from)?;
    Ok(HttpResponse::Ok().json(OrderDto::from(&order)))
}
