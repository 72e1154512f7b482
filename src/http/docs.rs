//! `GET /openapi.json` (OpenAPI 3.1, generated from the handlers) and `GET /docs` (Swagger UI,
//! served from the binary: no internet needed).

use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::error::{FieldError, HttpError, HttpValidationError};
use super::{AppState, health, items, users};
use crate::domain::{Item, User, UserWithToken};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "todo-api",
        description = "A ToDo API (users and their items), drop-in compatible with the FastAPI sample app. \
                       Authenticate with the token from `POST /users` in the `X-API-TOKEN` header."
    ),
    paths(
        health::ready, health::live,
        users::create_user, users::list_users, users::get_user, users::delete_user, users::rotate_token,
        items::create_item, items::list_user_items, items::list_items, items::list_my_items,
        items::get_item, items::update_item, items::delete_item,
    ),
    components(schemas(
        User, Item, UserWithToken, users::UserCreate, users::TokenRotate, items::ItemCreate, items::ItemUpdate,
        HttpError, HttpValidationError, FieldError, health::Status,
    )),
    modifiers(&ApiTokenScheme),
    tags(
        (name = "users", description = "Users; deleting one hands its items to the active user with the smallest id"),
        (name = "items", description = "Tasks, assigned to users"),
        (name = "health", description = "Liveness and readiness probes"),
    )
)]
pub struct ApiDoc;

struct ApiTokenScheme;

impl Modify for ApiTokenScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "api_token",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-TOKEN",
                "The token returned by POST /users (or POST /users/{user_id}/token)",
            ))),
        );
    }
}

pub fn router() -> Router<AppState> {
    SwaggerUi::new("/docs")
        .url("/openapi.json", ApiDoc::openapi())
        .into()
}
