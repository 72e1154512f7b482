//! Where and why Python's `json.loads` rejects a document, so that malformed bodies get the
//! same `json_invalid` error FastAPI sends: `loc: ["body", <position>]` and
//! `ctx.error` set to Python's message (CPython 3.8-3.12, C scanner).
//!
//! serde_json does the parsing; this scanner only runs once serde_json has refused a body,
//! to find the message and the position (a character index, as Python counts) that Python
//! would report. Nesting is capped like Python's recursion limit.

/// Python's recursion limit makes deeper documents fail with a RecursionError, which FastAPI
/// answers with `400 There was an error parsing the body`.
const MAX_DEPTH: usize = 990;

#[derive(Debug, PartialEq, Eq)]
pub enum PyJsonError {
    /// A JSONDecodeError: message and character position.
    Decode(&'static str, usize),
    /// Python would fail some other way (recursion).
    Other,
}

/// `None` when Python would accept the document.
pub fn python_json_error(text: &str) -> Option<PyJsonError> {
    let chars: Vec<char> = text.chars().collect();
    let scanner = Scanner { s: &chars };
    let start = scanner.skip_ws(0);
    match scanner.value(start, 0) {
        Err(Fail::StopAt(pos)) => Some(PyJsonError::Decode("Expecting value", pos)),
        Err(Fail::Error(msg, pos)) => Some(PyJsonError::Decode(msg, pos)),
        Err(Fail::TooDeep) => Some(PyJsonError::Other),
        Ok(end) => {
            let end = scanner.skip_ws(end);
            (end != chars.len()).then_some(PyJsonError::Decode("Extra data", end))
        }
    }
}

enum Fail {
    /// Nothing that starts a value here (Python's StopIteration).
    StopAt(usize),
    Error(&'static str, usize),
    TooDeep,
}

struct Scanner<'a> {
    s: &'a [char],
}

impl Scanner<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.s.get(i).copied()
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while matches!(self.at(i), Some(' ' | '\t' | '\n' | '\r')) {
            i += 1;
        }
        i
    }

    fn literal(&self, i: usize, word: &str) -> bool {
        word.chars()
            .enumerate()
            .all(|(k, c)| self.at(i + k) == Some(c))
    }

    fn value(&self, i: usize, depth: usize) -> Result<usize, Fail> {
        if depth > MAX_DEPTH {
            return Err(Fail::TooDeep);
        }
        match self.at(i) {
            None => Err(Fail::StopAt(i)),
            Some('"') => self.string(i + 1),
            Some('{') => self.object(i + 1, depth + 1),
            Some('[') => self.array(i + 1, depth + 1),
            Some('n') if self.literal(i, "null") => Ok(i + 4),
            Some('t') if self.literal(i, "true") => Ok(i + 4),
            Some('f') if self.literal(i, "false") => Ok(i + 5),
            Some('N') if self.literal(i, "NaN") => Ok(i + 3),
            Some('I') if self.literal(i, "Infinity") => Ok(i + 8),
            Some('-') if self.literal(i, "-Infinity") => Ok(i + 9),
            Some(_) => self.number(i).ok_or(Fail::StopAt(i)),
        }
    }

    /// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?`
    fn number(&self, start: usize) -> Option<usize> {
        let digit = |i: usize| self.at(i).is_some_and(|c| c.is_ascii_digit());
        let mut i = start;
        if self.at(i) == Some('-') {
            i += 1;
        }
        match self.at(i) {
            Some('0') => i += 1,
            Some('1'..='9') => {
                while digit(i) {
                    i += 1;
                }
            }
            _ => return None,
        }
        if self.at(i) == Some('.') && digit(i + 1) {
            i += 1;
            while digit(i) {
                i += 1;
            }
        }
        if matches!(self.at(i), Some('e' | 'E')) {
            let mut j = i + 1;
            if matches!(self.at(j), Some('+' | '-')) {
                j += 1;
            }
            if digit(j) {
                while digit(j) {
                    j += 1;
                }
                i = j;
            }
        }
        Some(i)
    }

    /// `begin` is just after the opening quote.
    fn string(&self, begin: usize) -> Result<usize, Fail> {
        let mut i = begin;
        loop {
            match self.at(i) {
                None => return Err(Fail::Error("Unterminated string starting at", begin - 1)),
                Some('"') => return Ok(i + 1),
                Some('\\') => {
                    match self.at(i + 1) {
                        None => {
                            return Err(Fail::Error("Unterminated string starting at", begin - 1));
                        }
                        Some('"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => i += 2,
                        Some('u') => {
                            // CPython also insists on a character after the four digits.
                            let hex = (i + 2..i + 6)
                                .all(|k| self.at(k).is_some_and(|c| c.is_ascii_hexdigit()));
                            if i + 6 >= self.s.len() || !hex {
                                return Err(Fail::Error("Invalid \\uXXXX escape", i + 1));
                            }
                            i += 6;
                        }
                        Some(_) => return Err(Fail::Error("Invalid \\escape", i)),
                    }
                }
                Some(c) if (c as u32) < 0x20 => {
                    return Err(Fail::Error("Invalid control character at", i));
                }
                Some(_) => i += 1,
            }
        }
    }

    fn object(&self, i: usize, depth: usize) -> Result<usize, Fail> {
        let mut i = self.skip_ws(i);
        if self.at(i) == Some('}') {
            return Ok(i + 1);
        }
        loop {
            if self.at(i) != Some('"') {
                return Err(Fail::Error(
                    "Expecting property name enclosed in double quotes",
                    i,
                ));
            }
            i = self.skip_ws(self.string(i + 1)?);
            if self.at(i) != Some(':') {
                return Err(Fail::Error("Expecting ':' delimiter", i));
            }
            i = self.skip_ws(i + 1);
            i = self.skip_ws(self.value(i, depth)?);
            match self.at(i) {
                Some('}') => return Ok(i + 1),
                Some(',') => i = self.skip_ws(i + 1),
                _ => return Err(Fail::Error("Expecting ',' delimiter", i)),
            }
        }
    }

    fn array(&self, i: usize, depth: usize) -> Result<usize, Fail> {
        let mut i = self.skip_ws(i);
        if self.at(i) == Some(']') {
            return Ok(i + 1);
        }
        loop {
            i = self.skip_ws(self.value(i, depth)?);
            match self.at(i) {
                Some(']') => return Ok(i + 1),
                Some(',') => i = self.skip_ws(i + 1),
                _ => return Err(Fail::Error("Expecting ',' delimiter", i)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> Option<(&'static str, usize)> {
        match python_json_error(text)? {
            PyJsonError::Decode(msg, pos) => Some((msg, pos)),
            PyJsonError::Other => Some(("other", 0)),
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
    fn deep_nesting_is_not_a_stack_overflow() {
        let deep = "[".repeat(100_000);
        assert_eq!(python_json_error(&deep), Some(PyJsonError::Other));
    }
}
