//! `/users`: sign-up, listing, reading, deleting (problem 3) and token rotation.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utoipa::ToSchema;

use super::auth::{Caller, authenticate};
use super::error::ApiError;
use super::input::{BodyModel, Fields, Len, PathParams, QueryParams, RawBody, Validator};
use super::{AppState, paginated};
use crate::credentials::{self, Verified};
use crate::domain::{NewUser, User, UserWithToken};
use crate::store::Deactivation;

pub const MIN_PASSWORD: usize = 8;

/// `POST /users` body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserCreate {
    #[schema(format = "email", example = "deadpool@example.com")]
    pub email: String,
    #[schema(min_length = 8, format = Password, example = "chimichangas4life")]
    pub password: String,
}

impl BodyModel for UserCreate {
    const NAME: &'static str = "UserCreate";
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self> {
        let email = fields.email("email");
        let password = fields.required_str(
            "password",
            Len {
                min: MIN_PASSWORD,
                max: None,
            },
        );
        Some(Self {
            email: email?,
            password: password?,
        })
    }
}

/// `POST /users/{user_id}/token` body: the user's password, to prove it is really the user.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRotate {
    #[schema(format = Password)]
    pub password: String,
}

impl BodyModel for TokenRotate {
    const NAME: &'static str = "TokenRotate";
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self> {
        Some(Self {
            password: fields.required_str("password", Len { min: 1, max: None })?,
        })
    }
}

/// Creates a user and returns it with its API token (shown only here).
#[utoipa::path(
    post, path = "/users", tag = "users",
    request_body = UserCreate,
    responses(
        (status = 200, description = "The new user with its API token", body = UserWithToken),
        (status = 400, description = "Email already registered", body = super::error::HttpError),
        (status = 403, description = "Sign-up is disabled (SIGNUP=false) and no admin token was sent", body = super::error::HttpError),
        (status = 413, description = "Body over 64 KiB", body = super::error::HttpError),
        super::error::ValidationErrorResponse,
    ),
    security((), ("api_token" = []))
)]
pub async fn create_user(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: RawBody,
) -> Result<Response, ApiError> {
    if !state.signup {
        let admin = authenticate(&state, &headers)
            .await?
            .is_some_and(|caller| caller.is_admin);
        if !admin {
            return Err(ApiError::Forbidden("Sign-up is disabled"));
        }
    }
    let mut input = Validator::new();
    let new = input.body::<UserCreate>(&body)?;
    let UserCreate { email, password } = input.finish_with(new)?;
    let created = register(&state, email, SecretString::from(password), false).await?;
    Ok(Json(created).into_response())
}

/// Creates a user with a fresh token (the API's sign-up and the CLI's `user create`).
pub async fn register(
    state: &AppState,
    email: String,
    password: SecretString,
    is_admin: bool,
) -> Result<UserWithToken, ApiError> {
    let password_hash = hash_password(password).await?;
    let issued = state.tokens.issue();
    let new = NewUser {
        email,
        password_hash,
        is_admin,
        token_selector: issued.selector,
        token_hash: issued.hash,
    };
    let account = state
        .store
        .create_user(new)
        .await?
        .ok_or(ApiError::BadRequest("Email already registered"))?;
    metrics::counter!("todo_users_created_total").increment(1);
    let user = User {
        email: account.email,
        id: account.id,
        is_active: true,
        items: Vec::new(),
    };
    Ok(UserWithToken {
        user,
        token: issued.token.expose_secret().to_owned(),
    })
}

async fn hash_password(password: SecretString) -> Result<String, ApiError> {
    // argon2id is deliberately slow: keep it off the async workers.
    tokio::task::spawn_blocking(move || credentials::hash_password(password.expose_secret()))
        .await
        .map_err(|e| ApiError::Internal(e.into()))
}

/// Active users by id, each with its items.
#[utoipa::path(
    get, path = "/users", tag = "users",
    params(
        ("skip" = Option<i64>, Query, minimum = 0, description = "Users to skip (default 0)"),
        ("limit" = Option<i64>, Query, minimum = 0, maximum = 1000, description = "Users to return (default 100)"),
    ),
    responses(
        (status = 200, description = "Active users; a `Link: rel=\"next\"` header when more may follow", body = Vec<User>),
        super::error::NotAuthenticatedResponse,
        (status = 403, description = "AUTHZ=strict and the caller is not an admin", body = super::error::HttpError),
        super::error::ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn list_users(
    caller: Caller,
    State(state): State<AppState>,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut input = Validator::new();
    let page = input.page(&query);
    let page = input.finish_with(page)?;
    caller.require_board_access(state.authz)?;
    let users = state.store.users(page).await?;
    Ok(paginated("/users", &query, page, users))
}

/// One active user with its items.
#[utoipa::path(
    get, path = "/users/{user_id}", tag = "users",
    params(("user_id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user", body = User),
        super::error::NotAuthenticatedResponse,
        (status = 403, description = "AUTHZ=strict and not the caller", body = super::error::HttpError),
        (status = 404, description = "User not found (absent or inactive)", body = super::error::HttpError),
        super::error::ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn get_user(
    caller: Caller,
    State(state): State<AppState>,
    path: PathParams,
) -> Result<Json<User>, ApiError> {
    let mut input = Validator::new();
    let user_id = input.path_id(&path, "user_id");
    let user_id = input.finish_with(user_id)?;
    caller.require_access_to(state.authz, user_id)?;
    let user = state
        .store
        .user(user_id)
        .await?
        .ok_or(ApiError::NotFound("User not found"))?;
    Ok(Json(user))
}

/// Deactivates a user and hands its items to the active user with the smallest id.
#[utoipa::path(
    delete, path = "/users/{user_id}", tag = "users",
    params(("user_id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user, now inactive; its items moved to the active user with the smallest id", body = User),
        super::error::NotAuthenticatedResponse,
        (status = 403, description = "AUTHZ=strict and not the caller", body = super::error::HttpError),
        (status = 404, description = "User not found (absent or already inactive)", body = super::error::HttpError),
        (status = 409, description = "The last active user cannot be deleted", body = super::error::HttpError),
        super::error::ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn delete_user(
    caller: Caller,
    State(state): State<AppState>,
    path: PathParams,
) -> Result<Json<User>, ApiError> {
    let mut input = Validator::new();
    let user_id = input.path_id(&path, "user_id");
    let user_id = input.finish_with(user_id)?;
    caller.require_access_to(state.authz, user_id)?;
    match state.store.deactivate_user(user_id).await? {
        Deactivation::Done { user, heir_id } => {
            tracing::info!(
                deleted_user_id = user_id,
                heir_id,
                "user deactivated, items handed over"
            );
            metrics::counter!("todo_users_deleted_total").increment(1);
            Ok(Json(user))
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
        super::error::NotAuthenticatedResponse,
        (status = 403, description = "Not the caller's own id, or a wrong password", body = super::error::HttpError),
        super::error::ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn rotate_token(
    caller: Caller,
    State(state): State<AppState>,
    path: PathParams,
    body: RawBody,
) -> Result<Json<UserWithToken>, ApiError> {
    let mut input = Validator::new();
    let user_id = input.path_id(&path, "user_id");
    let rotate = input.body::<TokenRotate>(&body)?;
    let (user_id, rotate) = input.finish_with(user_id.zip(rotate))?;
    if caller.id != user_id {
        return Err(ApiError::Forbidden("Not allowed"));
    }
    check_password(&state, user_id, SecretString::from(rotate.password)).await?;
    Ok(Json(rotate_token_of(&state, user_id).await?))
}

/// Verifies a user's password; a hash in an outdated scheme (bcrypt from the FastAPI app)
/// is replaced by argon2id on success.
pub async fn check_password(
    state: &AppState,
    user_id: i64,
    password: SecretString,
) -> Result<(), ApiError> {
    let stored = state
        .store
        .password_hash(user_id)
        .await?
        .ok_or(ApiError::NotFound("User not found"))?;
    let verdict = tokio::task::spawn_blocking(move || {
        credentials::verify_password(password.expose_secret(), &stored)
    })
    .await
    .map_err(|e| ApiError::Internal(e.into()))?;
    match verdict {
        Verified::No => Err(ApiError::Forbidden("Incorrect password")),
        Verified::Yes => Ok(()),
        Verified::YesRehash(new_hash) => {
            Ok(state.store.set_password_hash(user_id, &new_hash).await?)
        }
    }
}

/// Replaces a user's token and returns the user with the new one.
pub async fn rotate_token_of(state: &AppState, user_id: i64) -> Result<UserWithToken, ApiError> {
    let issued = state.tokens.issue();
    if !state
        .store
        .set_token(user_id, &issued.selector, &issued.hash)
        .await?
    {
        return Err(ApiError::NotFound("User not found"));
    }
    let user = state
        .store
        .user(user_id)
        .await?
        .ok_or(ApiError::NotFound("User not found"))?;
    Ok(UserWithToken {
        user,
        token: issued.token.expose_secret().to_owned(),
    })
}
