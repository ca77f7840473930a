//! Request ids: every response carries `X-Request-Id`, every log line of the request
//! carries the same id (it is tracing-actix-web's `request_id` span field), and every
//! error body repeats it as `requestId`.
//!
//! The id is held in a task-local for the duration of the request, so that
//! `ApiError::error_response`, which has no access to the request, can still name it.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being served, if any.
#[must_use]
pub fn current() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Middleware: scopes the request id and stamps it on the response.
///
/// # Errors
/// Passes the inner service's error through (none arise below this middleware).
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let id = req
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map_or_else(|| uuid::Uuid::now_v7().to_string(), ToString::to_string);
    // Handler and extractor errors are already responses here (actix converts them in
    // the handler service, inside this scope); this is the innermost middleware, so no
    // other error can arise below it.
    let mut response = REQUEST_ID.scope(id.clone(), next.call(req)).await?.map_into_boxed_body();
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    Ok(response)
}
