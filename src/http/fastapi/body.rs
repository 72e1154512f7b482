//! Request bodies: FastAPI's content-type rules, Python's JSON, and pydantic models.

use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use bytes::Bytes;
use serde_json::{Value, json};
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};

use super::errors::{FieldError, loc, missing};
use super::lax::lax_bool;
use super::pyjson::{self, PyValue};
use crate::email;
use crate::http::error::ApiError;

/// Bodies larger than this are refused with `413` (axum's `DefaultBodyLimit`, set in `app`).
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// Text fields may hold any character but NUL.
const NO_NUL_PATTERN: &str = "^[^\\x00]*$";

/// A request body model (pydantic `BaseModel`).
pub trait BodyModel: Sized {
    /// The pydantic class name FastAPI mentions in `model_type` errors.
    const NAME: &'static str;
    /// Reads every field (so that all errors are reported), then builds the value.
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self>;
}

/// The fields of a JSON object body; unknown fields are ignored, as pydantic does.
pub struct Fields<'a> {
    whole: &'a PyValue,
    errors: &'a mut Vec<FieldError>,
}

/// Length bounds of a string field, in characters.
#[derive(Clone, Copy)]
pub struct Len {
    pub min: usize,
    pub max: Option<usize>,
}

impl Len {
    /// The OpenAPI schema of a string field with these bounds (and `null` when optional):
    /// the limits are written once, here and in the validation, from the same constants.
    pub fn schema(self, nullable: bool) -> ObjectBuilder {
        let kind = if nullable {
            SchemaType::from_iter([Type::String, Type::Null])
        } else {
            SchemaType::Type(Type::String)
        };
        ObjectBuilder::new()
            .schema_type(kind)
            .min_length((self.min > 0).then_some(self.min))
            .max_length(self.max)
            .pattern(Some(NO_NUL_PATTERN))
    }
}

impl Fields<'_> {
    /// A required `str`.
    pub fn required_str(&mut self, name: &'static str, len: Len) -> Option<String> {
        match self.whole.get(name) {
            None => {
                self.errors
                    .push(missing(loc("body", name), json_safe(self.whole)));
                None
            }
            Some(value) => self.string(name, value, len),
        }
    }

    /// A `str | None`; absent and `null` are both `None`.
    pub fn optional_str(&mut self, name: &'static str, len: Len) -> Option<Option<String>> {
        match self.whole.get(name) {
            None | Some(PyValue::Null) => Some(None),
            Some(value) => self.string(name, value, len).map(Some),
        }
    }

    /// A `bool | None` with pydantic's lax conversions.
    pub fn optional_bool(&mut self, name: &'static str) -> Option<Option<bool>> {
        match self.whole.get(name) {
            None | Some(PyValue::Null) => Some(None),
            Some(value) => match lax_bool(value) {
                Ok(b) => Some(Some(b)),
                Err(why) => {
                    self.errors
                        .push(why.into_error(loc("body", name), &json_safe(value)));
                    None
                }
            },
        }
    }

    /// A required `Literal[...]` of strings (pydantic's `literal_error` otherwise).
    pub fn literal(
        &mut self,
        name: &'static str,
        allowed: &[&'static str],
    ) -> Option<&'static str> {
        let text = self.required_str(name, Len { min: 0, max: None })?;
        if let Some(found) = allowed.iter().find(|a| **a == text) {
            return Some(found);
        }
        self.errors.push(super::errors::literal_error(
            loc("body", name),
            &text,
            allowed,
        ));
        None
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

    fn string(&mut self, name: &'static str, value: &PyValue, len: Len) -> Option<String> {
        let text = match value {
            PyValue::Str(text) => text,
            PyValue::BrokenStr(text) => {
                self.errors.push(FieldError {
                    kind: "string_unicode".into(),
                    loc: loc("body", name),
                    msg: "Input should be a valid string, unable to parse raw data as a unicode string".into(),
                    input: Value::String(text.clone()),
                    ctx: None,
                });
                return None;
            }
            other => {
                self.errors.push(FieldError {
                    kind: "string_type".into(),
                    loc: loc("body", name),
                    msg: "Input should be a valid string".into(),
                    input: json_safe(other),
                    ctx: None,
                });
                return None;
            }
        };
        let value = &Value::String(text.clone());
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

/// The raw body and its content type, read within `MAX_BODY_BYTES`.
pub struct RawBody {
    content_type: Option<String>,
    bytes: Bytes,
}

enum BodyValue {
    Missing,
    Invalid(FieldError),
    Json(PyValue),
}

/// How long the body may take to arrive (`BODY_READ_TIMEOUT`), set on the request by the
/// timeout middleware.
#[derive(Debug, Clone, Copy)]
pub struct BodyReadTimeout(pub std::time::Duration);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        let timeout = req.extensions().get::<BodyReadTimeout>().copied();
        let read = Bytes::from_request(req, state);
        let read = match timeout {
            Some(BodyReadTimeout(limit)) => tokio::time::timeout(limit, read)
                .await
                .map_err(|_| ApiError::SlowClient)?,
            None => read.await,
        };
        match read {
            // A copy of its own: hyper hands over a slice of the connection's read buffer
            // (8 KiB or more), which a handler holding the body would otherwise keep from
            // being reused while it waits (for a group commit, say), so that hyper allocates
            // another for the next read.
            Ok(bytes) => Ok(Self {
                content_type,
                bytes: Bytes::copy_from_slice(&bytes),
            }),
            Err(rejection) if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::PayloadTooLarge)
            }
            Err(_) => Err(ApiError::BadRequest("There was an error parsing the body")),
        }
    }
}

impl RawBody {
    /// The bytes as received (what an Idempotency-Key's fingerprint covers).
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

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
            return Ok(BodyValue::Json(PyValue::Str(text)));
        }
        // Python's json.loads drops a UTF-8 byte order mark.
        let bytes = self
            .bytes
            .strip_prefix(b"\xEF\xBB\xBF")
            .unwrap_or(&self.bytes);
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Err(ApiError::BadRequest("There was an error parsing the body"));
        };
        match pyjson::parse(text) {
            Ok(PyValue::Null) => Ok(BodyValue::Missing),
            Ok(value) => Ok(BodyValue::Json(value)),
            Err(pyjson::PyJsonError::Decode(message, position)) => {
                Ok(BodyValue::Invalid(FieldError {
                    kind: "json_invalid".into(),
                    loc: vec![json!("body"), json!(position)],
                    msg: "JSON decode error".into(),
                    input: json!({}),
                    ctx: Some(json!({"error": message})),
                }))
            }
            // Python's recursion limit: FastAPI answers with its generic parse error.
            Err(pyjson::PyJsonError::TooDeep) => {
                Err(ApiError::BadRequest("There was an error parsing the body"))
            }
        }
    }
}

/// Reads the body into model `T`, pushing every problem onto `errors`.
pub(super) fn read_model<T: BodyModel>(
    body: &RawBody,
    errors: &mut Vec<FieldError>,
) -> Result<Option<T>, ApiError> {
    let value = match body.value()? {
        BodyValue::Missing => {
            errors.push(missing(vec![json!("body")], Value::Null));
            return Ok(None);
        }
        BodyValue::Invalid(error) => {
            errors.push(error);
            return Ok(None);
        }
        BodyValue::Json(value) => value,
    };
    if !matches!(value, PyValue::Dict(_)) {
        errors.push(FieldError {
            kind: "model_type".into(),
            loc: vec![json!("body")],
            msg: format!(
                "Input should be a valid dictionary or instance of {}",
                T::NAME
            ),
            input: json_safe(&value),
            ctx: Some(json!({"class_name": T::NAME})),
        });
        return Ok(None);
    }
    let mut fields = Fields {
        whole: &value,
        errors,
    };
    Ok(T::from_fields(&mut fields))
}

/// An input as FastAPI would write it back in an error: integers exactly as sent, floats
/// as Python prints them. Python cannot write `NaN` or `inf` in JSON (FastAPI fails with a
/// 500 there); they are given as the strings `"nan"`, `"inf"`, `"-inf"`.
pub(super) fn json_safe(value: &PyValue) -> Value {
    match value {
        PyValue::Null => Value::Null,
        PyValue::Bool(b) => Value::Bool(*b),
        PyValue::Int(digits) => digits
            .parse::<serde_json::Number>()
            .map_or_else(|_| Value::String(digits.clone()), Value::Number),
        PyValue::Float(x) => {
            let repr = pyjson::float_repr(*x);
            if x.is_finite() {
                repr.parse::<serde_json::Number>()
                    .map_or(Value::String(repr), Value::Number)
            } else {
                Value::String(repr)
            }
        }
        PyValue::Str(text) | PyValue::BrokenStr(text) => Value::String(text.clone()),
        PyValue::List(items) => Value::Array(items.iter().map(json_safe).collect()),
        PyValue::Dict(entries) => Value::Object(
            entries
                .iter()
                .map(|(k, v)| (k.clone(), json_safe(v)))
                .collect(),
        ),
    }
}
