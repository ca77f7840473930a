//! 모홈 사용자 관리: an org's users, with personal data encrypted at rest and masked here.
//!
//! Who may call: an org's API key manages that org's users (a partner's `MEMBER`s and
//! `LEADER`s; the operator's `CS_MANAGER`s and `ADMIN`s); a Bearer `ADMIN` of the
//! operator org manages the operator's users; any other Bearer caller gets 403.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, put, web};
use domain::identity::{MohomId, NewUser, Role, User, UserChange, UserFields, UserQuery, UserSearchTerm, UserSortKey};
use domain::pii::mask;
use domain::service::users::{ActedBy, OrgScope, UserService};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::auth::Caller;
use crate::error::{ApiError, ErrorResponse};
use crate::gate::UserAdmin;
use crate::idempotency::Principal;
use crate::params::{PageParams, SortParams, page_and_sort};
use crate::state::AppState;
use crate::wire::{Pagination, timestamp};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(create_user).service(update_user).service(list_users).service(delete_user);
}

/// The org whose users this caller manages.
/// The org a user admin manages: its own (`UserAdmin` has refused everyone else).
fn scope(caller: &Caller) -> Result<OrgScope, ApiError> {
    crate::gate::user_admin(caller)?;
    Ok(OrgScope { org_id: caller.org_id(), kind: caller.org_kind() })
}

/// `role` of a new user: one of the roles (which ones an org may hold depends on its kind).
#[allow(deprecated)] // `example`, as the derived schemas write it
fn role_schema() -> utoipa::openapi::schema::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .description(Some("`MEMBER` or `LEADER` (partner orgs), `CS_MANAGER` or `ADMIN` (the operator)."))
        .enum_values(Some(Role::ALL.iter().map(|r| r.as_str())))
        .example(Some("MEMBER".into()))
        .build()
}

/// `role` of an update: a role, or null (no change).
fn role_change_schema() -> utoipa::openapi::schema::Object {
    let values = Role::ALL.iter().map(|r| serde_json::Value::from(r.as_str())).chain([serde_json::Value::Null]);
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::String,
            utoipa::openapi::schema::Type::Null,
        ]))
        .enum_values(Some(values))
        .build()
}

/// 사용자 추가.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateUserRequest {
    /// The partner's id of the user, unique in the org.
    #[schema(example = "mohom-0001", pattern = "^[A-Za-z0-9._@:-]{1,128}$")]
    pub mohom_id: String,
    /// 1 to 100 characters, not blank.
    #[schema(
        example = "홍길동",
        min_length = 1,
        max_length = 100,
        pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\s\x00-\x1f\x7f-\x9f][^\x00-\x1f\x7f-\x9f]*$"
    )]
    pub name: String,
    /// A Korean or Vietnamese mobile number, any common format.
    #[schema(
        example = "010-1234-5678",
        pattern = r"^((\+82 ?|0)1[016789]([ .-]?[0-9]){7,8}|(\+84 ?|0)[35789]([ .-]?[0-9]){8})$"
    )]
    pub phone: String,
    #[schema(example = "hong@example.com", format = Email, max_length = 254)]
    pub email: String,
    #[schema(schema_with = role_schema)]
    pub role: String,
    /// 1 to 128 characters.
    #[schema(min_length = 1, max_length = 128)]
    pub team_id: Option<String>,
}

/// 사용자 업데이트: only the fields given change.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateUserRequest {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    #[schema(schema_with = role_change_schema)]
    pub role: Option<String>,
    pub team_id: Option<String>,
}

/// A user; personal data masked.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserResponse {
    pub id: Uuid,
    pub mohom_id: String,
    /// Masked, e.g. `홍*동`.
    pub name: String,
    /// Masked, e.g. `010****5678`.
    pub phone: Option<String>,
    /// Masked, e.g. `ho**@example.com`.
    pub email: Option<String>,
    pub role: String,
    pub team_id: Option<String>,
    /// `ACTIVE` or `DELETED`.
    pub status: String,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&User> for UserResponse {
    fn from(u: &User) -> Self {
        Self {
            id: u.id,
            mohom_id: u.mohom_id.as_str().to_owned(),
            name: mask::mask_name(u.name.as_str()),
            phone: u.phone.as_ref().map(|p| mask::mask_phone(&p.national())),
            email: u.email.as_ref().map(|e| mask::mask_email(e.as_str())),
            role: u.role.as_str().to_owned(),
            team_id: u.team_id.clone(),
            status: u.status.as_str().to_owned(),
            created_at: timestamp(u.created_at),
            updated_at: timestamp(u.updated_at),
        }
    }
}

/// 사용자 리스트.
#[derive(Debug, Serialize, ToSchema)]
pub struct UsersListResponse {
    pub data: Vec<UserResponse>,
    pub pagination: Pagination,
}

/// User list filters.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// `MEMBER`, `LEADER`, `CS_MANAGER` or `ADMIN`.
    pub role: Option<String>,
    /// An exact phone number (any format), its last 4 digits, an exact email or an exact name.
    pub search: Option<String>,
}

/// 사용자 추가: creates a user of the caller's org (or revives a deleted one).
#[utoipa::path(
    tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, body = UserResponse, description = "the user, personal data masked"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED or INVALID_JSON"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN or ROLE_NOT_ALLOWED"),
        (status = 409, body = ErrorResponse, description = "USER_ALREADY_EXISTS"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[post("/api/v1/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    UserAdmin(caller): UserAdmin,
    req: HttpRequest,
    body: web::Json<CreateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let scope = scope(&caller)?;
    let body = body.into_inner();
    crate::idempotency::run(&state, &Principal::caller(&caller), &req, &body, || async {
        let new = NewUser::parse(&UserFields {
            mohom_id: Some(&body.mohom_id),
            name: Some(&body.name),
            phone: Some(&body.phone),
            email: Some(&body.email),
            role: Some(&body.role),
            team_id: body.team_id.as_deref(),
        })?;
        let (actor, request_id) = (caller.actor(), crate::request_id::current());
        let by = ActedBy { actor: &actor, request_id: request_id.as_deref() };
        let user = UserService::new(&state.users, &*state.clock).create(by, scope, new).await?;
        Ok((StatusCode::CREATED, UserResponse::from(&user)))
    })
    .await
}

fn path_mohom_id(raw: &str) -> Result<MohomId, ApiError> {
    Ok(MohomId::parse(raw)?)
}

/// 사용자 업데이트.
#[utoipa::path(
    tag = "users",
    params(("mohomId" = String, Path, description = "The user's mohomId")),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, body = UserResponse, description = "the updated user, personal data masked"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED or INVALID_JSON"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN or ROLE_NOT_ALLOWED"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[put("/api/v1/users/{mohomId}")]
pub async fn update_user(
    state: web::Data<AppState>,
    UserAdmin(caller): UserAdmin,
    path: web::Path<String>,
    body: web::Json<UpdateUserRequest>,
) -> Result<HttpResponse, ApiError> {
    let scope = scope(&caller)?;
    let mohom_id = path_mohom_id(&path)?;
    let change = UserChange::parse(&UserFields {
        mohom_id: None,
        name: body.name.as_deref(),
        phone: body.phone.as_deref(),
        email: body.email.as_deref(),
        role: body.role.as_deref(),
        team_id: body.team_id.as_deref(),
    })?;
    let (actor, request_id) = (caller.actor(), crate::request_id::current());
    let by = ActedBy { actor: &actor, request_id: request_id.as_deref() };
    let user = UserService::new(&state.users, &*state.clock).update(by, scope, &mohom_id, change).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(&user)))
}

/// 사용자 리스트: active users of the caller's org, personal data masked.
///
/// `search` matches through blind indexes only: a full phone number in any format, the
/// last 4 digits of a phone, a full email, or an exact name. `sortBy`: `createdAt`
/// (default), `updatedAt`, `mohomId`.
#[utoipa::path(
    tag = "users",
    params(UserFilter, PageParams, SortParams),
    responses(
        (status = 200, body = UsersListResponse, description = "one page of users"),
        (status = 400, body = ErrorResponse, description = "VALIDATION_FAILED"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[get("/api/v1/users")]
pub async fn list_users(
    state: web::Data<AppState>,
    UserAdmin(caller): UserAdmin,
    filter: web::Query<UserFilter>,
    page: web::Query<PageParams>,
    sort: web::Query<SortParams>,
) -> Result<HttpResponse, ApiError> {
    let scope = scope(&caller)?;
    let (page, sort) = page_and_sort::<UserSortKey>(&page, &sort)?;
    let role = match filter.role.as_deref() {
        Some(raw) => Some(
            raw.parse::<Role>()
                .map_err(|_| ApiError::invalid("role", "must be one of MEMBER, LEADER, CS_MANAGER, ADMIN"))?,
        ),
        None => None,
    };
    let search = filter.search.as_deref().filter(|s| !s.trim().is_empty()).map(UserSearchTerm::parse).transpose()?;
    if search.is_some() {
        crate::auth::limit_search(&state, caller.principal_id())?;
    }
    let query = UserQuery { role, search, page, sort };
    let result = UserService::new(&state.users, &*state.clock).list(scope.org_id, &query).await?;
    Ok(HttpResponse::Ok().json(UsersListResponse {
        pagination: Pagination::from(&result),
        data: result.items.iter().map(UserResponse::from).collect(),
    }))
}

/// 사용자 삭제: soft delete; the user can no longer act or log in.
#[utoipa::path(
    tag = "users",
    params(("mohomId" = String, Path, description = "The user's mohomId")),
    responses(
        (status = 200, body = UserResponse, description = "the deleted user (status DELETED)"),
        (status = 401, body = ErrorResponse, description = "UNAUTHORIZED"),
        (status = 403, body = ErrorResponse, description = "FORBIDDEN"),
        (status = 404, body = ErrorResponse, description = "USER_NOT_FOUND"),
        (status = 409, body = ErrorResponse, description = "USER_OWNS_LEADS"),
    ),
    security(("api_key" = []), ("bearer" = []))
)]
#[delete("/api/v1/users/{mohomId}")]
pub async fn delete_user(
    state: web::Data<AppState>,
    UserAdmin(caller): UserAdmin,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let scope = scope(&caller)?;
    let mohom_id = path_mohom_id(&path)?;
    let (actor, request_id) = (caller.actor(), crate::request_id::current());
    let by = ActedBy { actor: &actor, request_id: request_id.as_deref() };
    let user = UserService::new(&state.users, &*state.clock).delete(by, scope.org_id, &mohom_id).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(&user)))
}
