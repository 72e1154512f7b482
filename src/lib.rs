//! todo-api: the FastAPI ToDo sample app re-implemented in Rust, drop-in compatible, with
//! what production needs on top.

pub mod accounts;
pub mod audit;
pub mod authz;
pub mod backup;
pub mod cli;
pub mod compliance;
pub mod config;
pub mod credentials;
pub mod domain;
pub mod email;
pub mod http;
pub mod idempotency;
pub mod readiness;
pub mod server;
pub mod store;
pub mod telemetry;

pub use http::{AppState, Shared, app};
