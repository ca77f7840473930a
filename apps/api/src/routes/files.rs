//! Evidence uploads: `POST /api/v1/files/presigned` issues an upload URL (201), and
//! `PUT /api/v1/files/upload/{fileKey}` receives a file on the local store.
//!
//! Invariants:
//! - a URL is issued only for a validated request (type, size, name, purpose) of the
//!   acting user, whose org and user then own the file key;
//! - the upload endpoint is authorized by its URL's signature alone; it streams the
//!   body (bounded by the declared size, not the JSON limit), refuses it at the first
//!   byte past that size, and stores nothing unless the whole body is exactly the
//!   declared size, type and magic bytes (`domain::service::files`);
//! - the rules are `domain::service::files`'s; their refusals reach the wire through
//!   `crate::error` (the AS endpoints' file-key codes too).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, post, put, web};
use domain::files::{FilePurpose, FileType, IssuedUpload, UploadReceipt, UploadRequest, upload_content_types};
use domain::service::files::FileService;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Content, RefOr};
use utoipa::{IntoParams, Modify, ToSchema};
use uuid::Uuid;

use crate::auth::{Caller, acting_user};
use crate::error::{ApiError, ErrorResponse};
use crate::idempotency::Principal;
use crate::state::AppState;
use crate::wire::timestamp;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(presign).service(receive_upload);
}

/// 파일 업로드 Presigned URL 발급.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PresignedRequest {
    /// The user the call acts for (required with an API key).
    #[schema(pattern = "^[A-Za-z0-9._@:-]{1,128}$")]
    pub mohom_id: Option<String>,
    /// The client's file name; stored sanitized (no path, no control characters).
    // Not blank, at most `domain::files::MAX_RAW_FILE_NAME_BYTES` (tests/api/files.rs checks it).
    #[schema(min_length = 1, max_length = 1024, pattern = "\\S")]
    pub file_name: String,
    // Described and enumerated by `content_type_schema`.
    #[schema(schema_with = content_type_schema)]
    pub content_type: String,
    /// Bytes, 1 to 20971520 (20 MiB).
    // Up to `domain::files::MAX_FILE_BYTES` (tests/api/files.rs checks it).
    #[schema(minimum = 1, maximum = 20971520)]
    pub size: i64,
    // Described and enumerated by `purpose_schema`.
    #[schema(schema_with = purpose_schema)]
    pub purpose: String,
}

/// `contentType`: every spelling `domain::files::FileType` accepts.
fn content_type_schema() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(
            "`image/jpeg`, `image/png`, `image/webp`, `application/pdf`, `audio/mpeg`,\n`audio/mp4` or `audio/wav` \
             (aliases such as `audio/x-m4a` are accepted and\nanswered with the canonical type the upload must send).",
        ))
        .enum_values(Some(FileType::ACCEPTED))
        .build()
}

/// `purpose`: a `domain::files::FilePurpose`.
fn purpose_schema() -> Object {
    let codes: Vec<String> = FilePurpose::ALL.iter().map(|p| format!("`{p}`")).collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!("{}.", codes.join(", "))))
        .enum_values(Some(FilePurpose::ALL.iter().map(|p| p.as_str())))
        .build()
}

/// The upload's request body as the document states it: the file's bytes
/// (`type: string, format: binary`) under each content type an upload may be sent with
/// (`domain::files::upload_content_types`), so that a client generated from the document
/// sends the file's own type, which the upload URL was signed for.
pub struct UploadBody;

impl Modify for UploadBody {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let operation = openapi.paths.paths.get_mut("/api/v1/files/upload/{fileKey}").and_then(|i| i.put.as_mut());
        let Some(RefOr::T(body)) = operation.and_then(|o| o.request_body.as_mut()) else { return };
        let bytes = || {
            ObjectBuilder::new().schema_type(Type::String).format(Some(SchemaFormat::KnownFormat(KnownFormat::Binary)))
        };
        body.content = upload_content_types()
            .into_iter()
            .map(|content_type| (content_type.to_owned(), RefOr::T(Content::new(Some(bytes())))))
            .collect();
    }
}

/// Where and how to upload.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PresignedResponse {
    /// The key to name the file by (e.g. in an AS request's `fileKeys`).
    pub file_key: Uuid,
    pub upload_url: String,
    /// Always `PUT`.
    pub method: String,
    /// Headers the upload must send, exactly (`Content-Type`, `Content-Length`).
    pub headers: BTreeMap<String, String>,
    /// From this instant on the URL is refused.
    pub expires_at: String,
}

// Carries a credential: not printed.
domain::redacting_debug!(PresignedResponse { show: [file_key, method, headers, expires_at], redact: [upload_url] });

impl From<IssuedUpload> for PresignedResponse {
    fn from(issued: IssuedUpload) -> Self {
        Self {
            file_key: issued.file_key,
            upload_url: issued.url,
            method: issued.method.to_owned(),
            headers: issued.headers.into_iter().collect(),
            expires_at: timestamp(issued.expires_at),
        }
    }
}

/// 파일 업로드 Presigned URL 발급: an upload URL for one evidence file, valid for
/// `files.ttl_secs` (15 minutes by default). The file is usable once the PUT succeeded.
#[utoipa::path(
    tag = "files",
    request_body = PresignedRequest,
    responses(
        (status = 201, body = PresignedResponse, description = "the file key and its upload URL"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED (fileName, contentType, size, purpose) or INVALID_JSON"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/files/presigned")]
pub async fn presign(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: web::Json<PresignedRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let user = acting_user(&state, &caller, body.mohom_id.as_deref()).await?;
    let idempotent = Principal::acting(&caller, &user);
    let principal = caller.principal().acting_as(user);
    crate::idempotency::run(&state, &idempotent, &req, &body, || async {
        let request = UploadRequest {
            file_name: &body.file_name,
            content_type: &body.content_type,
            size: body.size,
            purpose: &body.purpose,
        };
        let issued = FileService::new(&state.files, &*state.clock).presign(&principal, &request).await?;
        Ok((StatusCode::CREATED, PresignedResponse::from(issued)))
    })
    .await
}

/// The signed parameters of a local upload URL.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadParams {
    /// Unix seconds from which on the URL is refused.
    pub expires: i64,
    /// HMAC-SHA256 of the URL's parameters, hex.
    // The upload's credential: `Secret` never prints it.
    #[param(value_type = String)]
    pub signature: domain::secret::Secret<String>,
}

/// A stored upload.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UploadedResponse {
    pub file_key: Uuid,
    pub size: u64,
    /// SHA-256 of the stored bytes, lowercase hex.
    pub sha256: String,
    pub uploaded_at: String,
}

impl From<UploadReceipt> for UploadedResponse {
    fn from(receipt: UploadReceipt) -> Self {
        Self {
            file_key: receipt.file_key,
            size: receipt.size,
            sha256: receipt.sha256,
            uploaded_at: timestamp(receipt.uploaded_at),
        }
    }
}

/// Local upload: the file's bytes, to the URL `POST /api/v1/files/presigned` returned.
///
/// Authorized by the URL's signature alone (no API key). The body must be exactly the
/// declared size, sent with the declared `Content-Type`, and start with that type's
/// magic bytes; a URL works once.
#[utoipa::path(
    tag = "files",
    params(("fileKey" = Uuid, Path, description = "The file key"), UploadParams),
    // The content types and the binary schema are set by `UploadBody`.
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The file's bytes, sent with the declared Content-Type (e.g. image/png)"),
    responses(
        (status = 200, body = UploadedResponse, description = "stored, with its SHA-256"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED: the body is shorter than declared or is not of the declared type (magic bytes), or a bad path or query"),
        (status = 403, body = ErrorResponse, description = "UPLOAD_URL_INVALID, UPLOAD_URL_EXPIRED or UPLOAD_CONTENT_TYPE_MISMATCH"),
        (status = 409, body = ErrorResponse, description = "UPLOAD_URL_USED"),
        (status = 413, body = ErrorResponse, description = "PAYLOAD_TOO_LARGE: more bytes than declared"),
    )
)]
#[put("/api/v1/files/upload/{fileKey}")]
pub async fn receive_upload(
    state: web::Data<AppState>,
    path: web::Path<Uuid>,
    params: web::Query<UploadParams>,
    req: HttpRequest,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok());
    let content_length = header(CONTENT_LENGTH).and_then(|v| v.trim().parse::<u64>().ok());
    let key = path.into_inner();
    let service = FileService::new(&state.files, &*state.clock);
    let mut incoming = service
        .begin_upload(key, params.expires, params.signature.expose(), header(CONTENT_TYPE), content_length)
        .await?;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::invalid("body", &format!("could not be read: {e}")))?;
        incoming.write(&chunk).await?;
    }
    let receipt = incoming.finish(state.clock.now()).await?;
    Ok(HttpResponse::Ok().json(UploadedResponse::from(receipt)))
}
