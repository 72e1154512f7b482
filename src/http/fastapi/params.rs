//! Path and query parameters, as the router and the URL give them, before any typing.

use axum::extract::{FromRequestParts, RawPathParams};
use axum::http::request::Parts;
use serde_json::{Value, json};

use super::errors::FieldError;
use crate::http::error::ApiError;

/// Path parameters as matched by the router, undecoded into types.
pub struct PathParams(Vec<(String, String)>);

impl PathParams {
    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for PathParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match RawPathParams::from_request_parts(parts, state).await {
            Ok(raw) => Ok(Self(
                raw.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            )),
            Err(_) => Err(ApiError::Validation(vec![FieldError {
                kind: "string_unicode".into(),
                loc: vec![json!("path")],
                msg: "Input should be a valid string, unable to parse raw data as a unicode string"
                    .into(),
                input: Value::String(parts.uri.path().to_owned()),
                ctx: None,
            }])),
        }
    }
}

/// The query string as name/value pairs; like Starlette, the last of repeated names wins.
#[derive(Debug, Clone, Default)]
pub struct QueryParams(Vec<(String, String)>);

impl QueryParams {
    pub fn parse(query: Option<&str>) -> Self {
        Self(
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for QueryParams {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::parse(parts.uri.query()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_repeated_query_value_wins() {
        let q = QueryParams::parse(Some("limit=1&limit=2&done=%54rue"));
        assert_eq!(q.get("limit"), Some("2"));
        assert_eq!(q.get("done"), Some("True"));
        assert_eq!(q.get("skip"), None);
    }
}
