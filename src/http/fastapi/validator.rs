//! The `Validator`: collects every problem of a request (path, then query, then body, as
//! FastAPI reports them) into one `422`.

use serde_json::{Value, json};
use time::Date;
use time::macros::format_description;

use super::body::{BodyModel, RawBody, read_model};
use super::errors::{FieldError, bound, int_parsing, loc};
use super::lax::{lax_bool, parse_int};
use super::params::{PathParams, QueryParams};
use crate::domain::Page;
use crate::http::error::ApiError;

/// The largest accepted `limit` of a listing.
pub const MAX_LIMIT: i64 = 1000;

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

    /// `skip` and `limit`, FastAPI's defaults with our bounds.
    pub fn page(&mut self, query: &QueryParams) -> Option<Page> {
        let defaults = Page::default();
        let skip = self.query_int(query, "skip", defaults.skip, 0, None);
        let limit = self.query_int(query, "limit", defaults.limit, 0, Some(MAX_LIMIT));
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
        read_model(body, &mut self.errors)
    }
}
