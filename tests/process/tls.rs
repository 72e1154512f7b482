//! TLS to the database, against servers the test starts itself: a throwaway CA and server
//! certificates (openssl), a PostgreSQL cluster whose `pg_hba.conf` has only `hostssl` for
//! TCP, and a MariaDB with `require_secure_transport=ON`. The real binary must work through
//! `sslmode=verify-full` / `ssl-mode=VERIFY_IDENTITY`; the server must refuse a plain
//! connection; verification must refuse a certificate of another CA and one for another host,
//! at once (these cannot heal: `serve` does not wait them out) and saying so.
//!
//! Under `CI=true` a missing openssl, initdb or mariadbd fails the test; elsewhere it skips.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::Connection;

use crate::common::process::{Server, run};
use crate::tools::{
    as_postgres_user, check, find_tool, free_port, give_to_postgres, postgres_bin, require,
    running_as_root,
};

/// Writes, into `dir`, a throwaway CA (`ca.pem`) and another (`other-ca.pem`), and three
/// server certificates with their keys: `server` (by `ca`, for localhost and 127.0.0.1),
/// `foreign` (the same names, by `other-ca`) and `elsewhere` (by `ca`, for
/// db.example.internal only). EC P-256 keys: fast to make, and what rustls accepts.
fn make_certificates(openssl: &Path, dir: &Path) {
    let tool = |args: String| {
        check(
            Command::new(openssl)
                .current_dir(dir)
                .args(args.split_whitespace()),
        )
    };
    let new_key = "-nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256";
    for ca in ["ca", "other-ca"] {
        tool(format!(
            "req -x509 -new {new_key} -days 2 -subj /CN=todo-api-test-{ca} \
             -addext basicConstraints=critical,CA:TRUE \
             -addext keyUsage=critical,keyCertSign,cRLSign -keyout {ca}.key -out {ca}.pem"
        ));
    }
    for (name, ca, names) in [
        ("server", "ca", "DNS:localhost,IP:127.0.0.1"),
        ("foreign", "other-ca", "DNS:localhost,IP:127.0.0.1"),
        ("elsewhere", "ca", "DNS:db.example.internal"),
    ] {
        let extensions = format!(
            "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\n\
             extendedKeyUsage=serverAuth\nsubjectAltName={names}\n"
        );
        std::fs::write(dir.join(format!("{name}.ext")), extensions).unwrap();
        tool(format!(
            "req -new {new_key} -subj /CN={name} -keyout {name}.key -out {name}.csr"
        ));
        tool(format!(
            "x509 -req -in {name}.csr -days 2 -CA {ca}.pem -CAkey {ca}.key -CAcreateserial \
             -extfile {name}.ext -out {name}.pem"
        ));
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "key") {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }
}

/// `todo-api migrate` against `url`, expected to fail at once with a message that names
/// the target, says waiting cannot help, and contains each of `expect`.
fn migrate_is_refused(url: &str, expect: &[&str]) {
    let (code, out, err) =
        tokio::task::block_in_place(|| run(&["migrate"], &[("DATABASE_URL", url)], None));
    assert_eq!(code, 1, "migrate with {url} should fail: {out}{err}");
    assert!(
        err.contains("todo-api: cannot use the database at localhost:"),
        "{url}: {err}"
    );
    for part in expect {
        assert!(err.contains(part), "{url}: {part:?} not in: {err}");
    }
}

/// `todo-api serve` against `url` gives up by itself, without the retries it makes for a
/// database that is not up yet, and logs why.
fn serve_gives_up(url: &str, expect: &[&str]) {
    let (code, out, err) =
        tokio::task::block_in_place(|| run(&["serve"], &[("DATABASE_URL", url)], None));
    let output = format!("{out}{err}");
    assert_eq!(code, 1, "serve with {url} should fail: {output}");
    assert!(!output.contains("retrying"), "{url}: {output}");
    assert!(!output.contains("\"listening\""), "{url}: {output}");
    for part in expect {
        assert!(output.contains(part), "{url}: {part:?} not in: {output}");
    }
}

fn migrate_works(url: &str) {
    let (code, out, err) =
        tokio::task::block_in_place(|| run(&["migrate"], &[("DATABASE_URL", url)], None));
    assert_eq!(code, 0, "migrate with {url}: {out}{err}");
}

/// Serves through `url`: the health check and a sign-up succeed.
async fn serve_works(url: &str) -> Server {
    let server = tokio::task::block_in_place(|| Server::start(&[("DATABASE_URL", url)]));
    let (status, body) = server.call("GET", "/health-check", None, None).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = server
        .call(
            "POST",
            "/users",
            None,
            Some(&json!({"email": "tls@example.com", "password": "password123"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body["token"].is_string(), "{body}");
    server
}

const UNKNOWN_CA: &[&str] = &[
    "TLS failed: the server's certificate is not signed by a CA this service trusts",
    "UnknownIssuer",
];
const OTHER_HOST: &[&str] = &[
    "TLS failed: the server's certificate does not name the host of DATABASE_URL",
    "db.example.internal",
];

/// A PostgreSQL cluster of the test's own: certificates and cluster in one temporary
/// directory (also the socket's), TCP only through `hostssl`. initdb and pg_ctl refuse to
/// run as root: as root they run as `postgres`, which then owns the directory.
struct Postgres {
    bin: PathBuf,
    port: u16,
    dir: tempfile::TempDir,
}

impl Postgres {
    fn start() -> Option<Postgres> {
        let openssl = require("openssl", find_tool("openssl", &[]))?;
        let bin = postgres_bin(&["initdb"]);
        let bin = bin.or_else(|| Some(find_tool("initdb", &[])?.parent()?.to_owned()));
        let bin = require("PostgreSQL's initdb (/usr/lib/postgresql/*/bin)", bin)?;
        let dir = tempfile::tempdir().unwrap();
        make_certificates(&openssl, dir.path());
        give_to_postgres(dir.path());
        let pg = Postgres {
            bin,
            port: free_port(),
            dir,
        };
        let data = pg.path("data");
        check(
            pg.tool("initdb")
                .args(["-U", "postgres", "-A", "trust", "--no-sync", "-D"])
                .arg(&data),
        );
        // Unix socket for the test's own setup; TCP only with TLS, no `host` line.
        std::fs::write(
            data.join("pg_hba.conf"),
            "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
        )
        .unwrap();
        // In the file rather than on the command line, so that ALTER SYSTEM can change
        // the certificate later.
        let settings = format!(
            "listen_addresses = '127.0.0.1'\nport = {}\nunix_socket_directories = '{}'\n\
             fsync = off\nssl = on\nssl_cert_file = '{}'\nssl_key_file = '{}'\n",
            pg.port,
            pg.dir.path().display(),
            pg.path("server.pem").display(),
            pg.path("server.key").display(),
        );
        let conf = data.join("postgresql.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text.push_str(&settings);
        std::fs::write(&conf, text).unwrap();
        check(
            pg.tool("pg_ctl")
                .args(["-w", "-t", "30", "-l"])
                .arg(pg.path("log"))
                .arg("-D")
                .arg(&data)
                .arg("start"),
        );
        Some(pg)
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn tool(&self, name: &str) -> Command {
        as_postgres_user(&self.bin.join(name))
    }

    /// The URL the service gets: over TCP to `host`, with `query`.
    fn url(&self, host: &str, query: &str) -> String {
        format!("postgres://postgres@{host}:{}/postgres?{query}", self.port)
    }

    fn verify_full(&self, host: &str) -> String {
        let ca = self.path("ca.pem");
        self.url(
            host,
            &format!("sslmode=verify-full&sslrootcert={}", ca.display()),
        )
    }

    /// A connection through the Unix socket, for setup and for looking at the server.
    async fn admin(&self) -> sqlx::PgConnection {
        let options = sqlx::postgres::PgConnectOptions::new()
            .socket(self.dir.path())
            .port(self.port)
            .username("postgres")
            .database("postgres")
            .ssl_mode(sqlx::postgres::PgSslMode::Disable);
        sqlx::PgConnection::connect_with(&options)
            .await
            .unwrap_or_else(|e| panic!("the socket of the test's PostgreSQL: {e}"))
    }

    /// Makes the server present the certificate `name` (`name.pem`, `name.key`) to the
    /// connections that follow.
    async fn present(&self, name: &str) {
        let cert = self.path(&format!("{name}.pem")).display().to_string();
        let key = self.path(&format!("{name}.key")).display().to_string();
        let mut admin = self.admin().await;
        for sql in [
            format!("ALTER SYSTEM SET ssl_cert_file = '{cert}'"),
            format!("ALTER SYSTEM SET ssl_key_file = '{key}'"),
            "SELECT pg_reload_conf()".to_owned(),
        ] {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .unwrap();
        }
        // The postmaster reloads the configuration and the TLS context together, before it
        // forks the backends of new connections: once a new one sees the file, so will TLS.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let seen: String = sqlx::query_scalar("SELECT current_setting('ssl_cert_file')")
                .fetch_one(&mut self.admin().await)
                .await
                .unwrap();
            if seen == cert {
                return;
            }
            assert!(Instant::now() < deadline, "PostgreSQL kept {seen}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl")
            .args(["-m", "immediate", "-D"])
            .arg(self.path("data"))
            .arg("stop")
            .output();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_verify_full_works_and_plain_or_unverifiable_is_refused() {
    let Some(pg) = tokio::task::block_in_place(Postgres::start) else {
        return;
    };

    // verify-full, with the CA that signed the server's certificate for localhost.
    let url = pg.verify_full("localhost");
    migrate_works(&url);
    let server = serve_works(&url).await;

    // The server saw TLS: on the test's own verify-full connection, and on every connection
    // the service holds (named by its application_name).
    let mut own = sqlx::PgConnection::connect(&url).await.unwrap();
    let (ssl, version): (bool, String) =
        sqlx::query_as("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&mut own)
            .await
            .unwrap();
    assert!(ssl && version.starts_with("TLSv1."), "{ssl} {version}");
    let (encrypted, plain): (i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE s.ssl), count(*) FILTER (WHERE NOT s.ssl) \
         FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) \
         WHERE a.application_name = 'todo-api'",
    )
    .fetch_one(&mut pg.admin().await)
    .await
    .unwrap();
    assert!(
        encrypted >= 1 && plain == 0,
        "{encrypted} TLS, {plain} plain"
    );
    drop(own);
    drop(server);

    // Without TLS the server refuses: pg_hba.conf has no `host` line.
    let plain = pg.url("localhost", "sslmode=disable");
    migrate_is_refused(
        &plain,
        &["login refused: no pg_hba.conf entry", "no encryption"],
    );

    // A certificate of another CA, then one for another host: verify-full refuses both.
    pg.present("foreign").await;
    migrate_is_refused(&url, UNKNOWN_CA);
    serve_gives_up(&url, UNKNOWN_CA);
    pg.present("elsewhere").await;
    migrate_is_refused(&url, OTHER_HOST);
    serve_gives_up(&url, OTHER_HOST);
    // The name is the only thing wrong with it: verify-ca (the chain, not the name) passes.
    let ca = pg.path("ca.pem");
    migrate_works(&pg.url(
        "localhost",
        &format!("sslmode=verify-ca&sslrootcert={}", ca.display()),
    ));
}

/// A MariaDB server of the test's own: a fresh data directory (mariadb-install-db, root
/// without password), TCP on a free port with `require_secure_transport=ON`, the Unix
/// socket (which needs no TLS) for setup. Killed and removed when dropped.
struct MariaDb {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl MariaDb {
    fn start() -> Option<MariaDb> {
        let openssl = require("openssl", find_tool("openssl", &[]))?;
        let server = require(
            "mariadbd",
            find_tool("mariadbd", &["/usr/sbin/mariadbd", "/usr/libexec/mariadbd"]),
        )?;
        let install = require("mariadb-install-db", find_tool("mariadb-install-db", &[]))?;
        let dir = tempfile::tempdir().unwrap();
        make_certificates(&openssl, dir.path());
        // The server reads its certificate from live.*: `present` replaces them.
        for ext in ["pem", "key"] {
            std::fs::copy(
                dir.path().join(format!("server.{ext}")),
                dir.path().join(format!("live.{ext}")),
            )
            .unwrap();
        }
        let data = dir.path().join("data");
        let as_root = running_as_root().then_some("--user=root");
        check(
            Command::new(install)
                .arg("--no-defaults")
                .arg(format!("--datadir={}", data.display()))
                .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
                .args(as_root),
        );
        let port = free_port();
        let file = |name: &str| dir.path().join(name).display().to_string();
        let child = Command::new(server)
            .arg("--no-defaults")
            .args(as_root)
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", file("sock")))
            .arg(format!("--pid-file={}", file("pid")))
            .arg(format!("--log-error={}", file("error.log")))
            .arg(format!("--port={port}"))
            .args(["--bind-address=127.0.0.1", "--skip-name-resolve"])
            .args(["--innodb-buffer-pool-size=16M", "--skip-log-bin"])
            .arg("--require-secure-transport=ON")
            .arg(format!("--ssl-ca={}", file("ca.pem")))
            .arg(format!("--ssl-cert={}", file("live.pem")))
            .arg(format!("--ssl-key={}", file("live.key")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn mariadbd");
        Some(MariaDb { child, port, dir })
    }

    fn url(&self, query: &str) -> String {
        format!("mysql://root@localhost:{}/todo?{query}", self.port)
    }

    fn verify_identity(&self) -> String {
        let ca = self.dir.path().join("ca.pem");
        self.url(&format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={}", ca.display()))
    }

    async fn admin(&self) -> sqlx::MySqlConnection {
        let options = sqlx::mysql::MySqlConnectOptions::new()
            .socket(self.dir.path().join("sock"))
            .username("root")
            .ssl_mode(sqlx::mysql::MySqlSslMode::Disabled);
        sqlx::MySqlConnection::connect_with(&options)
            .await
            .unwrap_or_else(|e| panic!("the socket of the test's MariaDB: {e}"))
    }

    /// Waits until the server accepts connections on its socket.
    async fn ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let options = sqlx::mysql::MySqlConnectOptions::new()
                .socket(self.dir.path().join("sock"))
                .username("root")
                .ssl_mode(sqlx::mysql::MySqlSslMode::Disabled);
            if sqlx::MySqlConnection::connect_with(&options).await.is_ok() {
                return;
            }
            let log = || std::fs::read_to_string(self.dir.path().join("error.log"));
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("mariadbd exited ({status}): {:?}", log());
            }
            assert!(
                Instant::now() < deadline,
                "mariadbd did not start: {:?}",
                log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn exec(&self, sql: &str) {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&mut self.admin().await)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    /// TLS handshakes the server completed so far.
    async fn tls_handshakes(&self) -> i64 {
        let value: String = sqlx::query_scalar(
            "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS \
             WHERE VARIABLE_NAME = 'SSL_FINISHED_ACCEPTS'",
        )
        .fetch_one(&mut self.admin().await)
        .await
        .unwrap();
        value.parse().unwrap()
    }

    /// Makes the server present the certificate `name` to the connections that follow
    /// (FLUSH SSL reloads the files at once).
    async fn present(&self, name: &str) {
        for ext in ["pem", "key"] {
            std::fs::copy(
                self.dir.path().join(format!("{name}.{ext}")),
                self.dir.path().join(format!("live.{ext}")),
            )
            .unwrap();
        }
        self.exec("FLUSH SSL").await;
    }
}

impl Drop for MariaDb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mariadb_verify_identity_works_and_plain_or_unverifiable_is_refused() {
    let Some(mut db) = tokio::task::block_in_place(MariaDb::start) else {
        return;
    };
    db.ready().await;
    // TLS is enforced (not merely offered) on TCP.
    let (required, have_ssl): (i64, String) =
        sqlx::query_as("SELECT @@require_secure_transport, @@have_ssl")
            .fetch_one(&mut db.admin().await)
            .await
            .unwrap();
    assert_eq!((required, have_ssl.as_str()), (1, "YES"));
    db.exec("CREATE DATABASE todo CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
        .await;

    // VERIFY_IDENTITY, with the CA that signed the server's certificate for localhost.
    let url = db.verify_identity();
    let before = db.tls_handshakes().await;
    migrate_works(&url);
    let server = serve_works(&url).await;
    assert!(db.tls_handshakes().await > before);
    let mut own = sqlx::MySqlConnection::connect(&url).await.unwrap();
    let (_, version): (String, String) = sqlx::query_as("SHOW SESSION STATUS LIKE 'Ssl_version'")
        .fetch_one(&mut own)
        .await
        .unwrap();
    assert!(version.starts_with("TLSv1."), "{version}");
    drop(own);
    drop(server);

    // Without TLS the server refuses (MariaDB says only "Access denied"; the service adds
    // that the connection was not encrypted).
    migrate_is_refused(
        &db.url("ssl-mode=DISABLED"),
        &[
            "login refused: Access denied for user 'root'",
            "the connection was not encrypted (ssl-mode=DISABLED)",
        ],
    );

    // A certificate of another CA, then one for another host: VERIFY_IDENTITY refuses both.
    db.present("foreign").await;
    migrate_is_refused(&url, UNKNOWN_CA);
    serve_gives_up(&url, UNKNOWN_CA);
    db.present("elsewhere").await;
    migrate_is_refused(&url, OTHER_HOST);
    serve_gives_up(&url, OTHER_HOST);
    // The name is the only thing wrong with it: VERIFY_CA (the chain, not the name) passes.
    let ca = db.dir.path().join("ca.pem");
    migrate_works(&db.url(&format!("ssl-mode=VERIFY_CA&ssl-ca={}", ca.display())));
}
