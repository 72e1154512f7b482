//! The `Validator`: collects every problem of a request (path, then query, then body, as
//! FastAPI reports them) into one `422`.

use serde_json::{Value, json};
use time::Date;
use time::macros::format_description;

use super::body::{BodyModel, RawBody, read_model};
use super::errors::{FieldError, bound, int_parsing, loc};
use super::lax::{lax_bool_str, parse_int};
use super::params::{PathParams, QueryParams};
use crate::domain::Page;
use crate::http::error::ApiError;

/// What an `Idempotency-Key` may be (the document says the same).
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,255}$";

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

    pub fn error(&mut self, error: FieldError) {
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

    /// An optional `int` query parameter of at least `ge`.
    pub fn optional_query_int(
        &mut self,
        query: &QueryParams,
        name: &'static str,
        ge: i64,
    ) -> Option<Option<i64>> {
        if query.get(name).is_none() {
            return Some(None);
        }
        self.query_int(query, name, 0, ge, None).map(Some)
    }

    /// A `limit` query parameter (default 100, at most 1000), for keyset listings.
    pub fn limit(&mut self, query: &QueryParams) -> Option<i64> {
        self.query_int(query, "limit", Page::default().limit, 1, Some(MAX_LIMIT))
    }

    /// An optional text query parameter (a search, a name), at most `max` characters.
    pub fn query_text(
        &mut self,
        query: &QueryParams,
        name: &'static str,
        max: usize,
    ) -> Option<Option<String>> {
        let Some(raw) = query.get(name) else {
            return Some(None);
        };
        if raw.chars().count() > max || raw.contains('\0') {
            self.error(FieldError {
                kind: "string_too_long".into(),
                loc: loc("query", name),
                msg: format!("String should have at most {max} characters and no NUL"),
                input: Value::String(raw.to_owned()),
                ctx: Some(serde_json::json!({"max_length": max})),
            });
            return None;
        }
        Some(Some(raw.to_owned()))
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
        match lax_bool_str(raw) {
            Ok(value) => Some(Some(value)),
            Err(why) => {
                self.error(why.into_error(loc("query", name), &Value::String(raw.to_owned())));
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

    /// The `Idempotency-Key` header, when sent: 1 to 255 visible ASCII characters.
    pub fn idempotency_key(&mut self, key: Option<&str>) {
        let Some(key) = key else { return };
        let visible = key.bytes().all(|b| b.is_ascii_graphic());
        if key.is_empty() || key.len() > crate::idempotency::MAX_KEY_LENGTH || !visible {
            self.error(FieldError {
                kind: "string_pattern_mismatch".into(),
                loc: vec![json!("header"), json!("idempotency-key")],
                msg: format!("String should match pattern '{IDEMPOTENCY_KEY_PATTERN}'"),
                input: Value::String(key.to_owned()),
                ctx: Some(json!({"pattern": IDEMPOTENCY_KEY_PATTERN})),
            });
        }
    }

    /// A JSON body read into model `T`, as FastAPI reads a single body parameter.
    pub fn body<T: BodyModel>(&mut self, body: &RawBody) -> Result<Option<T>, ApiError> {
        read_model(body, &mut self.errors)
    }
}

#[cfg(test)]
mod props {
    //! Property tests of the query parsers: any input is an answer (a value or pydantic's
    //! error), never a panic, and well-formed input round-trips.

    use proptest::prelude::*;
    use time::Month;

    use super::*;

    fn query(pairs: &[(&str, &str)]) -> QueryParams {
        let mut text = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            text.append_pair(k, v);
        }
        QueryParams::parse(Some(&text.finish()))
    }

    proptest! {
        #[test]
        fn any_day_written_yyyymmdd_reads_back(y in 0i32..=9999, m in 1u8..=12, d in 1u8..=31) {
            let month = Month::try_from(m).unwrap();
            prop_assume!(d <= time::util::days_in_month(month, y));
            let text = format!("{y:04}{m:02}{d:02}");
            let mut input = Validator::new();
            let day = input.query_day(&query(&[("date", &text)]), "date");
            prop_assert!(input.finish().is_ok());
            prop_assert_eq!(day, Some(Some(Date::from_calendar_date(y, month, d).unwrap())));
        }

        #[test]
        fn anything_else_is_a_value_error_at_query_date(text in "\\PC{0,12}") {
            prop_assume!(!(text.len() == 8 && text.bytes().all(|b| b.is_ascii_digit())));
            let mut input = Validator::new();
            let day = input.query_day(&query(&[("date", &text)]), "date");
            prop_assert_eq!(day, None);
            match input.finish() {
                Err(ApiError::Validation(errors)) => {
                    prop_assert_eq!(errors.len(), 1);
                    prop_assert_eq!(&errors[0].loc, &vec![json!("query"), json!("date")]);
                }
                other => prop_assert!(false, "expected a 422, got {other:?}"),
            }
        }

        #[test]
        fn skip_and_limit_are_in_bounds_or_422(skip in "\\PC{0,24}", limit in "\\PC{0,24}") {
            let mut input = Validator::new();
            let page = input.page(&query(&[("skip", &skip), ("limit", &limit)]));
            match (page, input.finish()) {
                (Some(page), Ok(())) => {
                    prop_assert!(page.skip >= 0);
                    prop_assert!((0..=MAX_LIMIT).contains(&page.limit));
                }
                (None, Err(ApiError::Validation(errors))) => prop_assert!(!errors.is_empty()),
                (page, result) => prop_assert!(false, "{page:?} with {result:?}"),
            }
        }

        #[test]
        fn integers_read_back_whatever_their_padding(n in any::<i64>(), pad in "[ \\t]{0,3}", zeros in 0usize..4) {
            let fraction = if zeros > 0 { format!(".{}", "0".repeat(zeros)) } else { String::new() };
            prop_assert_eq!(parse_int(&format!("{pad}{n}{fraction}{pad}")), Some(i128::from(n)));
        }

        #[test]
        fn done_takes_pydantic_spellings_in_any_case(word in "(true|false|yes|no|on|off|t|f|y|n|1|0)", upper in any::<u16>()) {
            let spelled: String = word
                .chars()
                .enumerate()
                .map(|(n, c)| if upper >> (n % 16) & 1 == 1 { c.to_ascii_uppercase() } else { c })
                .collect();
            let expected = matches!(word.as_str(), "true" | "yes" | "on" | "t" | "y" | "1");
            let mut input = Validator::new();
            let done = input.query_bool(&query(&[("done", &spelled)]), "done");
            prop_assert_eq!(done, Some(Some(expected)));
        }

        #[test]
        fn any_other_done_is_bool_parsing(text in "\\PC{0,8}") {
            let known = ["true", "false", "yes", "no", "on", "off", "t", "f", "y", "n", "1", "0"];
            prop_assume!(!known.contains(&text.to_lowercase().as_str()));
            let mut input = Validator::new();
            prop_assert_eq!(input.query_bool(&query(&[("done", &text)]), "done"), None);
            prop_assert!(input.finish().is_err());
        }
    }
}
