//! The OpenAPI document and its viewer. The viewer's assets (Swagger UI) are compiled
//! into the binary by `swagger-ui-dist`: nothing is downloaded at build or run time.

use actix_web::{HttpResponse, get, web};
use swagger_ui_dist::{ApiDefinition, OpenApiSource};

use crate::openapi;

pub const OPENAPI_PATH: &str = "/api-docs/openapi.json";

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(openapi_json).route("/docs", web::get().to(docs_redirect)).service(swagger_ui_dist::generate_scope(
        ApiDefinition {
            uri_prefix: "/docs",
            api_definition: OpenApiSource::Uri(OPENAPI_PATH),
            title: Some("LDBDS API"),
        },
    ));
}

/// The OpenAPI 3.1 document of this server.
#[get("/api-docs/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(openapi::document_json())
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect().insert_header(("Location", "/docs/")).finish()
}
