//! Request parts shared by several resources: the acting user of a member-scoped call
//! (`mohomId` in the query or the body), an optional JSON body, and path ids.
//!
//! Invariants: an optional body that is present must parse (it is never silently
//! ignored); a malformed path id is 400 `VALIDATION_FAILED` naming the parameter.

use actix_web::{HttpRequest, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::error::ApiError;

/// The user a lead call acts for.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ActingQuery {
    /// Required with an API key.
    pub mohom_id: Option<String>,
}

/// A `{leadId}` path segment.
///
/// # Errors
/// 400 `VALIDATION_FAILED` naming `leadId` when it is not a UUID.
pub fn lead_id(raw: &str) -> Result<Uuid, ApiError> {
    raw.parse().map_err(|_| ApiError::invalid("leadId", "must be a UUID"))
}

/// The user a POST acts for.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActingBody {
    pub mohom_id: Option<String>,
}

/// An optional JSON body: none when the request has no body at all, or a JSON `null`; a
/// body that is there must parse (400 `INVALID_JSON`, 415 `UNSUPPORTED_MEDIA_TYPE`), never
/// silently ignored.
///
/// # Errors
/// The JSON extractor's error when a body is there and does not parse.
pub fn optional_body<T>(
    req: &HttpRequest,
    body: Result<web::Json<Option<T>>, actix_web::Error>,
) -> Result<Option<T>, actix_web::Error> {
    let headers = req.headers();
    let no_body = !headers.contains_key(actix_web::http::header::TRANSFER_ENCODING)
        && headers.get(actix_web::http::header::CONTENT_LENGTH).is_none_or(|len| len.as_bytes() == b"0");
    match body {
        Ok(json) => Ok(json.into_inner()),
        Err(_) if no_body => Ok(None),
        Err(err) => Err(err),
    }
}
