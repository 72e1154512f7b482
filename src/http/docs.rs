//! `GET /openapi.json` (OpenAPI 3.1) and `GET /docs` (Swagger UI, served from the binary: no
//! internet needed). The operations come from the route table in `http::app`, where each
//! route is declared once together with its document; this file holds what is not tied to
//! a route: the title, the tags, the token scheme, and the shared error schemas.

use std::sync::Arc;

use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::AppState;
use super::assets::{self, Headers, Stored};
use super::error::{FieldError, HttpError, HttpValidationError, detail};

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

const OPENAPI_PATH: &str = "/openapi.json";

/// OpenAPI links from the responses that create something to the operations on it, so that
/// stateful tools (schemathesis) and readers can follow them: a new user's id to its routes,
/// a new item's owner and id to the item's.
pub fn add_links(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::link::LinkBuilder;
    let user = [
        "get_user",
        "delete_user",
        "rotate_token",
        "create_item",
        "list_user_items",
    ];
    let item = ["get_item", "update_item", "delete_item"];
    let add = |openapi: &mut utoipa::openapi::OpenApi,
               path: &str,
               targets: &[&str],
               params: &[(&str, &str)]| {
        let Some(post) = openapi
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.post.as_mut())
        else {
            return;
        };
        let Some(utoipa::openapi::RefOr::T(ok)) = post.responses.responses.get_mut("200") else {
            return;
        };
        for target in targets {
            let mut link = LinkBuilder::new().operation_id(*target);
            for (name, expression) in params {
                link = link.parameter(*name, *expression);
            }
            ok.links.insert(
                (*target).to_owned(),
                utoipa::openapi::RefOr::T(link.build()),
            );
        }
    };
    add(
        openapi,
        "/users",
        &user,
        &[("user_id", "$response.body#/id")],
    );
    add(
        openapi,
        "/users/{user_id}/items",
        &item,
        &[
            ("user_id", "$response.body#/owner_id"),
            ("item_id", "$response.body#/id"),
        ],
    );
}

/// Serves the document and Swagger UI. Swagger UI's files are stored gzipped in the binary;
/// a client that does not accept gzip gets them decompressed (`assets::respond`).
pub fn router(mut openapi: utoipa::openapi::OpenApi) -> Router<AppState> {
    add_links(&mut openapi);
    let openapi = Arc::new(openapi);
    let config = Arc::new(utoipa_swagger_ui::Config::from(OPENAPI_PATH));
    let ui = move |file: Option<Path<String>>, request: HeaderMap| {
        let config = config.clone();
        async move { swagger_file(file.map_or_else(String::new, |Path(f)| f), config, &request) }
    };
    Router::new()
        .route(
            OPENAPI_PATH,
            get(move || std::future::ready(Json(openapi.as_ref().clone()))),
        )
        .route("/docs", get(|| async { Redirect::to("/docs/") }))
        .route("/docs/", get(ui.clone()))
        .route("/docs/{*file}", get(ui))
}

fn swagger_file(
    file: String,
    config: Arc<utoipa_swagger_ui::Config<'static>>,
    request: &HeaderMap,
) -> Response {
    match utoipa_swagger_ui::serve(&file, config) {
        Ok(Some(found)) => {
            let stored = if found.gzpipped {
                Stored::Gzip(found.bytes)
            } else {
                Stored::Identity(found.bytes)
            };
            assets::respond(
                request,
                stored,
                Headers {
                    content_type: found.content_type.into(),
                    cache_control: "no-cache",
                    etag: None,
                    csp: None,
                },
            )
        }
        Ok(None) => detail(StatusCode::NOT_FOUND, "Not Found"),
        Err(err) => {
            tracing::error!(error = %err, file, "Swagger UI file");
            detail(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
        }
    }
}
