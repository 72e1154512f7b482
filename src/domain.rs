//! The records the API exchanges, shaped exactly as the FastAPI app's pydantic models
//! serialize them (field order included), plus the inputs the store accepts.

use serde::{Serialize, Serializer};
use time::{Date, Duration, PrimitiveDateTime, Time, UtcOffset, macros::format_description};
use utoipa::ToSchema;

/// A task. `version` is the hidden optimistic-concurrency counter behind the `ETag`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct Item {
    pub title: String,
    pub description: Option<String>,
    pub id: i64,
    pub owner_id: i64,
    /// UTC, whole seconds, written without offset as the FastAPI app does.
    #[serde(serialize_with = "serialize_naive")]
    #[schema(value_type = String, example = "2023-01-03T12:00:00")]
    pub created_at: PrimitiveDateTime,
    pub done: bool,
    #[serde(skip)]
    pub version: i64,
}

impl Item {
    /// The weak entity tag `W/"<id>-<version>"`.
    pub fn etag(&self) -> String {
        format!("W/\"{}-{}\"", self.id, self.version)
    }
}

/// A user with its items (by id), the FastAPI `User` response model.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct User {
    pub email: String,
    pub id: i64,
    pub is_active: bool,
    pub items: Vec<Item>,
}

/// `POST /users` and token rotation answer the user plus its new token, shown only there.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserWithToken {
    #[serde(flatten)]
    pub user: User,
    pub token: String,
}

/// A user row without items, as the CLI and the auth layer see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct Account {
    pub id: i64,
    pub email: String,
    pub is_active: bool,
    pub is_admin: bool,
}

/// What authentication needs to know about the holder of a token.
#[derive(Debug, Clone)]
pub struct TokenOwner {
    pub user_id: i64,
    pub is_admin: bool,
    pub token_hash: String,
    /// A named token that may only read (the primary token never is).
    pub read_only: bool,
    /// When the user last changed something (UTC), as its changes record it.
    pub last_write_at: Option<PrimitiveDateTime>,
}

/// A named token as its holder and admins see it (never its secret, which is shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema, sqlx::FromRow)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub read_only: bool,
    #[serde(serialize_with = "serialize_naive")]
    #[schema(value_type = String, example = "2026-12-02T12:00:00")]
    pub created_at: PrimitiveDateTime,
}

/// A named token to store: its stored form (selector and hash) and attributes.
#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub name: String,
    pub read_only: bool,
    pub selector: String,
    pub token_hash: String,
    pub created_at: PrimitiveDateTime,
}

/// Which users an admin lists: by id after `after`, optionally matching an email fragment,
/// optionally with the inactive ones.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccountFilter {
    pub email_contains: Option<String>,
    pub include_inactive: bool,
    pub after: Option<i64>,
    pub limit: i64,
}

/// What happens to an erased user's items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErasedItems {
    /// Handed to the active user with the smallest id, as on delete.
    HandOver,
    /// Deleted with the user.
    Delete,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub token_selector: String,
    pub token_hash: String,
}

#[derive(Debug, Clone)]
pub struct NewItem {
    pub title: String,
    pub description: Option<String>,
    pub created_at: PrimitiveDateTime,
}

impl NewItem {
    /// The item as stored: `id` for `owner_id`, not done, at its first version.
    pub fn created(&self, id: i64, owner_id: i64) -> Item {
        Item {
            title: self.title.clone(),
            description: self.description.clone(),
            id,
            owner_id,
            created_at: self.created_at,
            done: false,
            version: 1,
        }
    }
}

/// A partial update; `None` leaves the field as it is.
#[derive(Debug, Clone, Default)]
pub struct ItemChanges {
    pub title: Option<String>,
    pub description: Option<String>,
    pub done: Option<bool>,
}

impl ItemChanges {
    pub fn is_empty(&self) -> bool {
        self.title.is_none() && self.description.is_none() && self.done.is_none()
    }

    /// The changes made to `item`, as its next version.
    pub fn apply_to(&self, item: &mut Item) {
        if let Some(title) = &self.title {
            item.title = title.clone();
        }
        if let Some(description) = &self.description {
            item.description = Some(description.clone());
        }
        if let Some(done) = self.done {
            item.done = done;
        }
        item.version += 1;
    }
}

/// The filters of the item listings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemFilter {
    pub owner_id: Option<i64>,
    /// Half-open UTC range `[start, end)` on `created_at`.
    pub created: Option<(PrimitiveDateTime, PrimitiveDateTime)>,
    pub done: Option<bool>,
    pub page: Page,
    /// Keyset paging: only items after this `(created_at, id)` in the listing's order
    /// (older, or as old with a smaller id).
    pub before: Option<(PrimitiveDateTime, i64)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub skip: i64,
    pub limit: i64,
}

impl Default for Page {
    fn default() -> Self {
        Page {
            skip: 0,
            limit: 100,
        }
    }
}

/// Japan Standard Time: the `date` filter names a calendar day there (the exercise's users are
/// in Japan), while `created_at` is stored in UTC.
pub const JST: UtcOffset = match UtcOffset::from_hms(9, 0, 0) {
    Ok(offset) => offset,
    Err(_) => panic!("valid offset"),
};

/// The UTC range `[start, end)` covering calendar day `day` in JST.
pub fn jst_day_in_utc(day: Date) -> (PrimitiveDateTime, PrimitiveDateTime) {
    let start = PrimitiveDateTime::new(day, Time::MIDNIGHT)
        .assume_offset(JST)
        .to_offset(UtcOffset::UTC);
    let start = PrimitiveDateTime::new(start.date(), start.time());
    (start, start + Duration::days(1))
}

/// The current UTC time (as `last_write_at` is compared).
pub fn now_utc() -> PrimitiveDateTime {
    let now = time::OffsetDateTime::now_utc();
    PrimitiveDateTime::new(now.date(), now.time())
}

/// The current UTC time truncated to whole seconds, as `created_at` is stored.
pub fn now_utc_seconds() -> PrimitiveDateTime {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    PrimitiveDateTime::new(now.date(), now.time())
}

/// UTC whole seconds without offset (`2023-01-03T12:00:00`): how the API writes times, and
/// how the backup file, the audit filters and the command line read and write them.
pub const NAIVE_SECONDS: &[time::format_description::BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");

pub(crate) fn serialize_naive<S: Serializer>(
    at: &PrimitiveDateTime,
    s: S,
) -> Result<S::Ok, S::Error> {
    let mut buffer = [0; 19];
    if let Some(text) = write_whole_seconds(at, &mut buffer) {
        return s.serialize_str(text);
    }
    let text = at
        .format(NAIVE_SECONDS)
        .map_err(serde::ser::Error::custom)?;
    s.serialize_str(&text)
}

// The two functions below do by hand what `time` does with `NAIVE_SECONDS` and
// `store::sqlite::TEXT_TIMESTAMP`, for the one shape every stored and listed time has: `time`
// turns its format description into another form on every call, which was 7 % of the
// profile of a 100-item listing (one parse and one format per item). Any other input goes
// to `time`, and the tests check both paths agree.

/// `2023-01-03T12:00:00` into `buffer`, for the years 0 to 9999 (`None` for others).
fn write_whole_seconds<'b>(at: &PrimitiveDateTime, buffer: &'b mut [u8; 19]) -> Option<&'b str> {
    let year = u32::try_from(at.year()).ok().filter(|y| *y <= 9999)?;
    let fields = [
        (0, year, 4),
        (5, u32::from(u8::from(at.month())), 2),
        (8, u32::from(at.day()), 2),
        (11, u32::from(at.hour()), 2),
        (14, u32::from(at.minute()), 2),
        (17, u32::from(at.second()), 2),
    ];
    buffer.copy_from_slice(b"0000-00-00T00:00:00");
    for (start, mut value, width) in fields {
        for position in (start..start + width).rev() {
            buffer[position] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    }
    std::str::from_utf8(buffer).ok()
}

/// `2023-01-03 12:00:00` or `2023-01-03T12:00:00`; `None` for anything else, including
/// dates and times that do not exist.
pub(crate) fn parse_whole_seconds(text: &str) -> Option<PrimitiveDateTime> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 19
        && b[4] == b'-'
        && b[7] == b'-'
        && matches!(b[10], b' ' | b'T')
        && b[13] == b':'
        && b[16] == b':';
    if !shape_ok {
        return None;
    }
    let number = |range: std::ops::Range<usize>| {
        b[range].iter().try_fold(0u32, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let month = time::Month::try_from(u8::try_from(number(5..7)?).ok()?).ok()?;
    let date = Date::from_calendar_date(
        i32::try_from(number(0..4)?).ok()?,
        month,
        u8::try_from(number(8..10)?).ok()?,
    )
    .ok()?;
    let time = Time::from_hms(
        u8::try_from(number(11..13)?).ok()?,
        u8::try_from(number(14..16)?).ok()?,
        u8::try_from(number(17..19)?).ok()?,
    )
    .ok()?;
    Some(PrimitiveDateTime::new(date, time))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::{date, datetime};

    /// The hand-written fast paths agree with `time` wherever they answer, and leave to it
    /// (which rejects these too, or reads them otherwise) what they do not.
    #[test]
    fn whole_seconds_by_hand_agree_with_time() {
        // How the SQLite files hold times (`store::sqlite::TEXT_TIMESTAMP`).
        let text_form = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
        for at in [
            datetime!(2023-01-03 12:00:00),
            datetime!(0001-01-01 00:00:00),
            datetime!(9999-12-31 23:59:59),
            datetime!(2024-02-29 07:08:09),
        ] {
            let mut buffer = [0; 19];
            let by_hand = write_whole_seconds(&at, &mut buffer).unwrap();
            assert_eq!(by_hand, at.format(NAIVE_SECONDS).unwrap());
            assert_eq!(parse_whole_seconds(by_hand), Some(at));
            let stored = at.format(text_form).unwrap();
            assert_eq!(parse_whole_seconds(&stored), Some(at));
        }
        let mut buffer = [0; 19];
        let before_year_0 = datetime!(0000-01-01 00:00:00) - Duration::seconds(1);
        assert_eq!(write_whole_seconds(&before_year_0, &mut buffer), None);
        for not_ours in [
            "2023-02-29 00:00:00",
            "2023-13-01 00:00:00",
            "2023-01-01 24:00:00",
            "2023-01-01 00:60:00",
            "2023-01-01 00:00:00.5",
            "2023-01-01 00:00:0x",
            "+023-01-01 00:00:00",
            "2023/01/01 00:00:00",
            "2023-01-01",
            "",
        ] {
            assert_eq!(parse_whole_seconds(not_ours), None, "{not_ours}");
        }
    }

    #[test]
    fn jst_day_starts_at_15_utc_the_day_before() {
        let (start, end) = jst_day_in_utc(date!(2023 - 01 - 03));
        assert_eq!(start, datetime!(2023-01-02 15:00:00));
        assert_eq!(end, datetime!(2023-01-03 15:00:00));
    }

    #[test]
    fn item_serializes_in_fastapi_field_order_without_version() {
        let item = Item {
            title: "t".into(),
            description: None,
            id: 3,
            owner_id: 1,
            created_at: datetime!(2023-01-01 00:00:00),
            done: false,
            version: 7,
        };
        assert_eq!(
            serde_json::to_string(&item).unwrap(),
            r#"{"title":"t","description":null,"id":3,"owner_id":1,"created_at":"2023-01-01T00:00:00","done":false}"#
        );
        assert_eq!(item.etag(), "W/\"3-7\"");
    }

    #[test]
    fn user_with_token_puts_token_last() {
        let user = User {
            email: "a@b.c".into(),
            id: 1,
            is_active: true,
            items: vec![],
        };
        let body = UserWithToken {
            user,
            token: "tok".into(),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"email":"a@b.c","id":1,"is_active":true,"items":[],"token":"tok"}"#
        );
    }
}
