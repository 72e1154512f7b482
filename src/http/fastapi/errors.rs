//! pydantic's error records (`type`, `loc`, `msg`, `input`, `ctx`) and the constructors of
//! the kinds we report.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;

/// One pydantic error: what was wrong (`type`, `msg`), where (`loc`), with what (`input`),
/// and the limits involved (`ctx`, only where pydantic gives one).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct FieldError {
    #[serde(rename = "type")]
    pub kind: Cow<'static, str>,
    #[schema(value_type = Vec<Object>)]
    pub loc: Vec<Value>,
    pub msg: String,
    #[schema(value_type = Object)]
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub ctx: Option<Value>,
}

/// Why a value is not a `bool`, in pydantic's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotBool {
    /// `bool_parsing`: a number or string that names no truth value.
    Parsing,
    /// `bool_type`: a list, an object.
    Type,
}

impl NotBool {
    pub(super) fn into_error(self, loc: Vec<Value>, input: &Value) -> FieldError {
        let (kind, msg) = match self {
            NotBool::Parsing => (
                "bool_parsing",
                "Input should be a valid boolean, unable to interpret input",
            ),
            NotBool::Type => ("bool_type", "Input should be a valid boolean"),
        };
        FieldError {
            kind: kind.into(),
            loc,
            msg: msg.into(),
            input: input.clone(),
            ctx: None,
        }
    }
}

pub(super) fn loc(place: &'static str, name: &'static str) -> Vec<Value> {
    vec![json!(place), json!(name)]
}

pub(super) fn missing(loc: Vec<Value>, input: Value) -> FieldError {
    FieldError {
        kind: "missing".into(),
        loc,
        msg: "Field required".into(),
        input,
        ctx: None,
    }
}

pub(super) fn int_parsing(loc: Vec<Value>, raw: &str) -> FieldError {
    FieldError {
        kind: "int_parsing".into(),
        loc,
        msg: "Input should be a valid integer, unable to parse string as an integer".into(),
        input: Value::String(raw.to_owned()),
        ctx: None,
    }
}

pub(super) fn bound(
    loc: Vec<Value>,
    raw: &str,
    kind: &'static str,
    words: &str,
    key: &str,
    limit: i64,
) -> FieldError {
    FieldError {
        kind: kind.into(),
        loc,
        msg: format!("Input should be {words} {limit}"),
        input: Value::String(raw.to_owned()),
        ctx: Some(json!({ key: limit })),
    }
}
