//! A user's own credentials and personal data: named tokens, the export of everything held
//! about it, and erasure by the user itself. The user or an admin, whatever `AUTHZ` says.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::SecretString;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::AppState;
use super::error::{ApiError, HttpError, NotAuthenticatedResponse, ValidationErrorResponse};
use super::fastapi::{BodyModel, Fields, Len, PathParams, RawBody, Validator};
use super::origin::Origin;
use super::users::{ANY_PASSWORD, any_password_schema};
use crate::authz::Caller;
use crate::compliance::{self, Export};
use crate::domain::{ApiToken, ErasedItems};
use crate::store::Erasure;

/// The longest token name.
pub const MAX_TOKEN_NAME: usize = 100;
const TOKEN_NAME: Len = Len {
    min: 1,
    max: Some(MAX_TOKEN_NAME),
};

/// `POST /users/{user_id}/tokens` body.
#[derive(Debug)]
pub struct TokenCreate {
    pub name: String,
    pub read_only: bool,
}

impl BodyModel for TokenCreate {
    const NAME: &'static str = "TokenCreate";
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self> {
        let name = fields.required_str("name", TOKEN_NAME);
        let read_only = fields.optional_bool("read_only");
        Some(Self {
            name: name?,
            read_only: read_only?.unwrap_or(false),
        })
    }
}

impl utoipa::PartialSchema for TokenCreate {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property("name", TOKEN_NAME.schema(false).examples(["ci-reader"]))
            .required("name")
            .property(
                "read_only",
                ObjectBuilder::new()
                    .schema_type(Type::Boolean)
                    .default(Some(false.into()))
                    .description(Some("The token may only read (GET); anything else is 403")),
            )
            .into()
    }
}

impl utoipa::ToSchema for TokenCreate {}

/// A new named token with its secret, shown only in this answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewToken {
    #[serde(flatten)]
    pub token: ApiToken,
    pub secret: String,
}

/// `POST /users/{user_id}/erase` body: the user's password, and whether its items go too.
#[derive(Debug)]
pub struct SelfErase {
    pub password: String,
    pub delete_items: bool,
}

impl BodyModel for SelfErase {
    const NAME: &'static str = "SelfErase";
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self> {
        let password = fields.required_str("password", ANY_PASSWORD);
        let delete_items = fields.optional_bool("delete_items");
        Some(Self {
            password: password?,
            delete_items: delete_items?.unwrap_or(false),
        })
    }
}

impl utoipa::PartialSchema for SelfErase {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property("password", any_password_schema())
            .required("password")
            .property("delete_items", delete_items_schema())
            .into()
    }
}

impl utoipa::ToSchema for SelfErase {}

pub fn delete_items_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Boolean)
        .default(Some(false.into()))
        .description(Some(
            "Delete the user's items; otherwise they go to the active user with the smallest id",
        ))
}

/// What an erasure answers.
#[derive(Debug, Serialize, ToSchema)]
pub struct Erased {
    pub erased: i64,
}

pub fn user_path(path: &PathParams) -> Result<i64, ApiError> {
    let mut input = Validator::new();
    let user_id = input.path_id(path, "user_id");
    input.finish_with(user_id)
}

/// Erases `user_id`, in the API's terms.
pub async fn erase(
    state: &AppState,
    user_id: i64,
    delete_items: bool,
    context: &crate::audit::Context,
) -> Result<Json<Erased>, ApiError> {
    let items = if delete_items {
        ErasedItems::Delete
    } else {
        ErasedItems::HandOver
    };
    match state.store.erase_user(user_id, items, context).await? {
        Erasure::Done => {
            tracing::info!(erased_user_id = user_id, "user erased");
            Ok(Json(Erased { erased: user_id }))
        }
        Erasure::NotFound => Err(ApiError::NotFound("User not found")),
        Erasure::LastActiveUser => Err(ApiError::Conflict(
            "Cannot hand the items over: this is the last active user (delete_items: true)",
        )),
    }
}

/// The user's named tokens (never their secrets).
#[utoipa::path(
    get, path = "/users/{user_id}/tokens", tag = "tokens",
    params(("user_id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The named tokens, by id", body = Vec<ApiToken>),
        NotAuthenticatedResponse,
        (status = 403, description = "Not the caller and not an admin", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn list_tokens(
    caller: Caller,
    State(state): State<AppState>,
    path: PathParams,
) -> Result<Json<Vec<ApiToken>>, ApiError> {
    let user_id = user_path(&path)?;
    caller.require_self_or_admin(user_id)?;
    Ok(Json(state.reads(&caller).api_tokens(user_id).await?))
}

/// Issues a named token (besides the primary one `POST /users/{user_id}/token` replaces),
/// optionally read-only. Its secret is in this answer only.
#[utoipa::path(
    post, path = "/users/{user_id}/tokens", tag = "tokens",
    params(("user_id" = i64, Path, description = "User id")),
    request_body = TokenCreate,
    responses(
        (status = 200, description = "The new token and its secret (shown once)", body = NewToken),
        NotAuthenticatedResponse,
        (status = 403, description = "Not the caller and not an admin, or a read-only token", body = HttpError),
        (status = 404, description = "User not found (absent or inactive)", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn create_token(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    path: PathParams,
    body: RawBody,
) -> Result<Json<NewToken>, ApiError> {
    let mut input = Validator::new();
    let user_id = input.path_id(&path, "user_id");
    let new = input.body::<TokenCreate>(&body)?;
    let (user_id, new) = input.finish_with(user_id.zip(new))?;
    caller.require_self_or_admin(user_id)?;
    let (token, secret) = state
        .accounts
        .issue_named_token(user_id, new.name, new.read_only, &origin.by(caller.id))
        .await?;
    use secrecy::ExposeSecret as _;
    Ok(Json(NewToken {
        token,
        secret: secret.expose_secret().to_owned(),
    }))
}

/// Revokes a named token: it stops working at the next request, on every instance.
#[utoipa::path(
    delete, path = "/users/{user_id}/tokens/{token_id}", tag = "tokens",
    params(
        ("user_id" = i64, Path, description = "User id"),
        ("token_id" = i64, Path, description = "Token id"),
    ),
    responses(
        (status = 204, description = "Revoked"),
        NotAuthenticatedResponse,
        (status = 403, description = "Not the caller and not an admin, or a read-only token", body = HttpError),
        (status = 404, description = "Token not found", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn revoke_token(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    path: PathParams,
) -> Result<StatusCode, ApiError> {
    let mut input = Validator::new();
    let user_id = input.path_id(&path, "user_id");
    let token_id = input.path_id(&path, "token_id");
    let (user_id, token_id) = input.finish_with(user_id.zip(token_id))?;
    caller.require_self_or_admin(user_id)?;
    if state
        .store
        .revoke_api_token(user_id, token_id, &origin.by(caller.id))
        .await?
    {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound("Token not found"))
    }
}

/// Everything held about the user, as one document: the account, every item it owns, its
/// named tokens, and every audit record it made or that concerns it.
#[utoipa::path(
    get, path = "/users/{user_id}/export", tag = "personal data",
    params(("user_id" = i64, Path, description = "User id")),
    responses(
        (status = 200, description = "The user's data", body = Export),
        NotAuthenticatedResponse,
        (status = 403, description = "Not the caller and not an admin", body = HttpError),
        (status = 404, description = "User not found", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn export(
    caller: Caller,
    State(state): State<AppState>,
    path: PathParams,
) -> Result<Json<Export>, ApiError> {
    let user_id = user_path(&path)?;
    caller.require_self_or_admin(user_id)?;
    compliance::export(state.reads(&caller).as_ref(), user_id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("User not found"))
}

/// The user erases itself (with its password): email, password hash and tokens are removed
/// for good; its items are handed over as on delete, or deleted with `delete_items`.
#[utoipa::path(
    post, path = "/users/{user_id}/erase", tag = "personal data",
    params(("user_id" = i64, Path, description = "User id")),
    request_body = SelfErase,
    responses(
        (status = 200, description = "Erased", body = Erased),
        NotAuthenticatedResponse,
        (status = 403, description = "Not the caller (admins use /admin/users/{user_id}/erase), a read-only token, or a wrong password", body = HttpError),
        (status = 409, description = "The last active user, with its items to hand over", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn erase_self(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    path: PathParams,
    body: RawBody,
) -> Result<Json<Erased>, ApiError> {
    let mut input = Validator::new();
    let user_id = input.path_id(&path, "user_id");
    let request = input.body::<SelfErase>(&body)?;
    let (user_id, request) = input.finish_with(user_id.zip(request))?;
    if caller.id != user_id {
        return Err(ApiError::Forbidden("Not allowed"));
    }
    state
        .accounts
        .check_password(user_id, SecretString::from(request.password))
        .await?;
    erase(&state, user_id, request.delete_items, &origin.by(caller.id)).await
}
