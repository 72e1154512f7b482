//! pydantic's lax-mode conversions of booleans and integers.

use super::errors::NotBool;
use super::pyjson::PyValue;

/// pydantic's lax `bool`: true/false, 0/1 (numbers too), and the strings below in any case.
pub fn lax_bool(value: &PyValue) -> Result<bool, NotBool> {
    match value {
        PyValue::Bool(b) => Ok(*b),
        PyValue::Int(digits) => match digits.trim_start_matches('-') {
            "0" => Ok(false),
            "1" if !digits.starts_with('-') => Ok(true),
            _ => Err(NotBool::Parsing),
        },
        PyValue::Float(x) if *x == 0.0 => Ok(false),
        PyValue::Float(x) if *x == 1.0 => Ok(true),
        PyValue::Float(_) | PyValue::BrokenStr(_) => Err(NotBool::Parsing),
        PyValue::Str(s) => lax_bool_str(s),
        PyValue::Null | PyValue::List(_) | PyValue::Dict(_) => Err(NotBool::Type),
    }
}

/// A boolean from text (a query parameter, a string in a body).
pub fn lax_bool_str(text: &str) -> Result<bool, NotBool> {
    match text.to_lowercase().as_str() {
        "0" | "off" | "f" | "false" | "n" | "no" => Ok(false),
        "1" | "on" | "t" | "true" | "y" | "yes" => Ok(true),
        _ => Err(NotBool::Parsing),
    }
}

/// pydantic's `int` from a string: surrounding whitespace, a sign, and a zero fraction
/// (`"10.0"`) are accepted; Python's integers are unbounded, so large values saturate.
pub(super) fn parse_int(raw: &str) -> Option<i128> {
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

    fn s(text: &str) -> PyValue {
        PyValue::Str(text.into())
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
            assert_eq!(lax_bool(&s(raw)).unwrap(), expected, "{raw}");
        }
        assert!(lax_bool(&PyValue::Int("1".into())).unwrap());
        assert!(!lax_bool(&PyValue::Float(0.0)).unwrap());
        assert!(lax_bool(&PyValue::Float(1.0)).unwrap());
        assert_eq!(lax_bool(&PyValue::Float(f64::NAN)), Err(NotBool::Parsing));
        assert_eq!(lax_bool(&PyValue::Int("-1".into())), Err(NotBool::Parsing));
        assert_eq!(lax_bool(&PyValue::Int("2".into())), Err(NotBool::Parsing));
        assert_eq!(lax_bool(&s("maybe")), Err(NotBool::Parsing));
        assert_eq!(lax_bool(&s(" true")), Err(NotBool::Parsing));
        assert_eq!(
            lax_bool(&PyValue::List(vec![PyValue::Bool(true)])),
            Err(NotBool::Type)
        );
    }
}
