//! Keyset paging of the item listings: an opaque `cursor` query parameter, opt-in. `skip`
//! reads and throws away every row before the page, so deep pages cost more and more; a
//! cursor names the last item of the previous page, and the next page starts after it with
//! an index range scan, at any depth. Requests with `skip`/`limit` are answered as before.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use time::PrimitiveDateTime;

use super::fastapi::{FieldError, QueryParams, Validator};
use crate::domain::Item;

pub const PARAM: &str = "cursor";
const VERSION: &str = "v1";

/// The position after `item`, as the `next` link carries it.
pub fn encode(item: &Item) -> String {
    let at = item.created_at.assume_utc().unix_timestamp();
    URL_SAFE_NO_PAD.encode(format!("{VERSION}.{at}.{}", item.id))
}

fn decode(text: &str) -> Option<(PrimitiveDateTime, i64)> {
    let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('.');
    if parts.next()? != VERSION {
        return None;
    }
    let at: i64 = parts.next()?.parse().ok()?;
    let id: i64 = parts.next()?.parse().ok()?;
    if parts.next().is_some() {
        return None;
    }
    let at = time::OffsetDateTime::from_unix_timestamp(at).ok()?;
    Some((PrimitiveDateTime::new(at.date(), at.time()), id))
}

/// Keyset paging asked for: `None` without `cursor`; `Some(None)` for `cursor=` (the first
/// page); `Some(Some(position))` after a `next` link. Recorded as a 422 when malformed. A
/// `skip` given too counts from the cursor on (and the `next` link drops it).
pub fn from_query(
    input: &mut Validator,
    query: &QueryParams,
) -> Option<Option<Option<(PrimitiveDateTime, i64)>>> {
    let raw = query.get(PARAM)?;
    if raw.is_empty() {
        return Some(Some(None));
    }
    match decode(raw) {
        Some(position) => Some(Some(Some(position))),
        None => {
            input.error(problem(
                raw,
                "Invalid cursor: use the one a next link carries",
            ));
            Some(None)
        }
    }
}

fn problem(raw: &str, msg: &str) -> FieldError {
    FieldError {
        kind: "value_error".into(),
        loc: vec!["query".into(), PARAM.into()],
        msg: msg.into(),
        input: Value::String(raw.to_owned()),
        ctx: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn a_cursor_round_trips_and_garbage_does_not_decode() {
        let item = Item {
            title: String::new(),
            description: None,
            id: 42,
            owner_id: 1,
            created_at: datetime!(2023-01-03 12:00:00),
            done: false,
            version: 1,
        };
        assert_eq!(
            decode(&encode(&item)),
            Some((datetime!(2023-01-03 12:00:00), 42))
        );
        for bad in [
            "",
            "xyz",
            "djEuMS4y.",
            &URL_SAFE_NO_PAD.encode("v2.1.2"),
            &URL_SAFE_NO_PAD.encode("v1.1"),
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
