//! The real `todo-api` binary as a child process, for end-to-end and fault tests.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_todo-api");

pub struct Server {
    pub child: Child,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// `http://127.0.0.1:<port>` of the metrics listener, when enabled.
    pub metrics: Option<String>,
    lines: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
}

/// Environment every test server gets: ephemeral ports, JSON logs.
fn base_env(cmd: &mut Command) {
    cmd.env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("HOST", "127.0.0.1")
        .env("PORT", "0")
        .env("METRICS_PORT", "0")
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        // Tests sign up many users from one address; the limits' own tests set them.
        .env("SIGNUP_RATE_PER_IP", "off")
        .env("SIGNUP_RATE_TOTAL", "off")
        .env("TOKEN_ROTATION_RATE_PER_USER", "off")
        .env("TOKEN_ROTATION_RATE_PER_IP", "off");
}

impl Server {
    /// Starts `todo-api serve` with `env` and waits until it listens.
    pub fn start(env: &[(&str, &str)]) -> Server {
        Self::start_wrapped(&[], env)
    }

    /// `start`, run through `wrapper` (e.g. `prlimit --nofile=256 --`), which must exec
    /// the binary so that the child's pid is the server's.
    pub fn start_wrapped(wrapper: &[&str], env: &[(&str, &str)]) -> Server {
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args).arg(BIN);
                cmd
            }
            None => Command::new(BIN),
        };
        base_env(&mut cmd);
        cmd.arg("serve")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn todo-api");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<String>();
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let (lines, tx) = (lines.clone(), tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    lines.lock().unwrap().push(line.clone());
                    let _ = tx.send(line);
                }
            });
        }
        let (mut base, mut metrics) = (None, None);
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while base.is_none() || (metrics.is_none() && !env.contains(&("METRICS_ENABLED", "false")))
        {
            let wait = deadline.saturating_duration_since(std::time::Instant::now());
            let Ok(line) = rx.recv_timeout(wait) else {
                let _ = child.kill();
                panic!(
                    "todo-api did not start; output:\n{}",
                    lines.lock().unwrap().join("\n")
                );
            };
            let Ok(event) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            let address = event["address"].as_str().map(|a| format!("http://{a}"));
            match event["message"].as_str() {
                Some("listening") => base = address,
                Some("metrics listening") => metrics = address,
                _ => {}
            }
        }
        Server {
            child,
            base: base.unwrap(),
            metrics,
            lines,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// One request with an optional token and JSON body: (status, JSON body or `Null`).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.header("X-API-TOKEN", token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Signs up (password `password123`) and returns (id, token).
    pub async fn signup(&self, email: &str) -> (i64, String) {
        let body = serde_json::json!({"email": email, "password": "password123"});
        let (status, user) = self.call("POST", "/users", None, Some(&body)).await;
        assert_eq!(status, 200, "{user}");
        (
            user["id"].as_i64().unwrap(),
            user["token"].as_str().unwrap().to_owned(),
        )
    }

    /// Every line the process wrote so far (stdout and stderr).
    pub fn output(&self) -> Vec<String> {
        self.lines.lock().unwrap().clone()
    }

    /// JSON log events so far.
    pub fn events(&self) -> Vec<Value> {
        self.output()
            .iter()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// A field of `/proc/PID/status` in KiB (`VmRSS`, `VmHWM`: the peak).
    pub fn memory_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc status"))
    }

    /// How many sockets the server process holds open (listeners and connections).
    pub fn open_sockets(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.child.id()))
            .expect("the server's fds")
            .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
            .filter(|target| target.to_string_lossy().starts_with("socket:"))
            .count()
    }

    /// The Prometheus text of the metrics listener.
    pub async fn metrics_text(&self) -> String {
        let url = format!(
            "{}/metrics",
            self.metrics.as_ref().expect("metrics enabled")
        );
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the exit status, up to `timeout`.
    pub fn wait(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a non-server subcommand to completion: (exit code, stdout, stderr).
pub fn run(args: &[&str], env: &[(&str, &str)], stdin: Option<&str>) -> (i32, String, String) {
    use std::io::Write;
    let mut cmd = Command::new(BIN);
    base_env(&mut cmd);
    cmd.args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn todo-api");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Records a measured figure of a check (for docs/security.md, rendered from this file by
/// scripts/security-figures): one JSON line in target/security-figures.jsonl.
pub fn record_figure(check: &str, figure: &str, value: impl std::fmt::Display) {
    use std::io::Write;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let _ = std::fs::create_dir_all(&dir);
    let line = serde_json::json!({"check": check, "figure": figure, "value": value.to_string()});
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("security-figures.jsonl"))
    {
        let _ = writeln!(file, "{line}");
    }
}
