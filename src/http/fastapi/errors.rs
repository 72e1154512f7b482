//! pydantic's error records (`type`, `loc`, `msg`, `input`, `ctx`) and the constructors of
//! the kinds we report.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::{PartialSchema, ToSchema};

/// One pydantic error: what was wrong (`type`, `msg`), where (`loc`), with what (`input`),
/// and the limits involved (`ctx`, only where pydantic gives one).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldError {
    #[serde(rename = "type")]
    pub kind: Cow<'static, str>,
    pub loc: Vec<Value>,
    pub msg: String,
    pub input: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctx: Option<Value>,
}

impl PartialSchema for FieldError {
    fn schema() -> RefOr<Schema> {
        let text = || ObjectBuilder::new().schema_type(Type::String);
        // `["body", "title"]`, `["query", "limit"]`, `["body", 12]` (a JSON error's offset).
        let place = SchemaType::from_iter([Type::String, Type::Integer]);
        let loc = ArrayBuilder::new().items(ObjectBuilder::new().schema_type(place));
        ObjectBuilder::new()
            .property("type", text())
            .required("type")
            .property("loc", loc)
            .required("loc")
            .property("msg", text())
            .required("msg")
            .property(
                "input",
                ObjectBuilder::new()
                    .schema_type(SchemaType::AnyValue)
                    .description(Some("What was sent there: any JSON value")),
            )
            .required("input")
            .property("ctx", ObjectBuilder::new().schema_type(Type::Object))
            .into()
    }
}

impl ToSchema for FieldError {}

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

/// pydantic's `literal_error`: `Input should be 'a', 'b' or 'c'`.
pub fn literal_error(loc: Vec<Value>, input: &str, allowed: &[&str]) -> FieldError {
    let quoted: Vec<String> = allowed.iter().map(|a| format!("'{a}'")).collect();
    let expected = match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, init)) => format!("{} or {last}", init.join(", ")),
    };
    FieldError {
        kind: "literal_error".into(),
        loc,
        msg: format!("Input should be {expected}"),
        input: Value::String(input.to_owned()),
        ctx: Some(json!({"expected": expected})),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_errors_list_the_choices_as_pydantic_does() {
        let msg = |allowed: &[&str]| literal_error(loc("query", "x"), "no", allowed).msg;
        assert_eq!(msg(&["user"]), "Input should be 'user'");
        assert_eq!(msg(&["user", "admin"]), "Input should be 'user' or 'admin'");
        assert_eq!(
            msg(&["user", "item", "token"]),
            "Input should be 'user', 'item' or 'token'"
        );
        let error = literal_error(loc("body", "role"), "root", &["user", "admin"]);
        assert_eq!(error.ctx, Some(json!({"expected": "'user' or 'admin'"})));
        assert_eq!(error.input, json!("root"));
    }
}
