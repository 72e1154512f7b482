//! JSON as Python's `json.loads` reads it (CPython 3.8-3.12, C scanner), which is what
//! FastAPI parses request bodies with.
//!
//! Why not serde_json: the two accept different documents and say different things about
//! the ones they refuse. Python accepts `NaN`, `Infinity`, lone surrogate escapes and
//! nesting to its recursion limit (about 990 levels; serde_json stops at 128); it keeps
//! integers of any size (serde_json turns `10**38` into a float); and FastAPI's
//! `json_invalid` error carries Python's message and position (a character index). So the
//! body is parsed here into a `PyValue`, Python's view of it, and a refused body gets
//! Python's own message and position.

/// Python's recursion limit makes deeper documents fail with a RecursionError, which FastAPI
/// answers with `400 There was an error parsing the body`.
const MAX_DEPTH: usize = 990;

/// A JSON document as Python sees it.
#[derive(Debug, Clone, PartialEq)]
pub enum PyValue {
    Null,
    Bool(bool),
    /// An integer, exactly as written (Python's integers are unbounded).
    Int(String),
    /// A float; `NaN`, `Infinity` and overflowing literals (`1e400`) included.
    Float(f64),
    Str(String),
    /// A string with lone surrogate escapes (`"\ud800"`), which Python keeps and no Rust
    /// string can hold: shown with U+FFFD in their place.
    BrokenStr(String),
    List(Vec<PyValue>),
    /// Keys in first-seen order; a repeated key keeps its first place and its last value,
    /// as a Python dict does.
    Dict(Vec<(String, PyValue)>),
}

impl PyValue {
    pub fn get(&self, key: &str) -> Option<&PyValue> {
        match self {
            PyValue::Dict(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

/// Why Python would refuse the document.
#[derive(Debug, PartialEq, Eq)]
pub enum PyJsonError {
    /// A JSONDecodeError: message and character position.
    Decode(&'static str, usize),
    /// Nested deeper than Python's recursion limit.
    TooDeep,
}

/// Parses `text` as `json.loads` would.
pub fn parse(text: &str) -> Result<PyValue, PyJsonError> {
    let mut parser = Parser {
        s: text.as_bytes(),
        text,
    };
    let start = parser.skip_ws(0);
    let (value, end) = parser.value(start, 0).map_err(|fail| parser.error(fail))?;
    let end = parser.skip_ws(end);
    if end != text.len() {
        return Err(PyJsonError::Decode("Extra data", parser.chars_before(end)));
    }
    Ok(value)
}

/// Where parsing stopped (byte offsets), before they become Python's character positions.
enum Fail {
    /// Nothing that starts a value here (Python's StopIteration).
    StopAt(usize),
    Error(&'static str, usize),
    TooDeep,
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
}

impl Parser<'_> {
    fn error(&self, fail: Fail) -> PyJsonError {
        match fail {
            Fail::StopAt(at) => PyJsonError::Decode("Expecting value", self.chars_before(at)),
            Fail::Error(message, at) => PyJsonError::Decode(message, self.chars_before(at)),
            Fail::TooDeep => PyJsonError::TooDeep,
        }
    }

    /// Python counts positions in characters, not bytes.
    fn chars_before(&self, byte: usize) -> usize {
        self.text
            .get(..byte)
            .map_or_else(|| self.text.chars().count(), |head| head.chars().count())
    }

    fn at(&self, i: usize) -> Option<u8> {
        self.s.get(i).copied()
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            i += 1;
        }
        i
    }

    fn literal(&self, i: usize, word: &str) -> bool {
        self.s.get(i..i + word.len()) == Some(word.as_bytes())
    }

    fn value(&mut self, i: usize, depth: usize) -> Result<(PyValue, usize), Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail::TooDeep);
        }
        match self.at(i) {
            None => Err(Fail::StopAt(i)),
            Some(b'"') => self.string(i + 1),
            Some(b'{') => self.object(i + 1, depth + 1),
            Some(b'[') => self.array(i + 1, depth + 1),
            Some(b'n') if self.literal(i, "null") => Ok((PyValue::Null, i + 4)),
            Some(b't') if self.literal(i, "true") => Ok((PyValue::Bool(true), i + 4)),
            Some(b'f') if self.literal(i, "false") => Ok((PyValue::Bool(false), i + 5)),
            Some(b'N') if self.literal(i, "NaN") => Ok((PyValue::Float(f64::NAN), i + 3)),
            Some(b'I') if self.literal(i, "Infinity") => Ok((PyValue::Float(f64::INFINITY), i + 8)),
            Some(b'-') if self.literal(i, "-Infinity") => {
                Ok((PyValue::Float(f64::NEG_INFINITY), i + 9))
            }
            Some(_) => self.number(i).ok_or(Fail::StopAt(i)),
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`: an int without fraction or
    /// exponent, a float otherwise.
    fn number(&self, start: usize) -> Option<(PyValue, usize)> {
        let digit = |i: usize| self.at(i).is_some_and(|c| c.is_ascii_digit());
        let mut i = start;
        if self.at(i) == Some(b'-') {
            i += 1;
        }
        match self.at(i) {
            Some(b'0') => i += 1,
            Some(b'1'..=b'9') => {
                while digit(i) {
                    i += 1;
                }
            }
            _ => return None,
        }
        let mut float = false;
        if self.at(i) == Some(b'.') && digit(i + 1) {
            float = true;
            i += 1;
            while digit(i) {
                i += 1;
            }
        }
        if matches!(self.at(i), Some(b'e' | b'E')) {
            let mut j = i + 1;
            if matches!(self.at(j), Some(b'+' | b'-')) {
                j += 1;
            }
            if digit(j) {
                float = true;
                while digit(j) {
                    j += 1;
                }
                i = j;
            }
        }
        let text = &self.text[start..i];
        let value = if float {
            // Rust's float parser rounds like Python's (correctly), and overflows to
            // infinity as Python does.
            PyValue::Float(text.parse().ok()?)
        } else {
            PyValue::Int(text.to_owned())
        };
        Some((value, i))
    }

    /// `begin` is just after the opening quote.
    fn string(&self, begin: usize) -> Result<(PyValue, usize), Fail> {
        let unterminated = Fail::Error("Unterminated string starting at", begin - 1);
        let mut out = String::new();
        let mut broken = false;
        let mut i = begin;
        loop {
            // Copy the run of plain characters up to the next quote, backslash or control.
            let run = self.s[i.min(self.s.len())..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .map_or(self.s.len(), |n| i + n);
            out.push_str(&self.text[i.min(run)..run]);
            i = run;
            match self.at(i) {
                None => return Err(unterminated),
                Some(b'"') => {
                    let value = if broken {
                        PyValue::BrokenStr(out)
                    } else {
                        PyValue::Str(out)
                    };
                    return Ok((value, i + 1));
                }
                Some(b'\\') => {
                    let escaped = match self.at(i + 1) {
                        None => return Err(unterminated),
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            let (unit, next) = self.unicode_escape(i)?;
                            i = next;
                            match unit {
                                Unit::Char(c) => out.push(c),
                                Unit::Lone => {
                                    broken = true;
                                    out.push('\u{FFFD}');
                                }
                            }
                            continue;
                        }
                        Some(_) => return Err(Fail::Error("Invalid \\escape", i)),
                    };
                    out.push(escaped);
                    i += 2;
                }
                Some(_) => return Err(Fail::Error("Invalid control character at", i)),
            }
        }
    }

    /// Four hex digits after `\u` at `i`.
    fn hex4(&self, i: usize) -> Option<u32> {
        let digits = self.s.get(i..i + 4)?;
        let text = std::str::from_utf8(digits).ok()?;
        if !text.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        u32::from_str_radix(text, 16).ok()
    }

    /// A `\uXXXX` escape at `i` (the backslash), joined with a following low surrogate
    /// escape into one character as Python does.
    fn unicode_escape(&self, i: usize) -> Result<(Unit, usize), Fail> {
        let invalid = Fail::Error("Invalid \\uXXXX escape", i + 1);
        // CPython also insists on a character after the four digits.
        if i + 6 >= self.s.len() {
            return Err(invalid);
        }
        let high = self.hex4(i + 2).ok_or(invalid)?;
        let next = i + 6;
        if (0xD800..0xDC00).contains(&high)
            && self.literal(next, "\\u")
            && let Some(low) = self.hex4(next + 2)
            && (0xDC00..0xE000).contains(&low)
        {
            let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
            let c = char::from_u32(code).ok_or(Fail::Error("Invalid \\uXXXX escape", i + 1))?;
            return Ok((Unit::Char(c), next + 6));
        }
        Ok((char::from_u32(high).map_or(Unit::Lone, Unit::Char), next))
    }

    fn object(&mut self, i: usize, depth: usize) -> Result<(PyValue, usize), Fail> {
        let mut entries: Vec<(String, PyValue)> = Vec::new();
        let mut i = self.skip_ws(i);
        if self.at(i) == Some(b'}') {
            return Ok((PyValue::Dict(entries), i + 1));
        }
        loop {
            if self.at(i) != Some(b'"') {
                return Err(Fail::Error(
                    "Expecting property name enclosed in double quotes",
                    i,
                ));
            }
            let (key, after_key) = self.string(i + 1)?;
            let key = match key {
                PyValue::Str(key) | PyValue::BrokenStr(key) => key,
                _ => unreachable!("string() returns strings"),
            };
            i = self.skip_ws(after_key);
            if self.at(i) != Some(b':') {
                return Err(Fail::Error("Expecting ':' delimiter", i));
            }
            i = self.skip_ws(i + 1);
            let (value, after_value) = self.value(i, depth)?;
            match entries.iter_mut().find(|(k, _)| *k == key) {
                Some(entry) => entry.1 = value,
                None => entries.push((key, value)),
            }
            i = self.skip_ws(after_value);
            match self.at(i) {
                Some(b'}') => return Ok((PyValue::Dict(entries), i + 1)),
                Some(b',') => i = self.skip_ws(i + 1),
                _ => return Err(Fail::Error("Expecting ',' delimiter", i)),
            }
        }
    }

    fn array(&mut self, i: usize, depth: usize) -> Result<(PyValue, usize), Fail> {
        let mut items = Vec::new();
        let mut i = self.skip_ws(i);
        if self.at(i) == Some(b']') {
            return Ok((PyValue::List(items), i + 1));
        }
        loop {
            let (value, after) = self.value(i, depth)?;
            items.push(value);
            i = self.skip_ws(after);
            match self.at(i) {
                Some(b']') => return Ok((PyValue::List(items), i + 1)),
                Some(b',') => i = self.skip_ws(i + 1),
                _ => return Err(Fail::Error("Expecting ',' delimiter", i)),
            }
        }
    }
}

enum Unit {
    Char(char),
    /// A surrogate escape without its partner.
    Lone,
}

/// `repr(x)` of a Python float, which is how FastAPI writes a float back (JSON numbers for
/// finite values: `100.0`, `1e+16`, `1.5e-05`).
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    // Rust's `{:e}` gives the shortest digits that round-trip, as Python's repr does.
    let scientific = format!("{x:e}");
    let (mantissa, exponent) = scientific
        .split_once('e')
        .expect("`{:e}` always writes an exponent");
    let exponent: i32 = exponent.parse().expect("a decimal exponent");
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let sign = if negative { "-" } else { "" };
    if (-4..16).contains(&exponent) {
        let point = exponent + 1;
        let body = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point as usize >= digits.len() {
            format!("{digits}{}.0", "0".repeat(point as usize - digits.len()))
        } else {
            let (whole, fraction) = digits.split_at(point as usize);
            format!("{whole}.{fraction}")
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let fraction = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!(
            "{sign}{first}{fraction}e{exponent_sign}{:02}",
            exponent.unsigned_abs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Option<(&'static str, usize)> {
        match parse(text).err()? {
            PyJsonError::Decode(msg, pos) => Some((msg, pos)),
            PyJsonError::TooDeep => Some(("too deep", 0)),
        }
    }

    /// Each expectation is what CPython 3.11's `json.loads` raises for the same text.
    #[test]
    fn matches_cpython_messages_and_positions() {
        let cases: &[(&str, Option<(&str, usize)>)] = &[
            (r#"{"a": 1}"#, None),
            (" [1, 2.5e3, -0, true, null, NaN, -Infinity] ", None),
            ("", Some(("Expecting value", 0))),
            ("   ", Some(("Expecting value", 3))),
            (r#"{"title": }"#, Some(("Expecting value", 10))),
            (r#"{"title": "x""#, Some(("Expecting ',' delimiter", 13))),
            (r#"{"title" "x"}"#, Some(("Expecting ':' delimiter", 9))),
            (
                r#"{title: "x"}"#,
                Some(("Expecting property name enclosed in double quotes", 1)),
            ),
            (
                r#"{"a": 1,}"#,
                Some(("Expecting property name enclosed in double quotes", 8)),
            ),
            ("[1,]", Some(("Expecting value", 3))),
            ("[1 2]", Some(("Expecting ',' delimiter", 3))),
            (r#"{"a": 1} x"#, Some(("Extra data", 9))),
            ("01", Some(("Extra data", 1))),
            (
                r#"{"a": "unterminated"#,
                Some(("Unterminated string starting at", 6)),
            ),
            ("\"a\u{1}b\"", Some(("Invalid control character at", 2))),
            (r#""\x""#, Some(("Invalid \\escape", 1))),
            (r#""\u12""#, Some(("Invalid \\uXXXX escape", 2))),
            (r#""\u1234"#, Some(("Invalid \\uXXXX escape", 2))),
            (r#"{"é": tru}"#, Some(("Expecting value", 6))),
            ("-", Some(("Expecting value", 0))),
        ];
        for (text, expected) in cases {
            assert_eq!(err(text), *expected, "{text:?}");
        }
    }

    #[test]
    fn values_are_read_as_python_reads_them() {
        let big = "1".to_owned() + &"0".repeat(38);
        assert_eq!(parse(&big), Ok(PyValue::Int(big.clone())));
        assert!(matches!(parse("1e400"), Ok(PyValue::Float(x)) if x.is_infinite()));
        assert!(matches!(parse("NaN"), Ok(PyValue::Float(x)) if x.is_nan()));
        assert_eq!(parse(r#""\ud83d\ude00""#), Ok(PyValue::Str("😀".into())));
        assert_eq!(
            parse(r#""a\ud800b""#),
            Ok(PyValue::BrokenStr("a\u{FFFD}b".into()))
        );
        assert_eq!(
            parse(r#"{"a": 1, "b": 2, "a": 3}"#),
            Ok(PyValue::Dict(vec![
                ("a".into(), PyValue::Int("3".into())),
                ("b".into(), PyValue::Int("2".into())),
            ]))
        );
        let deep_ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(
            parse(&deep_ok).is_ok(),
            "Python's limit, not serde_json's 128"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert_eq!(parse(&deep), Err(PyJsonError::TooDeep));
    }

    /// What CPython 3.11 prints for `repr(float(text))`.
    #[test]
    fn floats_are_written_back_as_python_writes_them() {
        for (x, python) in [
            (1.0, "1.0"),
            (100.0, "100.0"),
            (0.5, "0.5"),
            (-2.25, "-2.25"),
            (1e16, "1e+16"),
            (1.5e300, "1.5e+300"),
            (1e22, "1e+22"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (1.5e-5, "1.5e-05"),
            (9999999999999998.0, "9999999999999998.0"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(float_repr(x), python, "{x}");
        }
    }
}

#[cfg(test)]
mod props {
    //! Python's JSON against serde_json's: every document serde_json accepts, Python accepts
    //! with the same value; arbitrary text is an answer, never a panic.

    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    fn same(py: &PyValue, json: &Value) -> bool {
        match (py, json) {
            (PyValue::Null, Value::Null) => true,
            (PyValue::Bool(a), Value::Bool(b)) => a == b,
            (PyValue::Int(text), Value::Number(n)) => *text == n.to_string(),
            // (serde_json keeps the literal; Python rounds it, overflowing to infinity.)
            (PyValue::Float(x), Value::Number(n)) => n.to_string().parse::<f64>().ok() == Some(*x),
            (PyValue::Str(a), Value::String(b)) => a == b,
            (PyValue::List(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| same(x, y))
            }
            (PyValue::Dict(a), Value::Object(b)) => {
                a.len() == b.len() && a.iter().all(|(k, v)| b.get(k).is_some_and(|w| same(v, w)))
            }
            _ => false,
        }
    }

    /// JSON-like text: real JSON, and near misses made from the same pieces.
    fn jsonish() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("NaN".to_owned()),
            "-?(0|[1-9][0-9]{0,25})(\\.[0-9]{1,8})?([eE][-+]?[0-9]{1,3})?",
            "\"([a-z ]|\\\\[nt\"\\\\/]|\\\\u[0-9a-fA-F]{4}|é|😀){0,6}\"",
            "[\\[\\]{},:\" 0-9a-z\\\\]{1,4}",
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|v| format!("[{}]", v.join(","))),
                prop::collection::vec(("\"[a-c]{1,2}\"", inner), 0..5).prop_map(|v| {
                    let body: Vec<String> =
                        v.into_iter().map(|(k, v)| format!("{k}: {v}")).collect();
                    format!("{{{}}}", body.join(", "))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn python_accepts_what_serde_json_accepts_with_the_same_value(text in jsonish()) {
            let python = parse(&text);
            if let Ok(json) = serde_json::from_str::<Value>(&text) {
                match &python {
                    Ok(py) => prop_assert!(same(py, &json), "{text}: {py:?} vs {json}"),
                    Err(err) => prop_assert!(false, "{text}: Python refused ({err:?}), serde_json read {json}"),
                }
            }
            if let Err(PyJsonError::Decode(_, position)) = python {
                prop_assert!(position <= text.chars().count());
            }
        }

        #[test]
        fn any_text_is_an_answer(text in "\\PC{0,64}") {
            let _ = parse(&text);
        }
    }
}
