//! `GET /openapi.json` (OpenAPI 3.1) and `GET /docs` (Swagger UI, served from the binary: no
//! internet needed). The operations come from the route table in `http::app`, where each
//! route is declared once together with its document; this file holds what is not tied to
//! a route: the title, the tags, the token scheme, and the shared error schemas.

use axum::Router;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::SwaggerUi;

use super::AppState;
use super::error::{FieldError, HttpError, HttpValidationError};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "todo-api",
        description = "A ToDo API (users and their items), drop-in compatible with the FastAPI sample app. \
                       Authenticate with the token from `POST /users` in the `X-API-TOKEN` header."
    ),
    components(schemas(HttpError, HttpValidationError, FieldError)),
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

/// Serves the document and Swagger UI.
pub fn router(openapi: utoipa::openapi::OpenApi) -> Router<AppState> {
    SwaggerUi::new("/docs").url("/openapi.json", openapi).into()
}
