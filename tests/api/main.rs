//! The API test suite, written once and run on every backend (`sqlite::`, `postgres::`,
//! `mysql::`) through `tower::ServiceExt::oneshot`.

#[path = "../common/mod.rs"]
mod common;

mod access;
mod auth;
mod authz;
mod docs;
mod generated;
mod headers;
mod idempotency;
mod items;
mod keyset;
mod listing;
mod robustness;
mod roles;
mod scenario;
mod signup;
mod users;
