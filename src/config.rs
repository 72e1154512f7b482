//! Configuration from the environment (12-factor), typed and validated once at start. Every
//! problem names the variable and what is wrong with it.

use std::io::IsTerminal;
use std::num::NonZeroU32;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::authz::Authz;
use crate::credentials::HashingLimits;
use crate::store::{Backend, DbSettings, Pooler, ReplicaSettings};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://todo.db";

/// One environment variable: its name, its default (in words), and what it does. `serve
/// --help` prints this table (the README is not inside the container); a test checks that
/// `from_lookup` reads exactly these and that the README's configuration table lists them.
pub struct Variable {
    pub name: &'static str,
    pub default: &'static str,
    pub about: &'static str,
}

const fn var(name: &'static str, default: &'static str, about: &'static str) -> Variable {
    Variable {
        name,
        default,
        about,
    }
}

pub const VARIABLES: &[Variable] = &[
    var(
        "DATABASE_URL",
        DEFAULT_DATABASE_URL,
        "sqlite://path, postgres://user@host:5432/db, mysql://user@host:3306/db",
    ),
    var(
        "DATABASE_PASSWORD",
        "",
        "merged into DATABASE_URL (percent-encoded)",
    ),
    var("DATABASE_MAX_CONNECTIONS", "10", "pool size per process"),
    var(
        "DATABASE_ACQUIRE_TIMEOUT",
        "5",
        "seconds to wait for a pooled connection before answering 503",
    ),
    var(
        "DATABASE_STATEMENT_TIMEOUT",
        "10",
        "seconds a statement may run",
    ),
    var(
        "DATABASE_POOLER",
        "none",
        "transaction: PostgreSQL behind PgBouncer (transaction mode) or RDS Proxy",
    ),
    var(
        "DATABASE_MIGRATE_URL",
        "DATABASE_URL",
        "where migrate connects (directly to PostgreSQL, not through a pooler); DATABASE_PASSWORD is merged in",
    ),
    var(
        "DATABASE_READ_URL",
        "",
        "a PostgreSQL read replica (hot standby) that GET requests read from; DATABASE_PASSWORD is merged in too",
    ),
    var(
        "READ_AFTER_WRITE_WINDOW",
        "5",
        "seconds after a user's last write during which its reads go to the primary",
    ),
    var(
        "REPLICA_MAX_LAG_BYTES",
        "16777216 (16 MiB)",
        "replica lag in WAL bytes past which reads go to the primary",
    ),
    var(
        "DATABASE_WAIT",
        "30",
        "seconds serve waits at start for a database that refuses connections or does not resolve yet",
    ),
    var(
        "HOST",
        "0.0.0.0",
        "the API listener's address (127.0.0.1: this machine only)",
    ),
    var("PORT", "8000", "the API listener's port (0: a free one)"),
    var(
        "METRICS_PORT",
        "9000",
        "the Prometheus listener's port (0: a free one)",
    ),
    var(
        "METRICS_ENABLED",
        "true",
        "false turns the metrics listener off",
    ),
    var("LOG_FORMAT", "json unless a terminal", "json or text"),
    var("TOKEN_PEPPER", "", "HMAC key for token hashes"),
    var(
        "TOKEN_PEPPER_PREVIOUS",
        "",
        "the previous HMAC key, during a rotation",
    ),
    var(
        "BOOTSTRAP_ADMIN_EMAIL",
        "",
        "migrate: the first admin's email, when no admin exists yet (with BOOTSTRAP_ADMIN_TOKEN)",
    ),
    var(
        "BOOTSTRAP_ADMIN_TOKEN",
        "",
        "migrate: the first admin's token, from the deployment's secret store (never printed)",
    ),
    var("SIGNUP", "true", "false: only admins may create users"),
    var(
        "AUDIT_RETENTION_DAYS",
        "365",
        "audit purge: records older than this many days are deleted",
    ),
    var(
        "DATABASE_APP_ROLE",
        "",
        "migrate (PostgreSQL): the service's login, whose rights on the audit tables are narrowed to append-only",
    ),
    var("AUTHZ", "team", "team or strict"),
    var(
        "AUTO_MIGRATE",
        "true",
        "serve and the user commands apply migrations first",
    ),
    var(
        "SHUTDOWN_TIMEOUT",
        "20",
        "seconds to drain in-flight requests after SIGTERM",
    ),
    var(
        "REQUEST_TIMEOUT",
        "15",
        "seconds before a request is answered 503",
    ),
    var(
        "BODY_READ_TIMEOUT",
        "10",
        "seconds a client may take to send a request body; then 408 (below REQUEST_TIMEOUT)",
    ),
    var(
        "HEADER_READ_TIMEOUT",
        "10",
        "seconds a client may take to send a request head; then the connection is closed",
    ),
    var(
        "IDLE_TIMEOUT",
        "75",
        "seconds an idle keep-alive connection stays open (above the load balancer's: ALB 60)",
    ),
    var(
        "WRITE_TIMEOUT",
        "30",
        "seconds a response may wait for a client that stopped reading; then it is closed",
    ),
    var(
        "SIGNUP_RATE_PER_IP",
        "10/minute",
        "sign-ups per client IP and instance (N/second|minute|hour, or off)",
    ),
    var(
        "SIGNUP_RATE_TOTAL",
        "120/minute",
        "sign-ups per instance, all clients together",
    ),
    var(
        "TOKEN_ROTATION_RATE_PER_USER",
        "5/minute",
        "token rotations per user and instance",
    ),
    var(
        "TOKEN_ROTATION_RATE_PER_IP",
        "30/minute",
        "token rotations per client IP and instance",
    ),
    var(
        "TRUST_PROXY_HEADERS",
        "false",
        "true: the client IP is read from X-Forwarded-For (behind a load balancer only)",
    ),
    var(
        "TRUSTED_PROXIES",
        "1",
        "proxies that append to X-Forwarded-For (AWS ALB: 1, Google's load balancer: 2)",
    ),
    var(
        "HTTP_MAX_CONNECTIONS",
        "1024",
        "open connections; at the cap the oldest idle one is closed to make room",
    ),
    var(
        "PASSWORD_HASH_WORKERS",
        "one per core",
        "password hashes computed at once",
    ),
    var(
        "PASSWORD_HASH_QUEUE",
        "8 per worker",
        "password hashes that may wait; beyond, 429",
    ),
    var(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "",
        "turns on trace export over OTLP/gRPC",
    ),
    var("OTEL_SERVICE_NAME", "todo-api", "the traces' service name"),
    var(
        "GOOGLE_CLOUD_PROJECT",
        "",
        "adds logging.googleapis.com/trace to log lines",
    ),
    var(
        "CORS_ALLOW_ORIGINS",
        "",
        "comma-separated origins (or *) allowed from a browser",
    ),
];

/// The environment variables, as `serve --help` shows them.
pub fn help() -> String {
    let width = VARIABLES.iter().map(|v| v.name.len()).max().unwrap_or(0);
    let mut out = String::from("Environment variables (also RUST_LOG, OTEL_TRACES_SAMPLER):\n");
    for v in VARIABLES {
        let default = if v.default.is_empty() {
            String::new()
        } else {
            format!(" [default: {}]", v.default)
        };
        out.push_str(&format!("  {:width$}  {}{default}\n", v.name, v.about));
    }
    out
}

#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn invalid(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

/// `count` requests per `per`, all of them allowed in a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: NonZeroU32,
    pub per: Duration,
}

impl Rate {
    /// `10/minute`, `100/hour`, `5/second`; `off` is no limit.
    pub fn parse(text: &str) -> Result<Option<Rate>, String> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let (count, unit) = text
            .split_once('/')
            .ok_or_else(|| format!("'{text}' is not a rate like 10/minute (or off)"))?;
        let count: NonZeroU32 = count
            .trim()
            .parse()
            .map_err(|_| format!("'{text}': the count must be a whole number above 0"))?;
        let per = match unit.trim().to_ascii_lowercase().as_str() {
            "second" | "s" => Duration::from_secs(1),
            "minute" | "min" | "m" => Duration::from_secs(60),
            "hour" | "h" => Duration::from_secs(3600),
            other => return Err(format!("'{other}' is not one of second, minute, hour")),
        };
        Ok(Some(Rate { count, per }))
    }
}

/// The limits' configuration (`SIGNUP_RATE_PER_IP`, ...), `None` where off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub signup_per_ip: Option<Rate>,
    pub signup_total: Option<Rate>,
    pub token_per_user: Option<Rate>,
    pub token_per_ip: Option<Rate>,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        let rate = |count: u32, per: u64| {
            Some(Rate {
                count: NonZeroU32::new(count).expect("a positive default"),
                per: Duration::from_secs(per),
            })
        };
        Self {
            signup_per_ip: rate(10, 60),
            signup_total: rate(120, 60),
            token_per_user: rate(5, 60),
            token_per_ip: rate(30, 60),
        }
    }
}

/// How the client's address is learned (`TRUST_PROXY_HEADERS`, `TRUSTED_PROXIES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProxyTrust {
    pub trust_headers: bool,
    pub trusted_proxies: usize,
}

impl Default for ProxyTrust {
    fn default() -> Self {
        Self {
            trust_headers: false,
            trusted_proxies: 1,
        }
    }
}

/// The connection limits (`HEADER_READ_TIMEOUT`, `IDLE_TIMEOUT`, `WRITE_TIMEOUT`,
/// `HTTP_MAX_CONNECTIONS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub write_timeout: Duration,
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            // Longer than the AWS ALB's 60 s idle timeout: the load balancer must be the one
            // to close an idle connection, or it may send a request on a closing one (502).
            idle_timeout: Duration::from_secs(75),
            write_timeout: Duration::from_secs(30),
            max_connections: 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Json,
    Text,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DbSettings,
    /// `DATABASE_READ_URL` (with the pool limits of `database`) and `REPLICA_MAX_LAG_BYTES`.
    pub read_replica: Option<ReplicaSettings>,
    /// `READ_AFTER_WRITE_WINDOW`: for this long after its last write a caller reads from the
    /// primary.
    pub read_after_write: Duration,
    /// How long `serve` waits at start for a database that may still be coming up.
    pub database_wait: Duration,
    pub host: String,
    pub port: u16,
    /// The Prometheus listener's port; `None` when `METRICS_ENABLED=false`.
    pub metrics_port: Option<u16>,
    pub log_format: LogFormat,
    pub token_pepper: Option<SecretString>,
    pub token_pepper_previous: Option<SecretString>,
    pub signup: bool,
    pub authz: Authz,
    pub auto_migrate: bool,
    pub shutdown_timeout: Duration,
    pub request_timeout: Duration,
    /// `BODY_READ_TIMEOUT`: a body that takes longer to arrive is answered `408`.
    pub body_read_timeout: Duration,
    pub http: HttpLimits,
    pub rate_limits: RateLimitSettings,
    pub proxy_trust: ProxyTrust,
    /// `BOOTSTRAP_ADMIN_EMAIL` and `BOOTSTRAP_ADMIN_TOKEN`, for `migrate`.
    pub bootstrap_admin: Option<(String, SecretString)>,
    /// `AUDIT_RETENTION_DAYS`, for `audit purge`.
    pub audit_retention: time::Duration,
    /// `DATABASE_APP_ROLE`: the service's own login, for `migrate` to narrow (PostgreSQL).
    pub database_app_role: Option<String>,
    pub otlp_endpoint: Option<String>,
    pub service_name: String,
    pub gcp_project: Option<String>,
    pub cors_allow_origins: Vec<String>,
    pub password_hashing: HashingLimits,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup` (the environment, or a map in tests).
    /// Empty values count as unset, as they do for most 12-factor tooling.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let secret = |name: &str| get(name).map(SecretString::from);

        let url = get("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned());
        let password = get("DATABASE_PASSWORD").map(SecretString::from);
        let backend = Backend::from_url(&url);
        let url = database_url("DATABASE_URL", &url, password.clone())?;
        let mut database = DbSettings::new(url);
        database.max_connections = parse_number(
            "DATABASE_MAX_CONNECTIONS",
            get("DATABASE_MAX_CONNECTIONS"),
            DbSettings::DEFAULT_MAX_CONNECTIONS,
        )?;
        if database.max_connections == 0 {
            return Err(invalid("DATABASE_MAX_CONNECTIONS", "must be at least 1"));
        }
        database.acquire_timeout = parse_duration(
            "DATABASE_ACQUIRE_TIMEOUT",
            get("DATABASE_ACQUIRE_TIMEOUT"),
            DbSettings::DEFAULT_ACQUIRE_TIMEOUT,
        )?;
        database.statement_timeout = parse_duration(
            "DATABASE_STATEMENT_TIMEOUT",
            get("DATABASE_STATEMENT_TIMEOUT"),
            DbSettings::DEFAULT_STATEMENT_TIMEOUT,
        )?;
        database.pooler = match get("DATABASE_POOLER")
            .map(|v| v.to_ascii_lowercase())
            .as_deref()
        {
            None | Some("none") => Pooler::None,
            Some("transaction") => Pooler::Transaction,
            Some(other) => {
                return Err(invalid(
                    "DATABASE_POOLER",
                    format!("'{other}' is not one of none, transaction"),
                ));
            }
        };
        if database.pooler == Pooler::Transaction
            && Backend::from_url(database.url.expose_secret()) != Some(Backend::Postgres)
        {
            return Err(invalid(
                "DATABASE_POOLER",
                "transaction pooling is for PostgreSQL URLs only",
            ));
        }
        database.migrate_url = match get("DATABASE_MIGRATE_URL") {
            None => None,
            Some(url) => Some(database_url(
                "DATABASE_MIGRATE_URL",
                &url,
                password.clone(),
            )?),
        };
        let read_replica = read_replica(&get, backend, password, &database)?;
        let read_after_write = parse_duration(
            "READ_AFTER_WRITE_WINDOW",
            get("READ_AFTER_WRITE_WINDOW"),
            Duration::from_secs(5),
        )?;
        let database_wait = parse_duration(
            "DATABASE_WAIT",
            get("DATABASE_WAIT"),
            Duration::from_secs(30),
        )?;

        let metrics_enabled = parse_bool("METRICS_ENABLED", get("METRICS_ENABLED"), true)?;
        let metrics_port = parse_number("METRICS_PORT", get("METRICS_PORT"), 9000u16)?;
        let log_format = match get("LOG_FORMAT").map(|v| v.to_ascii_lowercase()).as_deref() {
            None => {
                if std::io::stdout().is_terminal() {
                    LogFormat::Text
                } else {
                    LogFormat::Json
                }
            }
            Some("json") => LogFormat::Json,
            Some("text" | "pretty") => LogFormat::Text,
            Some(other) => {
                return Err(invalid(
                    "LOG_FORMAT",
                    format!("'{other}' is not one of json, text"),
                ));
            }
        };
        let authz = match get("AUTHZ") {
            None => Authz::default(),
            Some(value) => Authz::parse(&value).ok_or_else(|| {
                invalid(
                    "AUTHZ",
                    format!(
                        "'{}' is not one of team, strict",
                        value.to_ascii_lowercase()
                    ),
                )
            })?,
        };
        let shutdown_timeout = parse_duration(
            "SHUTDOWN_TIMEOUT",
            get("SHUTDOWN_TIMEOUT"),
            Duration::from_secs(20),
        )?;
        let request_timeout = parse_duration(
            "REQUEST_TIMEOUT",
            get("REQUEST_TIMEOUT"),
            Duration::from_secs(15),
        )?;
        if request_timeout.is_zero() {
            return Err(invalid("REQUEST_TIMEOUT", "must be more than 0"));
        }
        let body_read_timeout = parse_duration(
            "BODY_READ_TIMEOUT",
            get("BODY_READ_TIMEOUT"),
            Duration::from_secs(10).min(request_timeout / 2),
        )?;
        if body_read_timeout.is_zero() || body_read_timeout >= request_timeout {
            return Err(invalid(
                "BODY_READ_TIMEOUT",
                "must be more than 0 and less than REQUEST_TIMEOUT (a slow client gets 408, not 503)",
            ));
        }
        let http = http_limits(&get)?;
        let rate_limits = rate_limits(&get)?;
        let proxy_trust = ProxyTrust {
            trust_headers: parse_bool("TRUST_PROXY_HEADERS", get("TRUST_PROXY_HEADERS"), false)?,
            trusted_proxies: parse_number("TRUSTED_PROXIES", get("TRUSTED_PROXIES"), 1usize)?,
        };
        if proxy_trust.trusted_proxies == 0 {
            return Err(invalid("TRUSTED_PROXIES", "must be at least 1"));
        }
        let cors_allow_origins = get("CORS_ALLOW_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        Ok(Config {
            database,
            read_replica,
            read_after_write,
            database_wait,
            host: get("HOST").unwrap_or_else(|| "0.0.0.0".to_owned()),
            port: parse_number("PORT", get("PORT"), 8000u16)?,
            metrics_port: metrics_enabled.then_some(metrics_port),
            log_format,
            token_pepper: secret("TOKEN_PEPPER"),
            token_pepper_previous: secret("TOKEN_PEPPER_PREVIOUS"),
            signup: parse_bool("SIGNUP", get("SIGNUP"), true)?,
            authz,
            auto_migrate: parse_bool("AUTO_MIGRATE", get("AUTO_MIGRATE"), true)?,
            shutdown_timeout,
            request_timeout,
            body_read_timeout,
            http,
            rate_limits,
            proxy_trust,
            bootstrap_admin: bootstrap_admin(
                get("BOOTSTRAP_ADMIN_EMAIL"),
                secret("BOOTSTRAP_ADMIN_TOKEN"),
            )?,
            audit_retention: audit_retention(get("AUDIT_RETENTION_DAYS"))?,
            database_app_role: app_role(get("DATABASE_APP_ROLE"))?,
            otlp_endpoint: get("OTEL_EXPORTER_OTLP_ENDPOINT"),
            service_name: get("OTEL_SERVICE_NAME").unwrap_or_else(|| "todo-api".to_owned()),
            gcp_project: get("GOOGLE_CLOUD_PROJECT"),
            cors_allow_origins,
            password_hashing: hashing_limits(&get)?,
        })
    }
}

fn audit_retention(value: Option<String>) -> Result<time::Duration, ConfigError> {
    let days: u32 = parse_number("AUDIT_RETENTION_DAYS", value, 365)?;
    if days == 0 {
        return Err(invalid("AUDIT_RETENTION_DAYS", "must be at least 1 day"));
    }
    Ok(time::Duration::days(i64::from(days)))
}

/// A PostgreSQL role name as the deployments create it (it is quoted in the GRANTs anyway).
fn app_role(value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(role) = value else { return Ok(None) };
    let valid = role.len() <= 63
        && role.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && role
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid {
        return Err(invalid(
            "DATABASE_APP_ROLE",
            "must be a role name of lower-case letters, digits, '_' and '-' (at most 63)",
        ));
    }
    Ok(Some(role))
}

/// The first admin, both variables or neither. The token's shape is checked here; its
/// value is never written anywhere.
fn bootstrap_admin(
    email: Option<String>,
    token: Option<SecretString>,
) -> Result<Option<(String, SecretString)>, ConfigError> {
    match (email, token) {
        (None, None) => Ok(None),
        (Some(_), None) => Err(invalid(
            "BOOTSTRAP_ADMIN_TOKEN",
            "must be set together with BOOTSTRAP_ADMIN_EMAIL",
        )),
        (None, Some(_)) => Err(invalid(
            "BOOTSTRAP_ADMIN_EMAIL",
            "must be set together with BOOTSTRAP_ADMIN_TOKEN",
        )),
        (Some(email), Some(token)) => {
            if crate::credentials::PresentedToken::parse(token.expose_secret()).is_none() {
                return Err(invalid(
                    "BOOTSTRAP_ADMIN_TOKEN",
                    "is not a todo-api token (tdo_<24 lowercase hex digits>_<secret>)",
                ));
            }
            Ok(Some((email.trim().to_owned(), token)))
        }
    }
}

/// The rate limits; each variable takes `N/second|minute|hour` or `off`.
fn rate_limits(get: &impl Fn(&str) -> Option<String>) -> Result<RateLimitSettings, ConfigError> {
    let defaults = RateLimitSettings::default();
    let rate = |var: &'static str, default: Option<Rate>| match get(var) {
        None => Ok(default),
        Some(text) => Rate::parse(&text).map_err(|message| invalid(var, message)),
    };
    Ok(RateLimitSettings {
        signup_per_ip: rate("SIGNUP_RATE_PER_IP", defaults.signup_per_ip)?,
        signup_total: rate("SIGNUP_RATE_TOTAL", defaults.signup_total)?,
        token_per_user: rate("TOKEN_ROTATION_RATE_PER_USER", defaults.token_per_user)?,
        token_per_ip: rate("TOKEN_ROTATION_RATE_PER_IP", defaults.token_per_ip)?,
    })
}

/// The connection limits.
fn http_limits(get: &impl Fn(&str) -> Option<String>) -> Result<HttpLimits, ConfigError> {
    let defaults = HttpLimits::default();
    let positive = |var: &'static str, default: Duration| {
        let value = parse_duration(var, get(var), default)?;
        if value.is_zero() {
            return Err(invalid(var, "must be more than 0"));
        }
        Ok(value)
    };
    let limits = HttpLimits {
        header_read_timeout: positive("HEADER_READ_TIMEOUT", defaults.header_read_timeout)?,
        idle_timeout: positive("IDLE_TIMEOUT", defaults.idle_timeout)?,
        write_timeout: positive("WRITE_TIMEOUT", defaults.write_timeout)?,
        max_connections: parse_number(
            "HTTP_MAX_CONNECTIONS",
            get("HTTP_MAX_CONNECTIONS"),
            defaults.max_connections,
        )?,
    };
    if limits.max_connections == 0 {
        return Err(invalid("HTTP_MAX_CONNECTIONS", "must be at least 1"));
    }
    Ok(limits)
}

/// `PASSWORD_HASH_WORKERS` (default: one per core) and `PASSWORD_HASH_QUEUE` (default: a
/// few per worker, see `HashingLimits`).
fn hashing_limits(get: &impl Fn(&str) -> Option<String>) -> Result<HashingLimits, ConfigError> {
    let machine = HashingLimits::for_this_machine();
    let workers = parse_number(
        "PASSWORD_HASH_WORKERS",
        get("PASSWORD_HASH_WORKERS"),
        machine.workers,
    )?;
    if workers == 0 {
        return Err(invalid("PASSWORD_HASH_WORKERS", "must be at least 1"));
    }
    let queue = parse_number(
        "PASSWORD_HASH_QUEUE",
        get("PASSWORD_HASH_QUEUE"),
        HashingLimits::for_workers(workers).queue,
    )?;
    Ok(HashingLimits { workers, queue })
}

/// `DATABASE_READ_URL`, validated like `DATABASE_URL` (with `DATABASE_PASSWORD` merged in:
/// a replica has its primary's logins), with the primary's pool limits, and
/// `REPLICA_MAX_LAG_BYTES`. PostgreSQL only: the lag is measured by WAL position.
fn read_replica(
    get: &impl Fn(&str) -> Option<String>,
    primary: Option<Backend>,
    password: Option<SecretString>,
    database: &DbSettings,
) -> Result<Option<ReplicaSettings>, ConfigError> {
    const VAR: &str = "DATABASE_READ_URL";
    let max_lag_bytes = parse_number(
        "REPLICA_MAX_LAG_BYTES",
        get("REPLICA_MAX_LAG_BYTES"),
        ReplicaSettings::DEFAULT_MAX_LAG_BYTES,
    )?;
    let Some(url) = get(VAR) else {
        return Ok(None);
    };
    let url = database_url(VAR, &url, password)?;
    let replica = Backend::from_url(url.expose_secret());
    if replica != Some(Backend::Postgres) || primary != Some(Backend::Postgres) {
        return Err(invalid(
            VAR,
            "read replicas are supported on PostgreSQL only (DATABASE_URL and DATABASE_READ_URL both postgres://)",
        ));
    }
    Ok(Some(ReplicaSettings {
        database: DbSettings {
            url,
            ..database.clone()
        },
        max_lag_bytes,
    }))
}

/// Validates a database URL (`var`: `DATABASE_URL`, `DATABASE_READ_URL`) and merges
/// `DATABASE_PASSWORD` into it (ECS and Cloud Run inject one key of a managed secret, so the
/// URL itself can be plain configuration).
fn database_url(
    var: &'static str,
    url: &str,
    password: Option<SecretString>,
) -> Result<SecretString, ConfigError> {
    let backend = Backend::from_url(url).ok_or_else(|| {
        let scheme = url.split_once(':').map_or(url, |(s, _)| s);
        invalid(
            var,
            format!(
                "unsupported scheme '{scheme}' (expected sqlite:, postgres:, mysql: or mariadb:)"
            ),
        )
    })?;
    if backend == Backend::Sqlite {
        return Ok(SecretString::from(url.to_owned()));
    }
    let mut parsed =
        url::Url::parse(url).map_err(|e| invalid(var, format!("not a valid URL ({e})")))?;
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid(var, "has no host"));
    }
    if let Some(password) = password {
        if parsed.password().is_some() {
            return Err(invalid(
                "DATABASE_PASSWORD",
                format!("is set, but {var} already carries a password; keep one"),
            ));
        }
        if parsed.username().is_empty() {
            return Err(invalid(var, "has no user name for DATABASE_PASSWORD"));
        }
        // `set_password` percent-encodes, so any character of a generated password is safe.
        parsed
            .set_password(Some(password.expose_secret()))
            .map_err(|()| invalid(var, "cannot carry a password"))?;
    }
    Ok(SecretString::from(parsed.to_string()))
}

fn parse_bool(
    var: &'static str,
    value: Option<String>,
    default: bool,
) -> Result<bool, ConfigError> {
    match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some("0" | "false" | "no" | "off") => Ok(false),
        Some(other) => Err(invalid(
            var,
            format!("'{other}' is not a boolean (true/false)"),
        )),
    }
}

fn parse_number<T: std::str::FromStr>(
    var: &'static str,
    value: Option<String>,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: std::fmt::Display,
{
    match value {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|e| invalid(var, format!("'{v}' is not valid ({e})"))),
    }
}

/// Whole seconds (`20`), or with a unit: `20s`, `500ms`.
fn parse_duration(
    var: &'static str,
    value: Option<String>,
    default: Duration,
) -> Result<Duration, ConfigError> {
    let Some(raw) = value else {
        return Ok(default);
    };
    let v = raw.trim();
    let parsed = if let Some(ms) = v.strip_suffix("ms") {
        ms.trim().parse().map(Duration::from_millis)
    } else {
        v.strip_suffix('s')
            .unwrap_or(v)
            .trim()
            .parse()
            .map(Duration::from_secs)
    };
    parsed.map_err(|_| {
        invalid(
            var,
            format!("'{raw}' is not a duration (seconds, e.g. 20, 20s or 500ms)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_match_the_contract() {
        let c = config(&[("LOG_FORMAT", "json")]).unwrap();
        assert_eq!(c.database.url.expose_secret(), "sqlite://todo.db");
        assert_eq!(
            (c.host.as_str(), c.port, c.metrics_port),
            ("0.0.0.0", 8000, Some(9000))
        );
        assert_eq!(c.shutdown_timeout, Duration::from_secs(20));
        assert_eq!(c.request_timeout, Duration::from_secs(15));
        assert!(c.signup && c.auto_migrate);
        assert_eq!(c.authz, Authz::Team);
        assert!(c.token_pepper.is_none());
    }

    #[test]
    fn password_is_merged_into_the_url_percent_encoded() {
        let c = config(&[
            (
                "DATABASE_URL",
                "postgres://todo@db:5432/todo?sslmode=require",
            ),
            ("DATABASE_PASSWORD", "p@ss/w:rd"),
        ])
        .unwrap();
        assert_eq!(
            c.database.url.expose_secret(),
            "postgres://todo:p%40ss%2Fw%3Ard@db:5432/todo?sslmode=require"
        );
    }

    #[test]
    fn bad_values_name_the_variable() {
        let cases = [
            (
                ("DATABASE_URL", "redis://localhost"),
                "DATABASE_URL: unsupported scheme 'redis'",
            ),
            (("DATABASE_URL", "postgres://"), "DATABASE_URL: has no host"),
            (("PORT", "eighty"), "PORT: 'eighty' is not valid"),
            (("PORT", "70000"), "PORT: '70000' is not valid"),
            (("SIGNUP", "maybe"), "SIGNUP: 'maybe' is not a boolean"),
            (
                ("AUTHZ", "loose"),
                "AUTHZ: 'loose' is not one of team, strict",
            ),
            (
                ("SHUTDOWN_TIMEOUT", "soon"),
                "SHUTDOWN_TIMEOUT: 'soon' is not a duration",
            ),
            (
                ("LOG_FORMAT", "xml"),
                "LOG_FORMAT: 'xml' is not one of json, text",
            ),
        ];
        for ((var, value), expected) in cases {
            let err = config(&[(var, value)]).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{var}={value}: {err}");
        }
        let both = config(&[
            ("DATABASE_URL", "postgres://u:x@h/db"),
            ("DATABASE_PASSWORD", "y"),
        ])
        .unwrap_err();
        assert_eq!(both.var, "DATABASE_PASSWORD");
    }

    #[test]
    fn the_variable_table_lists_exactly_what_is_read_and_the_readme_documents_it() {
        let asked = std::cell::RefCell::new(Vec::new());
        Config::from_lookup(|name| {
            asked.borrow_mut().push(name.to_owned());
            None
        })
        .unwrap();
        let mut asked = asked.into_inner();
        asked.sort();
        asked.dedup();
        let mut listed: Vec<String> = VARIABLES.iter().map(|v| v.name.to_owned()).collect();
        listed.sort();
        assert_eq!(asked, listed, "VARIABLES must list what from_lookup reads");
        let readme = include_str!("../README.md");
        for v in VARIABLES {
            assert!(
                readme.contains(&format!("`{}`", v.name)),
                "the README's configuration table must document {}",
                v.name
            );
        }
        assert!(help().contains("DATABASE_URL"));
    }

    #[test]
    fn a_read_replica_is_postgres_with_the_primary_s_password_and_limits() {
        let c = config(&[("LOG_FORMAT", "json")]).unwrap();
        assert!(c.read_replica.is_none());
        assert_eq!(c.read_after_write, Duration::from_secs(5));
        let c = config(&[
            ("DATABASE_URL", "postgres://todo@primary:5432/todo"),
            ("DATABASE_READ_URL", "postgres://todo@replica:5432/todo"),
            ("DATABASE_PASSWORD", "p@ss"),
            ("DATABASE_MAX_CONNECTIONS", "4"),
            ("READ_AFTER_WRITE_WINDOW", "2500ms"),
        ])
        .unwrap();
        let replica = c.read_replica.unwrap();
        assert_eq!(
            replica.database.url.expose_secret(),
            "postgres://todo:p%40ss@replica:5432/todo"
        );
        assert_eq!(replica.database.max_connections, 4);
        assert_eq!(replica.max_lag_bytes, 16 * 1024 * 1024);
        assert_eq!(c.read_after_write, Duration::from_millis(2500));
        let c = config(&[
            ("DATABASE_URL", "postgres://todo@primary/todo"),
            ("DATABASE_READ_URL", "postgresql://todo@replica/todo"),
            ("REPLICA_MAX_LAG_BYTES", "1048576"),
        ])
        .unwrap();
        assert_eq!(c.read_replica.unwrap().max_lag_bytes, 1024 * 1024);
        for (primary, replica) in [
            ("sqlite://todo.db", "postgres://todo@replica/todo"),
            ("mysql://todo@primary/todo", "mysql://todo@replica/todo"),
            ("postgres://todo@primary/todo", "mysql://todo@replica/todo"),
            ("postgres://todo@primary/todo", "postgres://"),
        ] {
            let err =
                config(&[("DATABASE_URL", primary), ("DATABASE_READ_URL", replica)]).unwrap_err();
            assert_eq!(err.var, "DATABASE_READ_URL", "{primary} {replica}: {err}");
        }
        let err = config(&[
            ("DATABASE_URL", "postgres://todo@primary/todo"),
            ("DATABASE_READ_URL", "postgres://todo:x@replica/todo"),
            ("DATABASE_PASSWORD", "y"),
        ])
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "DATABASE_PASSWORD: is set, but DATABASE_READ_URL already carries a password; keep one"
        );
        let err = config(&[("REPLICA_MAX_LAG_BYTES", "16MiB")]).unwrap_err();
        assert_eq!(err.var, "REPLICA_MAX_LAG_BYTES");
    }

    #[test]
    fn durations_take_units_and_metrics_can_be_disabled() {
        let c = config(&[
            ("SHUTDOWN_TIMEOUT", "8"),
            ("REQUEST_TIMEOUT", "1500ms"),
            ("METRICS_ENABLED", "false"),
            ("AUTHZ", "STRICT"),
        ])
        .unwrap();
        assert_eq!(c.shutdown_timeout, Duration::from_secs(8));
        assert_eq!(c.request_timeout, Duration::from_millis(1500));
        assert_eq!(c.metrics_port, None);
        assert_eq!(c.authz, Authz::Strict);
    }

    proptest::proptest! {
        /// Any value of any variable is a configuration or an error naming that variable.
        #[test]
        fn any_value_is_accepted_or_refused_by_name(index in 0..VARIABLES.len(), value in "\\PC{0,24}") {
            let name = VARIABLES[index].name;
            let result = config(&[(name, value.as_str()), ("LOG_FORMAT", "json")]);
            if let Err(err) = result {
                proptest::prop_assert!(
                    VARIABLES.iter().any(|v| v.name == err.var),
                    "{err} names a documented variable"
                );
            }
        }
    }
}
