//! The admin API (`/admin/...`): users and roles, erasure of others, the audit trail. Admins
//! only; a change takes effect on every instance at the next request (tokens and roles are
//! read from the database on each request).

use axum::Json;
use axum::extract::{MatchedPath, State};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use serde_json::Value;
use time::PrimitiveDateTime;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{
    IntoParams,
    openapi::path::{Parameter, ParameterIn},
};

use super::AppState;
use super::access::{Erased, delete_items_schema, erase, user_path};
use super::error::{ApiError, HttpError, NotAuthenticatedResponse, ValidationErrorResponse};
use super::fastapi::{
    BodyModel, FieldError, Fields, PathParams, QueryParams, RawBody, Validator, literal_error,
};
use super::origin::Origin;
use super::paging::{query_param, with_keyset_link};
use super::users::UserCreate;
use crate::audit::{self, Action};
use crate::authz::Caller;
use crate::compliance::AccountView;
use crate::domain::{AccountFilter, UserWithToken};

const ROLES: &[&str] = &["user", "admin"];

fn admin(caller: &Caller) -> Result<(), ApiError> {
    caller
        .require_admin()
        .map_err(|_| ApiError::Forbidden("Admins only"))
}

/// `POST /admin/users/{user_id}/role` body.
pub struct RoleChange {
    pub admin: bool,
}

impl BodyModel for RoleChange {
    const NAME: &'static str = "RoleChange";
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self> {
        Some(Self {
            admin: fields.literal("role", ROLES)? == "admin",
        })
    }
}

impl utoipa::PartialSchema for RoleChange {
    fn schema() -> RefOr<Schema> {
        let role = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(ROLES.iter().copied()));
        ObjectBuilder::new()
            .property("role", role)
            .required("role")
            .into()
    }
}

impl utoipa::ToSchema for RoleChange {}

/// `POST /admin/users/{user_id}/erase` body (may be empty).
pub struct AdminErase {
    pub delete_items: bool,
}

impl BodyModel for AdminErase {
    const NAME: &'static str = "AdminErase";
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self> {
        Some(Self {
            delete_items: fields.optional_bool("delete_items")?.unwrap_or(false),
        })
    }
}

impl utoipa::PartialSchema for AdminErase {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property("delete_items", delete_items_schema())
            .into()
    }
}

impl utoipa::ToSchema for AdminErase {}

/// The query of `GET /admin/users`.
pub struct UserSearch;

impl IntoParams for UserSearch {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let int = || {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
        };
        vec![
            query_param(
                "q",
                "Part of the email, any case",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(320)),
            ),
            query_param(
                "include_inactive",
                "Also deactivated users",
                ObjectBuilder::new().schema_type(Type::Boolean),
            ),
            query_param("after", "Keyset position: users with a larger id", int()),
            query_param(
                "limit",
                "Users to return (1 to 1000, default 100)",
                int()
                    .minimum(Some(1))
                    .maximum(Some(super::fastapi::MAX_LIMIT)),
            ),
        ]
    }
}

/// The query of `GET /admin/audit`.
pub struct AuditSearch;

impl IntoParams for AuditSearch {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let int = || {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
        };
        let time = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$"))
                .examples(["2026-12-01T00:00:00"])
        };
        let actions = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(Action::ALL.iter().map(|a| a.as_str())));
        let objects = ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(["user", "item", "token"]));
        vec![
            query_param("actor", "Made by this user id", int()),
            query_param("user", "Made by or concerning this user id", int()),
            query_param(
                "object_type",
                "With object_id: records about this object",
                objects,
            ),
            query_param("object_id", "With object_type", int()),
            query_param("action", "Only this action", actions),
            query_param("since", "At or after this UTC time", time()),
            query_param("until", "Before this UTC time", time()),
            query_param(
                "before",
                "Keyset position: records with a smaller id (newest first)",
                int(),
            ),
            query_param(
                "limit",
                "Records to return (1 to 1000, default 100)",
                int()
                    .minimum(Some(1))
                    .maximum(Some(super::fastapi::MAX_LIMIT)),
            ),
        ]
    }
}

/// Users by id, inactive ones too when asked, with an email search.
#[utoipa::path(
    get, path = "/admin/users", tag = "admin",
    params(UserSearch),
    responses(
        (status = 200, description = "Users by id; `Link: rel=\"next\"` when more may follow", body = Vec<AccountView>),
        NotAuthenticatedResponse,
        (status = 403, description = "Not an admin", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn list_users(
    caller: Caller,
    State(state): State<AppState>,
    route: MatchedPath,
    query: QueryParams,
) -> Result<Response, ApiError> {
    admin(&caller)?;
    let mut input = Validator::new();
    let q = input.query_text(&query, "q", 320);
    let inactive = input.query_bool(&query, "include_inactive");
    let after = input.optional_query_int(&query, "after", 0);
    let limit = input.limit(&query);
    let (((q, inactive), after), limit) =
        input.finish_with(q.zip(inactive).zip(after).zip(limit))?;
    let filter = AccountFilter {
        email_contains: q,
        include_inactive: inactive.unwrap_or(false),
        after,
        limit,
    };
    let accounts = state.reads(&caller).admin_accounts(&filter).await?;
    let full = accounts.len() as i64 == limit;
    let last = accounts.last().map(|a| a.id);
    let views: Vec<AccountView> = accounts.iter().map(AccountView::from).collect();
    Ok(with_keyset_link(
        Json(views).into_response(),
        route.as_str(),
        &query,
        "after",
        last.filter(|_| full).map(|id| id.to_string()),
        &[],
    ))
}

/// Creates a user (whatever `SIGNUP` says) and returns it with its token, shown only here.
#[utoipa::path(
    post, path = "/admin/users", tag = "admin",
    request_body = UserCreate,
    responses(
        (status = 200, description = "The new user with its API token", body = UserWithToken),
        (status = 400, description = "Email already registered", body = HttpError),
        NotAuthenticatedResponse,
        (status = 403, description = "Not an admin, or a read-only token", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn create_user(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    body: RawBody,
) -> Result<Json<UserWithToken>, ApiError> {
    admin(&caller)?;
    let mut input = Validator::new();
    let new = input.body::<UserCreate>(&body)?;
    let UserCreate { email, password } = input.finish_with(new)?;
    let created = state
        .accounts
        .register(
            email,
            SecretString::from(password),
            false,
            None,
            &origin.by(caller.id),
        )
        .await?;
    Ok(Json(created))
}

fn found(account: Option<crate::domain::Account>) -> Result<Json<AccountView>, ApiError> {
    account
        .map(|a| Json(AccountView::from(&a)))
        .ok_or(ApiError::NotFound("User not found"))
}

/// Makes a deactivated user active again (not an erased one).
#[utoipa::path(
    post, path = "/admin/users/{user_id}/activate", tag = "admin",
    params(("user_id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user, active", body = AccountView),
        NotAuthenticatedResponse,
        (status = 403, description = "Not an admin, or a read-only token", body = HttpError),
        (status = 404, description = "User not found (absent or erased)", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn activate(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    path: PathParams,
) -> Result<Json<AccountView>, ApiError> {
    admin(&caller)?;
    let user_id = user_path(&path)?;
    found(
        state
            .store
            .activate_user(user_id, &origin.by(caller.id))
            .await?,
    )
}

/// Deactivates a user as `DELETE /users/{user_id}` does (its items to the active user with
/// the smallest id).
#[utoipa::path(
    post, path = "/admin/users/{user_id}/deactivate", tag = "admin",
    params(("user_id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user, inactive", body = AccountView),
        NotAuthenticatedResponse,
        (status = 403, description = "Not an admin, or a read-only token", body = HttpError),
        (status = 404, description = "User not found (absent or inactive)", body = HttpError),
        (status = 409, description = "The last active user", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn deactivate(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    path: PathParams,
) -> Result<Json<AccountView>, ApiError> {
    admin(&caller)?;
    let user_id = user_path(&path)?;
    super::users::deactivate(&state, user_id, &origin.by(caller.id)).await?;
    found(state.store.account(user_id).await?)
}

/// Gives or takes the admin role.
#[utoipa::path(
    post, path = "/admin/users/{user_id}/role", tag = "admin",
    params(("user_id" = i64, Path, description = "User id")),
    request_body = RoleChange,
    responses(
        (status = 200, description = "The user with its role", body = AccountView),
        NotAuthenticatedResponse,
        (status = 403, description = "Not an admin, or a read-only token", body = HttpError),
        (status = 404, description = "User not found (absent or erased)", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn set_role(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    path: PathParams,
    body: RawBody,
) -> Result<Json<AccountView>, ApiError> {
    admin(&caller)?;
    let mut input = Validator::new();
    let user_id = input.path_id(&path, "user_id");
    let change = input.body::<RoleChange>(&body)?;
    let (user_id, change) = input.finish_with(user_id.zip(change))?;
    found(
        state
            .store
            .set_admin(user_id, change.admin, &origin.by(caller.id))
            .await?,
    )
}

/// Erases a user's personal data for good (see `POST /users/{user_id}/erase`).
#[utoipa::path(
    post, path = "/admin/users/{user_id}/erase", tag = "admin",
    params(("user_id" = i64, Path, description = "User id")),
    request_body(content = AdminErase, description = "Optional", content_type = "application/json"),
    responses(
        (status = 200, description = "Erased", body = Erased),
        NotAuthenticatedResponse,
        (status = 403, description = "Not an admin, or a read-only token", body = HttpError),
        (status = 404, description = "User not found (absent or erased already)", body = HttpError),
        (status = 409, description = "The last active user, with its items to hand over", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn erase_user(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    path: PathParams,
    body: RawBody,
) -> Result<Json<Erased>, ApiError> {
    admin(&caller)?;
    let mut input = Validator::new();
    let user_id = input.path_id(&path, "user_id");
    let request = if body.bytes().iter().all(u8::is_ascii_whitespace) {
        Some(AdminErase {
            delete_items: false,
        })
    } else {
        input.body::<AdminErase>(&body)?
    };
    let (user_id, request) = input.finish_with(user_id.zip(request))?;
    erase(&state, user_id, request.delete_items, &origin.by(caller.id)).await
}

fn query_time(
    input: &mut Validator,
    query: &QueryParams,
    name: &'static str,
) -> Option<Option<PrimitiveDateTime>> {
    let raw = input.query_text(query, name, 32)?;
    let Some(raw) = raw else { return Some(None) };
    match PrimitiveDateTime::parse(&raw, crate::domain::NAIVE_SECONDS) {
        Ok(at) => Some(Some(at)),
        Err(_) => {
            input.error(FieldError {
                kind: "datetime_from_date_parsing".into(),
                loc: vec!["query".into(), name.into()],
                msg: "Input should be a valid datetime, YYYY-MM-DDTHH:MM:SS in UTC".into(),
                input: Value::String(raw),
                ctx: None,
            });
            None
        }
    }
}

fn query_literal<T: Copy>(
    input: &mut Validator,
    query: &QueryParams,
    name: &'static str,
    allowed: &[(&'static str, T)],
) -> Option<Option<T>> {
    let raw = input.query_text(query, name, 32)?;
    let Some(raw) = raw else { return Some(None) };
    if let Some((_, value)) = allowed.iter().find(|(text, _)| *text == raw) {
        return Some(Some(*value));
    }
    let names: Vec<&str> = allowed.iter().map(|(text, _)| *text).collect();
    input.error(literal_error(
        vec!["query".into(), name.into()],
        &raw,
        &names,
    ));
    None
}

/// The audit trail, newest first, with filters and keyset paging (`before`).
#[utoipa::path(
    get, path = "/admin/audit", tag = "admin",
    params(AuditSearch),
    responses(
        (status = 200, description = "Audit records, newest first; `Link: rel=\"next\"` when more may follow", body = Vec<audit::Record>),
        NotAuthenticatedResponse,
        (status = 403, description = "Not an admin", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn list_audit(
    caller: Caller,
    State(state): State<AppState>,
    route: MatchedPath,
    query: QueryParams,
) -> Result<Response, ApiError> {
    admin(&caller)?;
    let mut input = Validator::new();
    let actor = input.optional_query_int(&query, "actor", 0);
    let about = input.optional_query_int(&query, "user", 0);
    let objects: Vec<(&'static str, &'static str)> =
        ["user", "item", "token"].iter().map(|o| (*o, *o)).collect();
    let object_type = query_literal(&mut input, &query, "object_type", &objects);
    let object_id = input.optional_query_int(&query, "object_id", 0);
    let actions: Vec<(&'static str, Action)> =
        Action::ALL.iter().map(|a| (a.as_str(), *a)).collect();
    let action = query_literal(&mut input, &query, "action", &actions);
    let since = query_time(&mut input, &query, "since");
    let until = query_time(&mut input, &query, "until");
    let before = input.optional_query_int(&query, "before", 0);
    let limit = input.limit(&query);
    let filter = (|| {
        Some(audit::Filter {
            actor_id: actor?,
            about: about?,
            object: object_type?
                .zip(object_id?)
                .map(|(t, id)| (t.to_owned(), id)),
            action: action?,
            since: since?,
            until: until?,
            before: before?,
            limit: limit?,
        })
    })();
    let filter = input.finish_with(filter)?;
    let limit = filter.limit;
    let records = state.reads(&caller).audit_records(&filter).await?;
    let full = records.len() as i64 == limit;
    let last = records.last().map(|r| r.id);
    Ok(with_keyset_link(
        Json(records).into_response(),
        route.as_str(),
        &query,
        "before",
        last.filter(|_| full).map(|id| id.to_string()),
        &[],
    ))
}
