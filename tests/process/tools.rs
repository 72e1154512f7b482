//! What the tests that start their own servers (TLS, PgBouncer) share: finding Debian's
//! tools, free ports, checked commands.

use std::path::{Path, PathBuf};
use std::process::Command;

/// `Some(path)`, or `None` after saying why the test does not run (a failure under CI).
pub fn require(what: &str, found: Option<PathBuf>) -> Option<PathBuf> {
    if found.is_none() {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI runs this test and needs {what}"
        );
        eprintln!("no {what}: this test does not run here");
    }
    found
}

/// `name` in `PATH`, else the first of `elsewhere` that exists.
pub fn find_tool(name: &str, elsewhere: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .chain(elsewhere.iter().map(PathBuf::from))
        .find(|candidate| candidate.is_file())
}

pub fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn check(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The newest `/usr/lib/postgresql/<version>/bin` that has every one of `tools`.
pub fn postgres_bin(tools: &[&str]) -> Option<PathBuf> {
    let mut bins: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|v| v.ok())
        .filter_map(|v| {
            let version = v.file_name().to_str()?.parse().ok()?;
            Some((version, v.path().join("bin")))
        })
        .filter(|(_, bin)| tools.iter().all(|tool| bin.join(tool).is_file()))
        .collect();
    bins.sort();
    bins.pop().map(|(_, bin)| bin)
}

/// `program` as a command that runs as the `postgres` OS user when the tests run as root
/// (PostgreSQL's tools and PgBouncer refuse to run as root).
pub fn as_postgres_user(program: &Path) -> Command {
    if running_as_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(program);
        command
    } else {
        Command::new(program)
    }
}

/// Hands `dir` to the `postgres` OS user when the tests run as root, so that the tools
/// `as_postgres_user` starts may write there.
pub fn give_to_postgres(dir: &Path) {
    if running_as_root() {
        check(
            Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir),
        );
    }
}
