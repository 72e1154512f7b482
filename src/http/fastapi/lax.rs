//! pydantic's lax-mode conversions of booleans and integers.

use serde_json::Value;

use super::errors::NotBool;

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
    use serde_json::json;

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
}
