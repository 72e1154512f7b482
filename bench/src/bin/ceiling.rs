//! The ceiling of the benchmark: what this machine's HTTP stack can do at all. A bare axum
//! server (the same axum, hyper and tokio runtime as todo-api, TCP_NODELAY as todo-api sets
//! it) that answers every request with a constant item serialized to JSON: no database, no
//! middleware, no logging. Any difference between it and todo-api is the service's own cost.
//!
//! `PORT` (default 8000) on 127.0.0.1.

use axum::serve::ListenerExt;
use axum::{Json, Router};
use serde::Serialize;

#[derive(Serialize)]
struct Item {
    title: &'static str,
    description: Option<&'static str>,
    id: i64,
    owner_id: i64,
    created_at: &'static str,
    done: bool,
}

const ITEM: Item = Item {
    title: "Buy milk",
    description: Some("2 litres"),
    id: 1,
    owner_id: 1,
    created_at: "2023-01-03T12:00:00",
    done: false,
};

// Serialized on every request, as a handler returning a row would.
async fn item() -> Json<Item> {
    Json(ITEM)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8000);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await?
        .tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
    axum::serve(listener, Router::new().fallback(item)).await
}
