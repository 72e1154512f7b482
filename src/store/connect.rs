//! Why a first connection failed, in words an operator can act on.
//!
//! sqlx's pool retries a refused connection until its acquire timeout and then reports only
//! "pool timed out while waiting for an open connection"; a login failure surfaces inside
//! whatever statement ran first (a migration, with PostgreSQL's source line). So start-up
//! opens one connection outside the pool and classifies what went wrong: where it tried
//! (host and port, or the SQLite file) and whether waiting can help.

use std::fmt;
use std::time::Duration;

/// A first connection to the database failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{prefix} {target}: {reason}", prefix = if reason.may_heal() { "database unavailable: cannot connect to" } else { "cannot use the database at" })]
pub struct ConnectError {
    /// `host:port`, or the SQLite file's path.
    pub target: String,
    pub reason: ConnectFailure,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectFailure {
    /// Nothing listens there (yet).
    Refused,
    /// The host name does not resolve.
    UnknownHost,
    /// No answer in time.
    TimedOut(Duration),
    /// The server refused the user or its password.
    Login(String),
    /// The server knows no such database.
    UnknownDatabase(String),
    /// The TLS handshake or the certificate check failed.
    Tls(String),
    /// The SQLite file's directory does not exist.
    MissingDirectory(String),
    /// The SQLite file cannot be opened or created (permissions, a read-only mount).
    CannotOpen(String),
    Other(String),
}

impl ConnectFailure {
    /// Whether the database may come up by itself (a container starting before its
    /// database, DNS not yet propagated); the others need an operator.
    pub fn may_heal(&self) -> bool {
        matches!(
            self,
            ConnectFailure::Refused | ConnectFailure::UnknownHost | ConnectFailure::TimedOut(_)
        )
    }

    /// Classifies the error of a direct connection attempt.
    pub fn of(err: &sqlx::Error) -> Self {
        match err {
            sqlx::Error::Io(io) => match (io.kind(), tls_failure(io)) {
                (_, Some(tls)) => ConnectFailure::Tls(tls),
                (std::io::ErrorKind::ConnectionRefused, _) => ConnectFailure::Refused,
                (std::io::ErrorKind::TimedOut, _) => ConnectFailure::TimedOut(Duration::ZERO),
                _ if is_dns_failure(io) => ConnectFailure::UnknownHost,
                _ => ConnectFailure::Other(io.to_string()),
            },
            sqlx::Error::Tls(tls) => ConnectFailure::Tls(tls.to_string()),
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                let message = db.message().to_owned();
                match code.as_ref() {
                    // SQLSTATE invalid password / authorization (PostgreSQL, MySQL).
                    "28P01" | "28000" => ConnectFailure::Login(message),
                    "3D000" => ConnectFailure::UnknownDatabase(message),
                    _ if is_mysql_login(db.as_ref()) => ConnectFailure::Login(message),
                    _ if is_mysql_unknown_database(db.as_ref()) => {
                        ConnectFailure::UnknownDatabase(message)
                    }
                    _ if is_sqlite_cannot_open(db.as_ref()) => ConnectFailure::CannotOpen(message),
                    _ => ConnectFailure::Other(message),
                }
            }
            other => ConnectFailure::Other(other.to_string()),
        }
    }
}

/// A failed TLS handshake: rustls reports it as the socket's I/O error, so without this it
/// would read as a bare "invalid peer certificate: UnknownIssuer". Says what is wrong with
/// the server's certificate in the terms of `DATABASE_URL`.
fn tls_failure(io: &std::io::Error) -> Option<String> {
    use rustls::CertificateError as Cert;
    let tls = io.get_ref()?.downcast_ref::<rustls::Error>()?;
    let what = match tls {
        rustls::Error::InvalidCertificate(Cert::UnknownIssuer) => {
            "the server's certificate is not signed by a CA this service trusts (sslrootcert= / ssl-ca= in DATABASE_URL)"
        }
        rustls::Error::InvalidCertificate(
            Cert::NotValidForName | Cert::NotValidForNameContext { .. },
        ) => "the server's certificate does not name the host of DATABASE_URL",
        rustls::Error::InvalidCertificate(
            Cert::Expired
            | Cert::ExpiredContext { .. }
            | Cert::NotValidYet
            | Cert::NotValidYetContext { .. },
        ) => "the server's certificate is outside its validity period",
        rustls::Error::InvalidCertificate(_) => "the server's certificate is refused",
        _ => "the handshake failed",
    };
    Some(format!("{what}: {tls}"))
}

fn is_dns_failure(io: &std::io::Error) -> bool {
    // The resolver's errors reach us as plain I/O errors with getaddrinfo's text.
    let text = io.to_string();
    text.contains("failed to lookup address")
        || text.contains("Name or service not known")
        || text.contains("Temporary failure in name resolution")
        || text.contains("No address associated with hostname")
}

fn is_mysql_login(db: &dyn sqlx::error::DatabaseError) -> bool {
    // 1045 access denied, 1044 access denied to the database, 1698 no password for root.
    db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .is_some_and(|my| matches!(my.number(), 1044 | 1045 | 1698))
}

fn is_mysql_unknown_database(db: &dyn sqlx::error::DatabaseError) -> bool {
    db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
        .is_some_and(|my| my.number() == 1049)
}

fn is_sqlite_cannot_open(db: &dyn sqlx::error::DatabaseError) -> bool {
    // SQLITE_CANTOPEN (14), SQLITE_READONLY (8), SQLITE_PERM (3).
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && db
            .code()
            .and_then(|code| code.parse::<u32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 3 | 8 | 14))
}

impl fmt::Display for ConnectFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnectFailure::Refused => {
                write!(
                    f,
                    "connection refused (is the server running and listening there?)"
                )
            }
            ConnectFailure::UnknownHost => write!(f, "the host name does not resolve (DNS)"),
            ConnectFailure::TimedOut(after) if after.is_zero() => write!(f, "no answer in time"),
            ConnectFailure::TimedOut(after) => write!(f, "no answer within {after:?}"),
            ConnectFailure::Login(message) => write!(f, "login refused: {message}"),
            ConnectFailure::UnknownDatabase(message) => write!(f, "no such database: {message}"),
            ConnectFailure::Tls(message) => write!(f, "TLS failed: {message}"),
            ConnectFailure::MissingDirectory(dir) => write!(
                f,
                "the directory {dir} does not exist (create it, or point DATABASE_URL elsewhere)"
            ),
            ConnectFailure::CannotOpen(message) => {
                write!(f, "cannot open or create the file: {message}")
            }
            ConnectFailure::Other(message) => write!(f, "{message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_target_and_say_whether_waiting_helps() {
        let refused = ConnectError {
            target: "127.0.0.1:1".into(),
            reason: ConnectFailure::Refused,
        };
        assert!(refused.reason.may_heal());
        assert_eq!(
            refused.to_string(),
            "database unavailable: cannot connect to 127.0.0.1:1: connection refused (is the server running and listening there?)"
        );
        let login = ConnectError {
            target: "db:5432".into(),
            reason: ConnectFailure::Login(
                "password authentication failed for user \"todo\"".into(),
            ),
        };
        assert!(!login.reason.may_heal());
        assert_eq!(
            login.to_string(),
            "cannot use the database at db:5432: login refused: password authentication failed for user \"todo\""
        );
        let io = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(ConnectFailure::of(&io), ConnectFailure::Refused);
    }

    #[test]
    fn a_refused_certificate_is_a_tls_failure_that_waiting_cannot_mend() {
        // How rustls hands sqlx a failed handshake: inside the socket's I/O error.
        let handshake = |cert| {
            sqlx::Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                rustls::Error::InvalidCertificate(cert),
            ))
        };
        let unknown = ConnectFailure::of(&handshake(rustls::CertificateError::UnknownIssuer));
        assert!(!unknown.may_heal());
        assert_eq!(
            unknown.to_string(),
            "TLS failed: the server's certificate is not signed by a CA this service trusts \
             (sslrootcert= / ssl-ca= in DATABASE_URL): invalid peer certificate: UnknownIssuer"
        );
        let other_host = ConnectFailure::of(&handshake(rustls::CertificateError::NotValidForName));
        assert!(
            matches!(&other_host, ConnectFailure::Tls(m) if m.starts_with("the server's certificate does not name the host"))
        );
        let other = sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, "junk"));
        assert_eq!(
            ConnectFailure::of(&other),
            ConnectFailure::Other("junk".into())
        );
    }
}
