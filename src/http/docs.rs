//! `GET /openapi.json` (OpenAPI 3.1) and `GET /docs` (Swagger UI, served from the binary: no
//! internet needed). The operations come from the route table in `http::app`, where each
//! route is declared once together with its document; this file holds what is not tied to
//! a route: the title, the tags, the token scheme, and the shared error schemas.

use std::sync::Arc;

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Redirect, Response};
use axum::routing::get;
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
        (name = "tokens", description = "Named API tokens besides the primary one: the user itself or an admin"),
        (name = "personal data", description = "Export of everything held about a user, and its erasure"),
        (name = "admin", description = "Users, roles and the audit trail: admins only"),
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

/// The answers every operation can give from the layers around its handler, which the
/// handlers' own annotations would have to repeat: limits on the request line and headers
/// (414, 431), the request timeout and an unavailable database (503, all but `/livez`), and
/// for operations with a body its reading (400, 408, 413).
pub fn add_common_responses(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("HttpError")))
                    .build(),
            )
            .build()
    };
    let common = [
        ("414", "Request line over 8 KiB", true),
        ("431", "Headers over 32 KiB or 100 fields", true),
    ];
    let with_body = [
        (
            "400",
            "The body is not UTF-8, or nested deeper than Python's JSON parser allows",
        ),
        ("408", "The body did not arrive within BODY_READ_TIMEOUT"),
        ("413", "Body over 64 KiB"),
    ];
    for (path, _, operation) in operations_mut(openapi) {
        let responses = &mut operation.responses.responses;
        for (status, description, _) in common {
            responses
                .entry(status.to_owned())
                .or_insert_with(|| error(description).into());
        }
        if path != "/livez" {
            responses.entry("503".to_owned()).or_insert_with(|| {
                error(
                    "The database is unavailable, or the request took longer than REQUEST_TIMEOUT",
                )
                .into()
            });
        }
        if operation.request_body.is_some() {
            for (status, description) in with_body {
                responses
                    .entry(status.to_owned())
                    .or_insert_with(|| error(description).into());
            }
        }
    }
}

/// Who may call each operation, stated in the document as `x-access` (and checked against
/// the server's behaviour by the role-matrix test, tests/api/roles.rs): `token` is `none`,
/// `optional` (sign-up: an admin's token lifts `SIGNUP=false`) or `required`; `role` is
/// `admin` for the admin API, `self` where only the user itself may act (token rotation,
/// self-erasure), `self_or_admin` (named tokens, export), `user` otherwise; `scope` says
/// what `AUTHZ=strict` narrows: `user_id` (the user in the path: itself, or an admin),
/// `board` (across users: admins), `caller` (the caller's own things); `read_only_token`
/// says whether a read-only token is accepted (reads only).
pub fn add_access(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::extensions::ExtensionsBuilder;
    for (path, method, operation) in operations_mut(openapi) {
        let token = match (method, path) {
            (_, "/health-check" | "/health-check/replica" | "/livez") => "none",
            ("post", "/users") => "optional",
            _ => "required",
        };
        let role = if path.starts_with("/admin/") {
            "admin"
        } else if path.ends_with("/token") || path.ends_with("/erase") {
            "self"
        } else if path.contains("/tokens") || path.ends_with("/export") {
            "self_or_admin"
        } else {
            "user"
        };
        let scope = if path.contains("{user_id}") {
            "user_id"
        } else if method == "get" && (path == "/users" || path == "/items") {
            "board"
        } else {
            "caller"
        };
        let access = serde_json::json!({
            "token": token,
            "role": role,
            "scope": scope,
            "read_only_token": method == "get",
        });
        let extensions = ExtensionsBuilder::new().add("x-access", access).build();
        operation
            .extensions
            .get_or_insert_with(Default::default)
            .merge(extensions);
    }
}

/// Every operation of the document, with its path and lower-case method.
fn operations_mut(
    openapi: &mut utoipa::openapi::OpenApi,
) -> impl Iterator<Item = (&str, &'static str, &mut utoipa::openapi::path::Operation)> {
    openapi.paths.paths.iter_mut().flat_map(|(path, item)| {
        [
            ("get", item.get.as_mut()),
            ("post", item.post.as_mut()),
            ("patch", item.patch.as_mut()),
            ("delete", item.delete.as_mut()),
            ("put", item.put.as_mut()),
        ]
        .into_iter()
        .filter_map(move |(method, operation)| Some((path.as_str(), method, operation?)))
    })
}

/// The `Idempotency-Key` header of the creating `POST`s, and their answers to it.
pub fn add_idempotency(openapi: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{ContentBuilder, Ref, Required, ResponseBuilder};
    for path in ["/users", "/users/{user_id}/items", "/users/{user_id}/token"] {
        let Some(post) = openapi
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.post.as_mut())
        else {
            continue;
        };
        let key = ParameterBuilder::new()
            .name("Idempotency-Key")
            .parameter_in(ParameterIn::Header)
            .required(Required::False)
            .description(Some(
                "A key of the client's choosing: a retry with the same key and request within \
                 24 hours gets the first answer (marked `Idempotent-Replayed: true`) and \
                 creates nothing",
            ))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(super::fastapi::IDEMPOTENCY_KEY_PATTERN)),
            ))
            .build();
        post.parameters
            .get_or_insert_with(Vec::new)
            .push(key.into());
        let busy = ResponseBuilder::new()
            .description("A request with this Idempotency-Key is still in progress: retry after `Retry-After` seconds")
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("HttpError")))
                    .build(),
            )
            .build();
        post.responses
            .responses
            .entry("409".to_owned())
            .or_insert_with(|| busy.into());
    }
}

/// Serves the document and Swagger UI. Swagger UI's files are stored gzipped in the binary;
/// a client that does not accept gzip gets them decompressed (`assets::respond`).
pub fn router(mut openapi: utoipa::openapi::OpenApi) -> Router<AppState> {
    add_links(&mut openapi);
    add_access(&mut openapi);
    add_idempotency(&mut openapi);
    add_common_responses(&mut openapi);
    // Serialized once: the document never changes while the process runs, and kept as a
    // struct it held about 1 MB of the heap, cloned again for every request.
    let document = axum::body::Bytes::from(
        serde_json::to_vec(&openapi).expect("the OpenAPI document serializes"),
    );
    drop(openapi);
    let config = Arc::new(utoipa_swagger_ui::Config::from(OPENAPI_PATH));
    let ui = move |file: Option<Path<String>>, request: HeaderMap| {
        let config = config.clone();
        async move { swagger_file(file.map_or_else(String::new, |Path(f)| f), config, &request) }
    };
    Router::new()
        .route(
            OPENAPI_PATH,
            get(move || {
                let json = [(header::CONTENT_TYPE, "application/json")];
                std::future::ready((json, document.clone()))
            }),
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
