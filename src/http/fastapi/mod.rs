//! How we speak FastAPI's dialect: request input parsed and validated the way FastAPI and
//! pydantic (lax mode) do it, with every error collected in FastAPI's order (path, query,
//! body) into one `422` whose records match pydantic's `type`, `loc`, `msg`, `input` and
//! `ctx` field for field.
//!
//! Why this is written by hand rather than taken from serde and axum's extractors: clients of
//! the FastAPI app parse these errors, and serde stops at the first problem, words it its own
//! way, and cannot tell "missing" from "null" from "wrong type" in pydantic's terms. Python's
//! JSON decoder also accepts and rejects other documents than serde_json, with its own
//! messages and positions (`pyjson`). No crate emulates pydantic, so this module does, and
//! nothing outside it needs to know how.
//!
//! - `params`: the raw path and query parameters (`PathParams`, `QueryParams`).
//! - `body`: the raw body, FastAPI's content-type rules, and body models (`BodyModel`).
//! - `validator`: the `Validator` that collects every problem of a request.
//! - `lax`: pydantic's lax booleans and integers.
//! - `errors`: pydantic's error records.
//! - `pyjson`: Python's JSON error messages and positions.

mod body;
mod errors;
mod lax;
mod params;
mod pyjson;
mod validator;

pub use body::{BodyModel, BodyReadTimeout, Fields, Len, MAX_BODY_BYTES, RawBody};
pub use errors::{FieldError, literal_error};
pub use params::{PathParams, QueryParams};
pub use validator::{IDEMPOTENCY_KEY_PATTERN, MAX_LIMIT, Validator};
