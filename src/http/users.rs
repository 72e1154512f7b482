//! `/users`: sign-up, listing, reading, deleting (the hand-over of items) and token rotation,
//! and `/me`.

use axum::Json;
use axum::extract::{MatchedPath, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};

use super::AppState;
use super::access::user_path;
use super::auth::optional_caller;
use super::error::{ApiError, HttpError, NotAuthenticatedResponse, ValidationErrorResponse};
use super::fastapi::{BodyModel, Fields, Len, PathParams, QueryParams, RawBody, Validator};
use super::idempotency::{self, Begun};
use super::origin::Origin;
use super::paging::{PageQuery, page_path, with_next_link};
use super::rate_limit::{ClientIp, per_subscriber};
use super::user_body::{self, Shape};
use crate::accounts::MIN_PASSWORD;
use crate::authz::Caller;
use crate::domain::{Account, User, UserWithToken};
use crate::idempotency::{Answer, Scope, fingerprint};
use crate::store::{Deactivation, Store};
use crate::telemetry::names;

/// Addresses not at a special-use or reserved domain (RFC 6761 and the like).
const NOT_SPECIAL_USE: &str =
    r"^(?![^@]*@(?:[^@]*\.)?(?:arpa|invalid|local|localhost|onion|test)\.?$)";

const PASSWORD: Len = Len {
    min: MIN_PASSWORD,
    max: None,
};

/// `POST /users` body.
#[derive(Debug)]
pub struct UserCreate {
    pub email: String,
    pub password: String,
}

impl BodyModel for UserCreate {
    const NAME: &'static str = "UserCreate";
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self> {
        let email = fields.email("email");
        let password = fields.required_str("password", PASSWORD);
        Some(Self {
            email: email?,
            password: password?,
        })
    }
}

impl utoipa::PartialSchema for UserCreate {
    fn schema() -> RefOr<Schema> {
        let email = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)))
            // Special-use domains are refused (as python-email-validator refuses them).
            .pattern(Some(NOT_SPECIAL_USE))
            .examples(["deadpool@example.com"]);
        let password = PASSWORD
            .schema(false)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
            .examples(["chimichangas4life"]);
        ObjectBuilder::new()
            .property("email", email)
            .required("email")
            .property("password", password)
            .required("password")
            .into()
    }
}

impl utoipa::ToSchema for UserCreate {}

/// `POST /users/{user_id}/token` body: the user's password, to prove it is really the user.
#[derive(Debug)]
pub struct TokenRotate {
    pub password: String,
}

/// A password that proves who the caller is (any non-empty text: the check is the hash).
pub(super) const ANY_PASSWORD: Len = Len { min: 1, max: None };

/// The document's schema of such a password.
pub(super) fn any_password_schema() -> ObjectBuilder {
    ANY_PASSWORD
        .schema(false)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Password)))
}

impl BodyModel for TokenRotate {
    const NAME: &'static str = "TokenRotate";
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self> {
        Some(Self {
            password: fields.required_str("password", ANY_PASSWORD)?,
        })
    }
}

impl utoipa::PartialSchema for TokenRotate {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property("password", any_password_schema())
            .required("password")
            .into()
    }
}

impl utoipa::ToSchema for TokenRotate {}

/// Creates a user and returns it with its API token (shown only here).
#[utoipa::path(
    post, path = "/users", tag = "users",
    request_body = UserCreate,
    responses(
        (status = 200, description = "The new user with its API token", body = UserWithToken),
        (status = 400, description = "Email already registered", body = HttpError),
        (status = 403, description = "Sign-up is disabled (SIGNUP=false) and no admin token was sent", body = HttpError),
        (status = 413, description = "Body over 64 KiB", body = HttpError),
        (status = 429, description = "Too many sign-ups (rate limits per client IP and per instance, or password hashing at capacity): retry after `Retry-After` seconds", body = HttpError),
        ValidationErrorResponse,
    ),
    security((), ("api_token" = []))
)]
pub async fn create_user(
    State(state): State<AppState>,
    Origin(origin): Origin,
    ClientIp(ip): ClientIp,
    route: MatchedPath,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    // An admin creating users is not limited; anybody else is, before any hashing.
    let caller = optional_caller(&state, &headers).await?;
    if let Some(caller) = caller {
        caller.require_write()?;
    }
    let admin = caller.is_some_and(|caller| caller.is_admin);
    // An admin creating a user is its actor; a sign-up has none.
    let context = match caller {
        Some(caller) if admin => origin.by(caller.id),
        _ => origin,
    };
    if !admin {
        if !state.signup {
            return Err(ApiError::Forbidden("Sign-up is disabled"));
        }
        state.rate_limits.check_signup(ip)?;
    }
    let key = idempotency::key(&headers);
    let mut input = Validator::new();
    input.idempotency_key(key.as_deref());
    let new = input.body::<UserCreate>(&body)?;
    let UserCreate { email, password } = input.finish_with(new)?;
    let fingerprint = fingerprint("POST", route.as_str(), &[], body.bytes());
    let scope = Scope::SignUp(email.clone());
    let record = match idempotency::begin(&state, key.as_deref(), scope, fingerprint).await? {
        Begun::Replay(answer) => return Ok(idempotency::replay(&answer)),
        Begun::Fresh(record) => record,
    };
    let registered = state
        .accounts
        .register(
            email,
            SecretString::from(password),
            false,
            record.as_ref(),
            &context,
        )
        .await
        .map_err(ApiError::from);
    let created = idempotency::release_on_error(&state, record.as_ref(), registered).await?;
    Ok(Json(created).into_response())
}

/// Active users by id, each with its items.
#[utoipa::path(
    get, path = "/users", tag = "users",
    params(PageQuery),
    responses(
        (status = 200, description = "Active users; a `Link: rel=\"next\"` header when more may follow", body = Vec<User>),
        NotAuthenticatedResponse,
        (status = 403, description = "AUTHZ=strict and the caller is not an admin", body = HttpError),
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
    let mut input = Validator::new();
    let page = input.page(&query);
    let page = input.finish_with(page)?;
    caller.require_board_access(state.authz)?;
    let store = state.reads(&caller);
    let accounts = store.active_accounts(page).await?;
    let returned = accounts.len();
    let body = user_body::response(store, accounts, Shape::List);
    Ok(with_next_link(
        body,
        &page_path(&route, &[]),
        &query,
        page,
        returned,
    ))
}

/// One active user with its items.
#[utoipa::path(
    get, path = "/users/{user_id}", tag = "users",
    params(("user_id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = User),
        NotAuthenticatedResponse,
        (status = 403, description = "AUTHZ=strict and not the caller", body = HttpError),
        (status = 404, description = "User not found (absent or inactive)", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn get_user(
    caller: Caller,
    State(state): State<AppState>,
    path: PathParams,
) -> Result<Response, ApiError> {
    let user_id = user_path(&path)?;
    caller.require_access_to(state.authz, user_id)?;
    let store = state.reads(&caller);
    let account = active_account(store.as_ref(), user_id)
        .await?
        .ok_or(ApiError::NotFound("User not found"))?;
    Ok(user_body::response(store, vec![account], Shape::One))
}

async fn active_account(store: &dyn Store, user_id: i64) -> Result<Option<Account>, ApiError> {
    Ok(store.account(user_id).await?.filter(|a| a.is_active))
}

/// The caller itself (a page that was handed a token learns whose it is).
#[utoipa::path(
    get, path = "/me", tag = "users",
    responses(
        (status = 200, description = "The user the token belongs to", body = User),
        NotAuthenticatedResponse,
    ),
    security(("api_token" = []))
)]
pub async fn me(caller: Caller, State(state): State<AppState>) -> Result<Response, ApiError> {
    // The token was just accepted, so the user is active; a deletion racing this request
    // makes it a 401, as the next request would be.
    let store = state.reads(&caller);
    let account = active_account(store.as_ref(), caller.id)
        .await?
        .ok_or(ApiError::NotAuthenticated)?;
    Ok(user_body::response(store, vec![account], Shape::One))
}

/// Deactivates a user and hands its items to the active user with the smallest id.
#[utoipa::path(
    delete, path = "/users/{user_id}", tag = "users",
    params(("user_id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user, now inactive; its items moved to the active user with the smallest id", body = User),
        NotAuthenticatedResponse,
        (status = 403, description = "AUTHZ=strict and not the caller", body = HttpError),
        (status = 404, description = "User not found (absent or already inactive)", body = HttpError),
        (status = 409, description = "The last active user cannot be deleted", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn delete_user(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    path: PathParams,
) -> Result<Json<User>, ApiError> {
    let user_id = user_path(&path)?;
    caller.require_access_to(state.authz, user_id)?;
    Ok(Json(
        deactivate(&state, user_id, &origin.by(caller.id)).await?,
    ))
}

/// Deactivates `user_id` and hands its items over, in the API's terms: what
/// `DELETE /users/{user_id}` and the admin API's deactivation share.
pub(super) async fn deactivate(
    state: &AppState,
    user_id: i64,
    context: &crate::audit::Context,
) -> Result<User, ApiError> {
    match state.store.deactivate_user(user_id, context).await? {
        Deactivation::Done { user, heir_id } => {
            tracing::info!(
                deleted_user_id = user_id,
                heir_id,
                "user deactivated, items handed over"
            );
            metrics::counter!(names::USERS_DELETED).increment(1);
            Ok(user)
        }
        Deactivation::NotFound => Err(ApiError::NotFound("User not found")),
        Deactivation::LastActiveUser => Err(ApiError::Conflict(
            "Cannot delete the last active user: nobody would be left to own the items",
        )),
    }
}

/// Issues a new token for the calling user (the old one stops working at once).
#[utoipa::path(
    post, path = "/users/{user_id}/token", tag = "users",
    params(("user_id" = i64, Path, description = "The caller's own user id")),
    request_body = TokenRotate,
    responses(
        (status = 200, description = "The user with its new API token", body = UserWithToken),
        NotAuthenticatedResponse,
        (status = 403, description = "Not the caller's own id, or a wrong password", body = HttpError),
        (status = 413, description = "Body over 64 KiB", body = HttpError),
        (status = 429, description = "Too many rotations (rate limits per user and per client IP, or password hashing at capacity): retry after `Retry-After` seconds", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn rotate_token(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    route: MatchedPath,
    headers: HeaderMap,
    path: PathParams,
    body: RawBody,
) -> Result<Response, ApiError> {
    let ip = origin.0.client_ip.map(per_subscriber);
    state.rate_limits.check_token_rotation(caller.id, ip)?;
    let key = idempotency::key(&headers);
    let mut input = Validator::new();
    let user_id = input.path_id(&path, "user_id");
    input.idempotency_key(key.as_deref());
    let rotate = input.body::<TokenRotate>(&body)?;
    let (user_id, rotate) = input.finish_with(user_id.zip(rotate))?;
    if caller.id != user_id {
        return Err(ApiError::Forbidden("Not allowed"));
    }
    let fingerprint = fingerprint(
        "POST",
        route.as_str(),
        &[("user_id", user_id)],
        body.bytes(),
    );
    let begun = idempotency::begin(&state, key.as_deref(), Scope::User(caller.id), fingerprint);
    let (token, replayed) = match begun.await? {
        // The first answer's token, with the user's items as they are now.
        Begun::Replay(Answer {
            token: Some(token), ..
        }) => (token, true),
        Begun::Replay(answer) => return Ok(idempotency::replay(&answer)),
        Begun::Fresh(record) => {
            let rotated = async {
                state
                    .accounts
                    .check_password(user_id, SecretString::from(rotate.password))
                    .await?;
                Ok(state
                    .accounts
                    .rotate_token(user_id, record.as_ref(), &origin.by(caller.id))
                    .await?)
            }
            .await;
            let rotated = idempotency::release_on_error(&state, record.as_ref(), rotated).await?;
            (rotated.token.expose_secret().to_owned(), false)
        }
    };
    let account = active_account(state.store.as_ref(), user_id)
        .await?
        .ok_or(ApiError::NotFound("User not found"))?;
    let mut response =
        user_body::response(state.store.clone(), vec![account], Shape::WithToken(token));
    if replayed {
        idempotency::mark_replayed(&mut response);
    }
    Ok(response)
}
