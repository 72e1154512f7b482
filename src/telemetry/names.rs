//! Metric names, in a leaf module so that any layer can record a metric without depending
//! on the exporter (which depends on nothing of ours either).

pub const REQUESTS: &str = "http_requests_total";
pub const REQUEST_DURATION: &str = "http_request_duration_seconds";
pub const IN_FLIGHT: &str = "http_requests_in_flight";
pub const POOL_ACQUIRE: &str = "db_pool_acquire_seconds";
pub const POOL_CONNECTIONS: &str = "db_pool_connections";
pub const GROUP_COMMIT_SIZE: &str = "db_group_commit_size";
pub const ITEMS_CREATED: &str = "todo_items_created_total";
pub const USERS_CREATED: &str = "todo_users_created_total";
pub const USERS_DELETED: &str = "todo_users_deleted_total";
pub const BUILD_INFO: &str = "todo_build_info";
pub const PASSWORD_HASH_REFUSED: &str = "todo_password_hash_refused_total";
pub const CONNECTIONS_OPEN: &str = "http_connections_open";
pub const CONNECTIONS_CLOSED: &str = "http_connections_closed_total";
pub const READS: &str = "db_reads_total";
pub const REPLICA_LAG_BYTES: &str = "db_replica_lag_bytes";
pub const REPLICA_UP: &str = "db_replica_up";
pub const REPLICA_IN_USE: &str = "db_replica_in_use";
