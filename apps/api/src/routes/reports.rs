//! Report replies shared by the coverage and medical report endpoints: a document
//! rendered to PDF off the async workers, answered as an attachment.
//!
//! Invariant: the file name carries only the analysis id, never the person.

use actix_web::HttpResponse;
use actix_web::http::header;
use actix_web::web;
use domain::funnel::document::Document;
use domain::ports::PdfRenderer;
use domain::service::funnel::FunnelError;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::state::AppState;

/// A PDF report.
#[derive(Debug, ToSchema)]
#[schema(value_type = String, format = Binary)]
#[allow(dead_code)]
pub struct PdfFile(Vec<u8>);

/// Renders `document` (CPU-bound, on the blocking pool) and answers it as `file_name`.
pub async fn pdf_reply(state: &AppState, document: Document, file_name: String) -> Result<HttpResponse, ApiError> {
    let renderer = std::sync::Arc::clone(&state.pdf);
    let bytes = web::block(move || renderer.render(&document))
        .await
        .map_err(|e| ApiError::from(FunnelError::Render(e.to_string())))?
        .map_err(|e| ApiError::from(FunnelError::Render(e.0)))?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, format!("attachment; filename=\"{file_name}\"")))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes))
}
