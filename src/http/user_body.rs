//! Bodies that embed every item of a user: the original app's `User` shape, which `GET
//! /users`, `GET /users/{user_id}`, `GET /me` and token rotation answer.
//!
//! A user may own a million items, so these bodies are streamed: the items are read in
//! keyset chunks of `ITEMS_PER_CHUNK` (by `(owner_id, id)`), each chunk on a pooled
//! connection that goes back to the pool before the chunk is written. Memory per request is
//! one chunk whatever the data, and a client that reads slowly holds no database connection
//! (one that stops reading is cut off by the write timeout).
//!
//! The listing is not a snapshot: an item created or moved while a long body is being
//! written may or may not appear. If the database fails mid-body, the status line has long
//! been sent; the body is cut off (the chunked encoding is never terminated), so a client
//! sees a failed transfer, never a well-formed but incomplete list. The failure is logged
//! with the request's id.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tracing::Instrument;

use crate::domain::Account;
use crate::store::{Store, StoreError};

/// Items read per query.
pub const ITEMS_PER_CHUNK: i64 = 256;

/// The outer shape of the body.
#[derive(Debug, Clone)]
pub enum Shape {
    /// One `User` object.
    One,
    /// A JSON array of `User` objects.
    List,
    /// One `User` object with `"token"` last (sign-up and rotation).
    WithToken(String),
}

/// A streamed JSON response of `accounts` with their items.
pub fn response(store: Arc<dyn Store>, accounts: Vec<Account>, shape: Shape) -> Response {
    let writer = Writer {
        store,
        owners: accounts.iter().map(|a| a.id).collect(),
        accounts,
        shape,
        next: Next::Start,
    };
    let span = tracing::Span::current();
    let chunks = futures_util::stream::unfold(writer, move |mut writer| {
        let span = span.clone();
        async move {
            let chunk = writer.next_chunk().instrument(span.clone()).await?;
            if let Err(err) = &chunk {
                span.in_scope(|| {
                    tracing::error!(error = %err, "the database failed while a body was streamed: cut off");
                });
            }
            Some((chunk, writer))
        }
    });
    let mut response = Body::from_stream(chunks).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

enum Next {
    Start,
    /// Items after this keyset position, inside the object of `accounts[user]`, which has
    /// `written` items so far.
    Items {
        user: usize,
        after: Option<(i64, i64)>,
        written: usize,
    },
    Done,
}

struct Writer {
    store: Arc<dyn Store>,
    accounts: Vec<Account>,
    owners: Vec<i64>,
    shape: Shape,
    next: Next,
}

impl Writer {
    /// The next piece of the body; `None` at the end.
    async fn next_chunk(&mut self) -> Option<Result<Bytes, StoreError>> {
        let mut out = Vec::new();
        match std::mem::replace(&mut self.next, Next::Done) {
            Next::Done => return None,
            Next::Start => {
                if matches!(self.shape, Shape::List) {
                    out.push(b'[');
                }
                if self.accounts.is_empty() {
                    self.close_rest(&mut out, None);
                } else {
                    self.open_user(&mut out, 0);
                    self.next = Next::Items {
                        user: 0,
                        after: None,
                        written: 0,
                    };
                }
            }
            Next::Items {
                mut user,
                after,
                mut written,
            } => {
                let items = match self
                    .store
                    .items_of_owners(&self.owners, after, ITEMS_PER_CHUNK)
                    .await
                {
                    Ok(items) => items,
                    Err(err) => return Some(Err(err)),
                };
                let complete = i64::try_from(items.len()).unwrap_or(i64::MAX) < ITEMS_PER_CHUNK;
                let mut last = after;
                for item in &items {
                    while self.accounts[user].id != item.owner_id {
                        self.close_user(&mut out);
                        user += 1;
                        self.open_user(&mut out, user);
                        written = 0;
                    }
                    if written > 0 {
                        out.push(b',');
                    }
                    serde_json::to_writer(&mut out, item).expect("an item always serializes");
                    written += 1;
                    last = Some((item.owner_id, item.id));
                }
                if complete {
                    self.close_rest(&mut out, Some(user));
                } else {
                    self.next = Next::Items {
                        user,
                        after: last,
                        written,
                    };
                }
            }
        }
        Some(Ok(Bytes::from(out)))
    }

    /// `{"email":...,"id":...,"is_active":...,"items":[` (with a comma before all but the
    /// first user of a list), in the FastAPI app's field order.
    fn open_user(&self, out: &mut Vec<u8>, user: usize) {
        let account = &self.accounts[user];
        if user > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"email\":");
        serde_json::to_writer(&mut *out, &account.email).expect("a string always serializes");
        out.extend_from_slice(
            format!(
                ",\"id\":{},\"is_active\":{},\"items\":[",
                account.id, account.is_active
            )
            .as_bytes(),
        );
    }

    fn close_user(&self, out: &mut Vec<u8>) {
        out.push(b']');
        if let Shape::WithToken(token) = &self.shape {
            out.extend_from_slice(b",\"token\":");
            serde_json::to_writer(&mut *out, token).expect("a string always serializes");
        }
        out.push(b'}');
    }

    /// Closes the open user (if any), writes the users that have no items left, and ends
    /// the list.
    fn close_rest(&self, out: &mut Vec<u8>, open: Option<usize>) {
        let mut user = open;
        if let Some(current) = user {
            self.close_user(out);
            user = Some(current + 1);
        }
        for rest in user.unwrap_or(0)..self.accounts.len() {
            self.open_user(out, rest);
            self.close_user(out);
        }
        if matches!(self.shape, Shape::List) {
            out.push(b']');
        }
    }
}
