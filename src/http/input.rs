//! Request input parsed and validated the way FastAPI and pydantic (lax mode) do it, with
//! every error collected in FastAPI's order (path, query, body) into one `422`.
//!
//! Handlers take raw extractors (`PathParams`, `QueryParams`, `RawBody`) and run them through
//! a `Validator`, instead of axum's typed extractors that stop at the first problem and word
//! it their own way.

use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use bytes::Bytes;
use serde_json::{Map, Value, json};
use time::Date;
use time::macros::format_description;

use super::error::{ApiError, FieldError};
use super::{email, pyjson};
use crate::domain::Page;

/// The largest accepted `limit` of a listing.
pub const MAX_LIMIT: i64 = 1000;
/// Bodies larger than this are refused with `413` (axum's `DefaultBodyLimit`, set in `app`).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Text fields may hold any character but NUL.
const NO_NUL_PATTERN: &str = "^[^\\x00]*$";

#[derive(Default)]
pub struct Validator {
    errors: Vec<FieldError>,
}

impl Validator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn finish(self) -> Result<(), ApiError> {
        if self.errors.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }

    /// `finish`, then the validated value. The value is always there when nothing was wrong;
    /// should a validator ever forget to report why it has none, that is a fault (500), not
    /// a panic.
    pub fn finish_with<T>(self, value: Option<T>) -> Result<T, ApiError> {
        self.finish()?;
        value.ok_or_else(|| {
            ApiError::Internal(anyhow::anyhow!(
                "a validator returned no value and no error"
            ))
        })
    }

    fn error(&mut self, error: FieldError) {
        self.errors.push(error);
    }

    /// An `int` path parameter. A well-formed integer too large for the database cannot name
    /// a row, so it is kept as an id that matches nothing (`404`, as for any absent id).
    pub fn path_id(&mut self, params: &PathParams, name: &'static str) -> Option<i64> {
        let raw = params.get(name).unwrap_or_default();
        match parse_int(raw) {
            Some(n) => Some(i64::try_from(n).unwrap_or(-1)),
            None => {
                self.error(int_parsing(loc("path", name), raw));
                None
            }
        }
    }

    /// `skip` and `limit`, FastAPI's defaults (0, 100) with our bounds.
    pub fn page(&mut self, query: &QueryParams) -> Option<Page> {
        let skip = self.query_int(query, "skip", 0, 0, None);
        let limit = self.query_int(query, "limit", 100, 0, Some(MAX_LIMIT));
        Some(Page {
            skip: skip?,
            limit: limit?,
        })
    }

    fn query_int(
        &mut self,
        query: &QueryParams,
        name: &'static str,
        default: i64,
        ge: i64,
        le: Option<i64>,
    ) -> Option<i64> {
        let Some(raw) = query.get(name) else {
            return Some(default);
        };
        let Some(n) = parse_int(raw) else {
            self.error(int_parsing(loc("query", name), raw));
            return None;
        };
        if n < i128::from(ge) {
            self.error(bound(
                loc("query", name),
                raw,
                "greater_than_equal",
                "greater than or equal to",
                "ge",
                ge,
            ));
            return None;
        }
        if let Some(le) = le.filter(|&le| n > i128::from(le)) {
            self.error(bound(
                loc("query", name),
                raw,
                "less_than_equal",
                "less than or equal to",
                "le",
                le,
            ));
            return None;
        }
        // An offset beyond i64 skips everything either way.
        Some(i64::try_from(n).unwrap_or(i64::MAX))
    }

    /// An optional `bool` query parameter, with pydantic's lax spellings.
    pub fn query_bool(&mut self, query: &QueryParams, name: &'static str) -> Option<Option<bool>> {
        let Some(raw) = query.get(name) else {
            return Some(None);
        };
        let raw = Value::String(raw.to_owned());
        match lax_bool(&raw) {
            Ok(value) => Some(Some(value)),
            Err(why) => {
                self.error(why.into_error(loc("query", name), &raw));
                None
            }
        }
    }

    /// An optional `YYYYMMDD` calendar day.
    pub fn query_day(&mut self, query: &QueryParams, name: &'static str) -> Option<Option<Date>> {
        let Some(raw) = query.get(name) else {
            return Some(None);
        };
        let format = format_description!("[year repr:full][month][day]");
        match Date::parse(raw, format) {
            Ok(day) if raw.len() == 8 && raw.bytes().all(|b| b.is_ascii_digit()) => Some(Some(day)),
            _ => {
                self.error(FieldError {
                    kind: "value_error".into(),
                    loc: loc("query", name),
                    msg: "Value error, date must be a calendar day written YYYYMMDD".into(),
                    input: Value::String(raw.to_owned()),
                    // FastAPI serializes the ValueError behind a validator's message as `{}`.
                    ctx: Some(json!({"error": {}})),
                });
                None
            }
        }
    }

    /// A JSON body read into model `T`, as FastAPI reads a single body parameter.
    pub fn body<T: BodyModel>(&mut self, body: &RawBody) -> Result<Option<T>, ApiError> {
        let value = match body.value()? {
            BodyValue::Missing => {
                self.error(missing(vec![json!("body")], Value::Null));
                return Ok(None);
            }
            BodyValue::Invalid(error) => {
                self.error(error);
                return Ok(None);
            }
            BodyValue::Json(value) => value,
        };
        let Value::Object(object) = &value else {
            self.error(FieldError {
                kind: "model_type".into(),
                loc: vec![json!("body")],
                msg: format!(
                    "Input should be a valid dictionary or instance of {}",
                    T::NAME
                ),
                input: value.clone(),
                ctx: Some(json!({"class_name": T::NAME})),
            });
            return Ok(None);
        };
        let mut fields = Fields {
            object,
            whole: &value,
            errors: &mut self.errors,
        };
        Ok(T::from_fields(&mut fields))
    }
}

/// A request body model (pydantic `BaseModel`).
pub trait BodyModel: Sized {
    /// The pydantic class name FastAPI mentions in `model_type` errors.
    const NAME: &'static str;
    /// Reads every field (so that all errors are reported), then builds the value.
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self>;
}

/// The fields of a JSON object body; unknown fields are ignored, as pydantic does.
pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    whole: &'a Value,
    errors: &'a mut Vec<FieldError>,
}

/// Length bounds of a string field, in characters.
#[derive(Clone, Copy)]
pub struct Len {
    pub min: usize,
    pub max: Option<usize>,
}

impl Fields<'_> {
    /// A required `str`.
    pub fn required_str(&mut self, name: &'static str, len: Len) -> Option<String> {
        match self.object.get(name) {
            None => {
                self.errors
                    .push(missing(loc("body", name), self.whole.clone()));
                None
            }
            Some(value) => self.string(name, value, len),
        }
    }

    /// A `str | None`; absent and `null` are both `None`.
    pub fn optional_str(&mut self, name: &'static str, len: Len) -> Option<Option<String>> {
        match self.object.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(value) => self.string(name, value, len).map(Some),
        }
    }

    /// A `bool | None` with pydantic's lax conversions.
    pub fn optional_bool(&mut self, name: &'static str) -> Option<Option<bool>> {
        match self.object.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(value) => match lax_bool(value) {
                Ok(b) => Some(Some(b)),
                Err(why) => {
                    self.errors.push(why.into_error(loc("body", name), value));
                    None
                }
            },
        }
    }

    /// A required `EmailStr`.
    pub fn email(&mut self, name: &'static str) -> Option<String> {
        let address = self.required_str(name, Len { min: 0, max: None })?;
        match email::check(&address) {
            Ok(()) => Some(address),
            Err(reason) => {
                self.errors.push(FieldError {
                    kind: "value_error".into(),
                    loc: loc("body", name),
                    msg: format!("value is not a valid email address: {reason}"),
                    input: Value::String(address),
                    ctx: Some(json!({"reason": reason})),
                });
                None
            }
        }
    }

    fn string(&mut self, name: &'static str, value: &Value, len: Len) -> Option<String> {
        let Value::String(text) = value else {
            self.errors.push(FieldError {
                kind: "string_type".into(),
                loc: loc("body", name),
                msg: "Input should be a valid string".into(),
                input: value.clone(),
                ctx: None,
            });
            return None;
        };
        if text.contains('\0') {
            // PostgreSQL cannot store NUL in text; refusing it everywhere keeps the backends
            // alike, in the error pydantic gives for a `pattern` constraint.
            self.errors.push(FieldError {
                kind: "string_pattern_mismatch".into(),
                loc: loc("body", name),
                msg: format!("String should match pattern '{NO_NUL_PATTERN}'"),
                input: value.clone(),
                ctx: Some(json!({"pattern": NO_NUL_PATTERN})),
            });
            return None;
        }
        let count = text.chars().count();
        let plural = |n: usize| if n == 1 { "character" } else { "characters" };
        if count < len.min {
            self.errors.push(FieldError {
                kind: "string_too_short".into(),
                loc: loc("body", name),
                msg: format!(
                    "String should have at least {} {}",
                    len.min,
                    plural(len.min)
                ),
                input: value.clone(),
                ctx: Some(json!({"min_length": len.min})),
            });
            return None;
        }
        if let Some(max) = len.max.filter(|&max| count > max) {
            self.errors.push(FieldError {
                kind: "string_too_long".into(),
                loc: loc("body", name),
                msg: format!("String should have at most {max} {}", plural(max)),
                input: value.clone(),
                ctx: Some(json!({"max_length": max})),
            });
            return None;
        }
        Some(text.clone())
    }
}

/// Path parameters as matched by the router, undecoded into types.
pub struct PathParams(Vec<(String, String)>);

impl PathParams {
    fn get(&self, name: &str) -> Option<&str> {
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

/// The raw body and its content type, read within `MAX_BODY_BYTES`.
pub struct RawBody {
    content_type: Option<String>,
    bytes: Bytes,
}

enum BodyValue {
    Missing,
    Invalid(FieldError),
    Json(Value),
}

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Self {
                content_type,
                bytes,
            }),
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Err(_) => Err(ApiError::BadRequest("There was an error parsing the body")),
        }
    }
}

impl RawBody {
    /// FastAPI parses JSON when the content type is JSON (`application/json`,
    /// `application/*+json`) or absent; any other body reaches the model as text.
    fn value(&self) -> Result<BodyValue, ApiError> {
        if self.bytes.is_empty() {
            return Ok(BodyValue::Missing);
        }
        let is_json = match &self.content_type {
            None => true,
            Some(ct) => {
                let essence = ct
                    .split(';')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_ascii_lowercase();
                let (main, sub) = essence.split_once('/').unwrap_or(("text", "plain"));
                main == "application" && (sub == "json" || sub.ends_with("+json"))
            }
        };
        if !is_json {
            let text = String::from_utf8_lossy(&self.bytes).into_owned();
            return Ok(BodyValue::Json(Value::String(text)));
        }
        // Python's json.loads drops a UTF-8 byte order mark.
        let bytes = self
            .bytes
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&self.bytes);
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Err(ApiError::BadRequest("There was an error parsing the body"));
        };
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Null) => Ok(BodyValue::Missing),
            Ok(value) => Ok(BodyValue::Json(value)),
            Err(_) => match pyjson::python_json_error(text) {
                Some(pyjson::PyJsonError::Decode(message, position)) => {
                    Ok(BodyValue::Invalid(FieldError {
                        kind: "json_invalid".into(),
                        loc: vec![json!("body"), json!(position)],
                        msg: "JSON decode error".into(),
                        input: json!({}),
                        ctx: Some(json!({"error": message})),
                    }))
                }
                // Python would parse it (NaN, lone surrogates) or fail otherwise (nesting).
                _ => Err(ApiError::BadRequest("There was an error parsing the body")),
            },
        }
    }
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
    fn into_error(self, loc: Vec<Value>, input: &Value) -> FieldError {
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

/// pydantic's lax `bool`: true/false, 0/1 (numbers too), and the strings below in any case.
pub fn lax_bool(value: &Value) -> Result<bool, NotBool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) if n.as_f64() == Some(0.0) => Ok(false),
        Value::Number(n) if n.as_f64() == Some(1.0) => Ok(true),
        Value::Number(_) => Err(NotBool::Parsing),
        Value::String(s) => match s.to_lowercase().as_str() {
            "0" | "off" | "f" | "false" | "n" | "no" => Ok(false),
            "1" | "on" | "t" | "true" | "y" | "yes" => Ok(true),
            _ => Err(NotBool::Parsing),
        },
        _ => Err(NotBool::Type),
    }
}

/// pydantic's `int` from a string: surrounding whitespace, a sign, and a zero fraction
/// (`"10.0"`) are accepted; Python's integers are unbounded, so large values saturate.
fn parse_int(raw: &str) -> Option<i128> {
    let text = raw.trim();
    let text = match text.split_once('.') {
        Some((whole, fraction)) if !fraction.is_empty() && fraction.bytes().all(|b| b == b'0') => {
            whole
        }
        Some(_) => return None,
        None => text,
    };
    let (negative, digits) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = digits.bytes().fold(0i128, |acc, d| {
        acc.saturating_mul(10).saturating_add(i128::from(d - b'0'))
    });
    Some(if negative { -magnitude } else { magnitude })
}

fn loc(place: &'static str, name: &'static str) -> Vec<Value> {
    vec![json!(place), json!(name)]
}

fn missing(loc: Vec<Value>, input: Value) -> FieldError {
    FieldError {
        kind: "missing".into(),
        loc,
        msg: "Field required".into(),
        input,
        ctx: None,
    }
}

fn int_parsing(loc: Vec<Value>, raw: &str) -> FieldError {
    FieldError {
        kind: "int_parsing".into(),
        loc,
        msg: "Input should be a valid integer, unable to parse string as an integer".into(),
        input: Value::String(raw.to_owned()),
        ctx: None,
    }
}

fn bound(
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
    fn ints_parse_like_pydantic() {
        assert_eq!(parse_int("10"), Some(10));
        assert_eq!(parse_int(" 10 "), Some(10));
        assert_eq!(parse_int("+7"), Some(7));
        assert_eq!(parse_int("-3"), Some(-3));
        assert_eq!(parse_int("10.00"), Some(10));
        assert_eq!(
            parse_int("99999999999999999999999999999999999999999999"),
            Some(i128::MAX)
        );
        for bad in ["", " ", "abc", "1.5", "1e3", "0x10", "1_000", "--1", "10."] {
            assert_eq!(parse_int(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn bools_parse_like_pydantic_lax_mode() {
        for (raw, expected) in [
            ("true", true),
            ("False", false),
            ("TRUE", true),
            ("1", true),
            ("0", false),
            ("yes", true),
            ("No", false),
            ("on", true),
            ("off", false),
            ("t", true),
            ("f", false),
            ("y", true),
            ("n", false),
        ] {
            assert_eq!(lax_bool(&json!(raw)).unwrap(), expected, "{raw}");
        }
        assert!(lax_bool(&json!(1)).unwrap());
        assert!(!lax_bool(&json!(0.0)).unwrap());
        assert_eq!(lax_bool(&json!(2)), Err(NotBool::Parsing));
        assert_eq!(lax_bool(&json!("maybe")), Err(NotBool::Parsing));
        assert_eq!(lax_bool(&json!(" true")), Err(NotBool::Parsing));
        assert_eq!(lax_bool(&json!([true])), Err(NotBool::Type));
    }

    #[test]
    fn last_repeated_query_value_wins() {
        let q = QueryParams::parse(Some("limit=1&limit=2&done=%54rue"));
        assert_eq!(q.get("limit"), Some("2"));
        assert_eq!(q.get("done"), Some("True"));
        assert_eq!(q.get("skip"), None);
    }
}
