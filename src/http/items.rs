//! Items: creation for a user, the filtered listings (by JST day and done, newest first),
//! and read/update/delete with `ETag` / `If-Match`.

use axum::Json;
use axum::extract::{MatchedPath, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use utoipa::IntoParams;
use utoipa::openapi::RefOr;
use utoipa::openapi::path::{Parameter, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};

use super::AppState;
use super::auth;
use super::cursor;
use super::error::{ApiError, HttpError, NotAuthenticatedResponse, ValidationErrorResponse};
use super::fastapi::{BodyModel, Fields, Len, PathParams, QueryParams, RawBody, Validator};
use super::idempotency::{self, Begun};
use super::origin::Origin;
use super::paging::{PageQuery, page_path, paginated, query_param, with_keyset_link};
use crate::authz::Caller;
use crate::domain::{Item, ItemChanges, ItemFilter, NewItem, jst_day_in_utc, now_utc_seconds};
use crate::idempotency::{Answer, Completion, Scope, fingerprint};
use crate::store::Change;
use crate::telemetry::names;

const TITLE: Len = Len {
    min: 1,
    max: Some(200),
};
const DESCRIPTION: Len = Len {
    min: 0,
    max: Some(2000),
};

/// `POST /users/{user_id}/items` body.
#[derive(Debug)]
pub struct ItemCreate {
    pub title: String,
    pub description: Option<String>,
}

impl BodyModel for ItemCreate {
    const NAME: &'static str = "ItemCreate";
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self> {
        let title = fields.required_str("title", TITLE);
        let description = fields.optional_str("description", DESCRIPTION);
        Some(Self {
            title: title?,
            description: description?,
        })
    }
}

impl utoipa::PartialSchema for ItemCreate {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .property("title", TITLE.schema(false))
            .required("title")
            .property("description", DESCRIPTION.schema(true))
            .into()
    }
}

impl utoipa::ToSchema for ItemCreate {}

/// `PATCH` body: every field optional; `null` leaves the field as it is.
#[derive(Debug)]
pub struct ItemUpdate {
    pub title: Option<String>,
    pub description: Option<String>,
    pub done: Option<bool>,
}

impl utoipa::PartialSchema for ItemUpdate {
    fn schema() -> RefOr<Schema> {
        let done =
            ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::Boolean,
                Type::Null,
            ]));
        ObjectBuilder::new()
            .property("title", TITLE.schema(true))
            .property("description", DESCRIPTION.schema(true))
            .property("done", done)
            .into()
    }
}

impl utoipa::ToSchema for ItemUpdate {}

impl BodyModel for ItemUpdate {
    const NAME: &'static str = "ItemUpdate";
    fn from_fields(fields: &mut Fields<'_>) -> Option<Self> {
        let title = fields.optional_str("title", TITLE);
        let description = fields.optional_str("description", DESCRIPTION);
        let done = fields.optional_bool("done");
        Some(Self {
            title: title?,
            description: description?,
            done: done?,
        })
    }
}

fn with_etag(item: Item) -> Response {
    let etag = HeaderValue::from_str(&item.etag()).ok();
    let mut response = Json(item).into_response();
    if let Some(etag) = etag {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

/// Creates a task assigned to user `user_id`.
#[utoipa::path(
    post, path = "/users/{user_id}/items", tag = "items",
    params(("user_id" = i64, Path, description = "The user the task is assigned to")),
    request_body = ItemCreate,
    responses(
        (status = 200, description = "The new item (with its ETag)", body = Item),
        NotAuthenticatedResponse,
        (status = 403, description = "AUTHZ=strict and not the caller", body = HttpError),
        (status = 404, description = "User not found (absent or inactive)", body = HttpError),
        (status = 413, description = "Body over 64 KiB", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn create_item(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    route: MatchedPath,
    headers: HeaderMap,
    path: PathParams,
    body: RawBody,
) -> Result<Response, ApiError> {
    let key = idempotency::key(&headers);
    let mut input = Validator::new();
    let user_id = input.path_id(&path, "user_id");
    input.idempotency_key(key.as_deref());
    let new = input.body::<ItemCreate>(&body)?;
    let (user_id, new) = input.finish_with(user_id.zip(new))?;
    caller.require_access_to(state.authz, user_id)?;
    let fingerprint = fingerprint(
        "POST",
        route.as_str(),
        &[("user_id", user_id)],
        body.bytes(),
    );
    let begun = idempotency::begin(&state, key.as_deref(), Scope::User(caller.id), fingerprint);
    let record = match begun.await? {
        Begun::Replay(answer) => return Ok(idempotency::replay(&answer)),
        Begun::Fresh(record) => record,
    };
    let item = NewItem {
        title: new.title,
        description: new.description,
        created_at: now_utc_seconds(),
    };
    let respond = |item: &Item| {
        let record = record.as_ref().expect("a completion only with a record");
        record.seal(&Answer {
            status: 200,
            etag: Some(item.etag()),
            body: Some(serde_json::to_value(item).expect("an item serializes")),
            token: None,
        })
    };
    let completion = record.as_ref().map(|record| Completion {
        key_hash: &record.key_hash,
        response: &respond,
    });
    let created = async {
        state
            .store
            .create_item(user_id, item, completion.as_ref(), &origin.by(caller.id))
            .await?
            .ok_or(ApiError::NotFound("User not found"))
    }
    .await;
    let item = idempotency::release_on_error(&state, record.as_ref(), created).await?;
    metrics::counter!(names::ITEMS_CREATED).increment(1);
    Ok(with_etag(item))
}

/// A calendar day written YYYYMMDD, as a regular expression (so that a client reading the
/// document knows which texts are days): month lengths and leap years included.
pub const CALENDAR_DAY: &str = concat!(
    "^(?:[0-9]{4}(?:(?:0[13578]|1[02])(?:0[1-9]|[12][0-9]|3[01])",
    "|(?:0[469]|11)(?:0[1-9]|[12][0-9]|30)|02(?:0[1-9]|1[0-9]|2[0-8]))",
    "|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)0229)$"
);

/// The `date` and `done` filters of the three item listings, in the OpenAPI document.
pub struct ItemFilterQuery;

impl IntoParams for ItemFilterQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let date = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(CALENDAR_DAY))
            .examples(["20230103"]);
        let done = ObjectBuilder::new().schema_type(Type::Boolean);
        vec![
            query_param("date", "A calendar day in JST (Asia/Tokyo), YYYYMMDD", date),
            query_param(
                "done",
                "true/false (also True/False, 1/0, yes/no, on/off, t/f, y/n)",
                done,
            ),
            query_param(
                cursor::PARAM,
                "Keyset paging instead of skip: empty for the first page, then the value the `next` link carries",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .max_length(Some(64)),
            ),
        ]
    }
}

/// A listing's filter, and whether it pages by cursor (`cursor` given) or by `skip`.
struct Listing {
    filter: ItemFilter,
    keyset: bool,
}

/// The listing filters shared by the three item listings.
fn item_filter(input: &mut Validator, query: &QueryParams) -> Option<Listing> {
    // FastAPI reports query errors in signature order: the original's skip and limit, then
    // the date and done filters the exercise added, then our cursor.
    let page = input.page(query);
    let day = input.query_day(query, "date");
    let done = input.query_bool(query, "done");
    let keyset = cursor::from_query(input, query);
    let (keyset, before) = match keyset {
        None => (false, None),
        Some(position) => (true, position?),
    };
    Some(Listing {
        filter: ItemFilter {
            owner_id: None,
            created: day?.map(jst_day_in_utc),
            done: done?,
            page: page?,
            before,
        },
        keyset,
    })
}

/// The page, with its `next` link: by `skip` as always, or by cursor when asked for.
fn listing_response(
    path: &str,
    query: &QueryParams,
    listing: &Listing,
    items: Vec<Item>,
) -> Response {
    if !listing.keyset {
        return paginated(path, query, listing.filter.page, items);
    }
    let full = listing.filter.page.limit > 0 && items.len() as i64 == listing.filter.page.limit;
    let next = items.last().filter(|_| full).map(cursor::encode);
    // A skip beside a cursor counted from it; the next page starts at the new cursor.
    with_keyset_link(
        axum::Json(items).into_response(),
        path,
        query,
        cursor::PARAM,
        next,
        &["skip"],
    )
}

/// A user's items, newest first, filtered by JST day and done.
#[utoipa::path(
    get, path = "/users/{user_id}/items", tag = "items",
    params(("user_id" = i64, Path, description = "User id"), PageQuery, ItemFilterQuery),
    responses(
        (status = 200, description = "Newest created_at first (ties: higher id first); `Link: rel=\"next\"` when more may follow", body = Vec<Item>),
        NotAuthenticatedResponse,
        (status = 403, description = "AUTHZ=strict and not the caller", body = HttpError),
        (status = 404, description = "User not found", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn list_user_items(
    caller: Caller,
    State(state): State<AppState>,
    route: MatchedPath,
    path: PathParams,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut input = Validator::new();
    let user_id = input.path_id(&path, "user_id");
    let listing = item_filter(&mut input, &query);
    let (user_id, mut listing) = input.finish_with(user_id.zip(listing))?;
    caller.require_access_to(state.authz, user_id)?;
    let store = state.reads(&caller);
    store
        .account(user_id)
        .await?
        .filter(|a| a.is_active)
        .ok_or(ApiError::NotFound("User not found"))?;
    listing.filter.owner_id = Some(user_id);
    let items = store.items(&listing.filter).await?;
    let path = page_path(&route, &[("user_id", user_id)]);
    Ok(listing_response(&path, &query, &listing, items))
}

/// All users' items with the same filters and order.
#[utoipa::path(
    get, path = "/items", tag = "items",
    params(PageQuery, ItemFilterQuery),
    responses(
        (status = 200, description = "Newest created_at first (ties: higher id first); `Link: rel=\"next\"` when more may follow", body = Vec<Item>),
        NotAuthenticatedResponse,
        (status = 403, description = "AUTHZ=strict and the caller is not an admin", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn list_items(
    caller: Caller,
    State(state): State<AppState>,
    route: MatchedPath,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut input = Validator::new();
    let listing = item_filter(&mut input, &query);
    let listing = input.finish_with(listing)?;
    caller.require_board_access(state.authz)?;
    let items = state.reads(&caller).items(&listing.filter).await?;
    Ok(listing_response(
        &page_path(&route, &[]),
        &query,
        &listing,
        items,
    ))
}

/// The caller's own items (the original exercise's `GET /me/items`).
#[utoipa::path(
    get, path = "/me/items", tag = "items",
    params(PageQuery, ItemFilterQuery),
    responses(
        (status = 200, description = "The caller's items, newest first", body = Vec<Item>),
        NotAuthenticatedResponse,
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn list_my_items(
    caller: Caller,
    State(state): State<AppState>,
    route: MatchedPath,
    query: QueryParams,
) -> Result<Response, ApiError> {
    let mut input = Validator::new();
    let listing = item_filter(&mut input, &query);
    let mut listing = input.finish_with(listing)?;
    listing.filter.owner_id = Some(caller.id);
    let items = state.reads(&caller).items(&listing.filter).await?;
    Ok(listing_response(
        &page_path(&route, &[]),
        &query,
        &listing,
        items,
    ))
}

fn item_path(input: &mut Validator, path: &PathParams) -> Option<(i64, i64)> {
    let user_id = input.path_id(path, "user_id");
    let item_id = input.path_id(path, "item_id");
    Some((user_id?, item_id?))
}

/// One item, with its `ETag`.
#[utoipa::path(
    get, path = "/users/{user_id}/items/{item_id}", tag = "items",
    params(("user_id" = i64, Path, description = "Owner id"), ("item_id" = i64, Path, description = "Item id")),
    responses(
        (status = 200, description = "The item; `ETag: W/\"<id>-<version>\"`", body = Item),
        NotAuthenticatedResponse,
        (status = 403, description = "AUTHZ=strict and not the caller", body = HttpError),
        (status = 404, description = "Item not found", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn get_item(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
    path: Result<PathParams, ApiError>,
) -> Result<Response, ApiError> {
    // The token and the item are read together (one database round trip instead of two);
    // the answers keep the order of every route: 401, then 422, then 403, then 404.
    let mut input = Validator::new();
    let ids = path
        .as_ref()
        .ok()
        .and_then(|path| item_path(&mut input, path));
    let Some((user_id, item_id)) = ids else {
        auth::admitted(auth::optional_caller(&state, &headers).await?, &method)?;
        path?;
        return input.finish_with(None);
    };
    let (caller, item) =
        auth::caller_with_item(&state, &headers, &method, user_id, item_id).await?;
    caller.require_access_to(state.authz, user_id)?;
    Ok(with_etag(item.ok_or(ApiError::NotFound("Item not found"))?))
}

/// The version `If-Match` asks for. `*` asks for none in particular; a list that names no
/// version of this item (or is unreadable) can never match: version 0 does not exist.
fn expected_version(headers: &HeaderMap, item_id: i64) -> Option<i64> {
    let value = headers.get(header::IF_MATCH)?;
    let Ok(value) = value.to_str() else {
        return Some(0);
    };
    if value.trim() == "*" {
        return None;
    }
    let version = value.split(',').find_map(|tag| {
        let tag = tag.trim();
        let tag = tag.strip_prefix("W/").unwrap_or(tag);
        let (id, version) = tag.strip_prefix('"')?.strip_suffix('"')?.split_once('-')?;
        (id.parse::<i64>().ok()? == item_id).then(|| version.parse::<i64>().ok())?
    });
    Some(version.unwrap_or(0))
}

/// Updates the given fields; with `If-Match`, only if the item is still at that version.
#[utoipa::path(
    patch, path = "/users/{user_id}/items/{item_id}", tag = "items",
    params(
        ("user_id" = i64, Path, description = "Owner id"),
        ("item_id" = i64, Path, description = "Item id"),
        ("If-Match" = Option<String>, Header, description = "An ETag from a previous response: the update happens only if the item has not changed since"),
    ),
    request_body = ItemUpdate,
    responses(
        (status = 200, description = "The updated item, with its new ETag", body = Item),
        NotAuthenticatedResponse,
        (status = 403, description = "AUTHZ=strict and not the caller", body = HttpError),
        (status = 404, description = "Item not found", body = HttpError),
        (status = 412, description = "If-Match names a stale version", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn update_item(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    headers: HeaderMap,
    path: PathParams,
    body: RawBody,
) -> Result<Response, ApiError> {
    let mut input = Validator::new();
    let ids = item_path(&mut input, &path);
    let update = input.body::<ItemUpdate>(&body)?;
    let ((user_id, item_id), update) = input.finish_with(ids.zip(update))?;
    caller.require_access_to(state.authz, user_id)?;
    let changes = ItemChanges {
        title: update.title,
        description: update.description,
        done: update.done,
    };
    match state
        .store
        .update_item(
            user_id,
            item_id,
            changes,
            expected_version(&headers, item_id),
            &origin.by(caller.id),
        )
        .await?
    {
        Change::Done(item) => Ok(with_etag(item)),
        Change::NotFound => Err(ApiError::NotFound("Item not found")),
        Change::Stale => Err(ApiError::PreconditionFailed),
    }
}

/// Deletes an item (with `If-Match`, only if unchanged).
#[utoipa::path(
    delete, path = "/users/{user_id}/items/{item_id}", tag = "items",
    params(
        ("user_id" = i64, Path, description = "Owner id"),
        ("item_id" = i64, Path, description = "Item id"),
        ("If-Match" = Option<String>, Header, description = "Delete only if the item is still at this ETag"),
    ),
    responses(
        (status = 204, description = "Deleted"),
        NotAuthenticatedResponse,
        (status = 403, description = "AUTHZ=strict and not the caller", body = HttpError),
        (status = 404, description = "Item not found", body = HttpError),
        (status = 412, description = "If-Match names a stale version", body = HttpError),
        ValidationErrorResponse,
    ),
    security(("api_token" = []))
)]
pub async fn delete_item(
    caller: Caller,
    State(state): State<AppState>,
    origin: Origin,
    headers: HeaderMap,
    path: PathParams,
) -> Result<StatusCode, ApiError> {
    let mut input = Validator::new();
    let ids = item_path(&mut input, &path);
    let (user_id, item_id) = input.finish_with(ids)?;
    caller.require_access_to(state.authz, user_id)?;
    match state
        .store
        .delete_item(
            user_id,
            item_id,
            expected_version(&headers, item_id),
            &origin.by(caller.id),
        )
        .await?
    {
        Change::Done(()) => Ok(StatusCode::NO_CONTENT),
        Change::NotFound => Err(ApiError::NotFound("Item not found")),
        Change::Stale => Err(ApiError::PreconditionFailed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn if_match(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::IF_MATCH, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn if_match_finds_this_items_version() {
        assert_eq!(expected_version(&HeaderMap::new(), 5), None);
        assert_eq!(expected_version(&if_match("*"), 5), None);
        assert_eq!(expected_version(&if_match("W/\"5-3\""), 5), Some(3));
        assert_eq!(expected_version(&if_match("\"5-3\""), 5), Some(3));
        assert_eq!(
            expected_version(&if_match("W/\"4-1\", W/\"5-9\""), 5),
            Some(9)
        );
        assert_eq!(expected_version(&if_match("W/\"4-1\""), 5), Some(0));
        assert_eq!(expected_version(&if_match("garbage"), 5), Some(0));
    }

    proptest::proptest! {
        #[test]
        fn if_match_finds_any_version_of_its_item(id in 1i64.., version in 1i64.., other in 1i64.., weak: bool) {
            proptest::prop_assume!(other != id);
            let tag = |id: i64, v: i64| format!("{}\"{id}-{v}\"", if weak { "W/" } else { "" });
            let list = format!("{}, {}", tag(other, 7), tag(id, version));
            proptest::prop_assert_eq!(expected_version(&if_match(&list), id), Some(version));
            proptest::prop_assert_eq!(expected_version(&if_match(&tag(other, version)), id), Some(0));
        }

        #[test]
        fn any_if_match_is_an_answer(value in "[ -~]{0,40}") {
            // Never a panic, and never a version that could match by accident of parsing.
            let _ = expected_version(&if_match(&value), 5);
        }
    }

    /// The document's pattern for `date` accepts exactly the texts the validator accepts:
    /// every YYYYMMDD around the century rules and at both ends of the range.
    #[test]
    fn the_calendar_day_pattern_is_the_validator() {
        let pattern = regex::Regex::new(CALENDAR_DAY).unwrap();
        let format = time::macros::format_description!("[year][month][day]");
        let years = (0..=8).chain(1896..=2404).chain(9990..=9999);
        for year in years {
            for month in 0..=13 {
                for day in 0..=32 {
                    let text = format!("{year:04}{month:02}{day:02}");
                    let valid = time::Date::parse(&text, &format).is_ok();
                    assert_eq!(pattern.is_match(&text), valid, "{text}");
                }
            }
        }
    }
}
