//! Listings: a JSON array plus `Link: <...>; rel="next"` when the page came back full.

use axum::extract::MatchedPath;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::IntoParams;
use utoipa::openapi::Required;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};

use super::fastapi::{MAX_LIMIT, QueryParams};
use crate::domain::Page;

/// The path of the next page: the matched route template with its parameters filled in from
/// the validated values (so `/users/007/items` links on as `/users/7/items`).
pub fn page_path(route: &MatchedPath, params: &[(&str, i64)]) -> String {
    let mut path = route.as_str().to_owned();
    for (name, value) in params {
        path = path.replace(&format!("{{{name}}}"), &value.to_string());
    }
    path
}

/// The rows as JSON, with a `next` link that keeps every other query parameter.
pub fn paginated<T: Serialize>(
    path: &str,
    query: &QueryParams,
    page: Page,
    rows: Vec<T>,
) -> Response {
    let returned = rows.len();
    with_next_link(
        axum::Json(rows).into_response(),
        path,
        query,
        page,
        returned,
    )
}

/// Adds `Link: <path?...>; rel="next"` when the page came back full (more may follow).
pub fn with_next_link(
    response: Response,
    path: &str,
    query: &QueryParams,
    page: Page,
    returned: usize,
) -> Response {
    let full = page.limit > 0 && i64::try_from(returned).is_ok_and(|n| n == page.limit);
    if !full {
        return response;
    }
    let next = [
        ("skip", page.skip.saturating_add(page.limit).to_string()),
        ("limit", page.limit.to_string()),
    ];
    with_link(response, path, query, &["skip", "limit"], &next)
}

/// Keyset paging: adds `Link: <path?...&{position}=next>; rel="next"` when there is a
/// `next` position, keeping every other query parameter but `dropped`.
pub fn with_keyset_link(
    response: Response,
    path: &str,
    query: &QueryParams,
    position: &str,
    next: Option<String>,
    dropped: &[&str],
) -> Response {
    let Some(next) = next else {
        return response;
    };
    let dropped: Vec<&str> = dropped.iter().copied().chain([position]).collect();
    with_link(response, path, query, &dropped, &[(position, next)])
}

/// `Link: <path?query>; rel="next"`: the request's query without `dropped`, then `added`.
fn with_link(
    mut response: Response,
    path: &str,
    query: &QueryParams,
    dropped: &[&str],
    added: &[(&str, String)],
) -> Response {
    let mut next = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in query
        .pairs()
        .iter()
        .filter(|(name, _)| !dropped.contains(&name.as_str()))
    {
        next.append_pair(name, value);
    }
    for (name, value) in added {
        next.append_pair(name, value);
    }
    if let Ok(link) = HeaderValue::from_str(&format!("<{path}?{}>; rel=\"next\"", next.finish())) {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

/// The `skip` and `limit` query parameters of every listing, in the OpenAPI document.
pub struct PageQuery;

impl IntoParams for PageQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let defaults = Page::default();
        let integer = || {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(0))
        };
        vec![
            query_param(
                "skip",
                "Rows to skip",
                integer().default(Some(defaults.skip.into())),
            ),
            query_param(
                "limit",
                "Rows to return",
                integer()
                    .maximum(Some(MAX_LIMIT))
                    .default(Some(defaults.limit.into())),
            ),
        ]
    }
}

/// An optional query parameter.
pub fn query_param(name: &str, description: &str, schema: ObjectBuilder) -> Parameter {
    ParameterBuilder::new()
        .name(name)
        .parameter_in(ParameterIn::Query)
        .required(Required::False)
        .description(Some(description))
        .schema(Some(schema))
        .build()
}
