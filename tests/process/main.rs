//! Tests of the real `todo-api` binary: end to end over HTTP on port 0, the CLI, user
//! deletion (the hand-over of items) across two server processes, adopting the FastAPI
//! app's database, and read replicas (a primary and a hot standby of the test's own).

#[path = "../common/mod.rs"]
mod common;

mod abuse;
mod adoption;
mod backup;
mod backup_checks;
mod bootstrap;
mod cli;
mod concurrency;
mod end_to_end;
mod faults;
mod group_commit;
mod idempotency;
mod pooler;
mod replica;
mod tls;
mod tools;
mod traces;
