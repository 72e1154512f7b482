//! Shared test support: a database of its own for every test, on SQLite always and on
//! PostgreSQL / MariaDB when `TEST_POSTGRES_URL` / `TEST_MYSQL_URL` name a server (which
//! `.ci/run` does; under `CI=true` an unset URL fails the test instead of skipping it).
#![allow(dead_code, unused_imports)]

pub mod db;
pub mod dump;
pub mod http;
pub mod process;

pub use db::{Kind, TestDb};
pub use http::{Resp, TestApp};

/// Declares each listed `async fn(TestApp)` once per backend: `sqlite::name`,
/// `postgres::name`, `mysql::name`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(app) = $crate::common::TestApp::start($crate::common::Kind::Sqlite).await {
                    super::$name(app).await;
                }
            })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(app) = $crate::common::TestApp::start($crate::common::Kind::Postgres).await {
                    super::$name(app).await;
                }
            })*
        }
        mod mysql {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                if let Some(app) = $crate::common::TestApp::start($crate::common::Kind::MySql).await {
                    super::$name(app).await;
                }
            })*
        }
    };
}
