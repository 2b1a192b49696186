//! The binary as a user runs it: a key added to a data directory, and
//! `atobarai serve` started on an ephemeral port.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

pub const BIN: &str = env!("CARGO_BIN_EXE_atobarai");

/// Run `atobarai ARGS…`; its output.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

/// `output` succeeded (stderr shown otherwise); its stdout.
pub fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Add a key with `atobarai merchant|operator add …` on `dir` (the server
/// stopped); the key, the last line printed.
pub fn add_key(dir: &Path, add: &[&str]) -> String {
    let dir = dir.to_str().unwrap();
    let mut args = add.to_vec();
    args.extend(["--data-dir", dir]);
    ok(&run(&args)).lines().last().unwrap().to_string()
}

/// Start `atobarai serve` on an ephemeral port; the child and base URL.
pub fn start(dir: &Path) -> (Child, String) {
    start_with(&["--data-dir", dir.to_str().unwrap()])
}

/// Start `atobarai serve --listen 127.0.0.1:0 ARGS…`; the child and base
/// URL (read from the line it prints once listening).
pub fn start_with(args: &[&str]) -> (Child, String) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .env("ATOBARAI_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_string();
    (child, url)
}

/// A client of a running server: base URL and a counter for
/// Idempotency-Keys (`{prefix}-{n}`).
pub struct Api {
    pub http: reqwest::Client,
    pub base: String,
    pub prefix: &'static str,
    pub n: std::sync::atomic::AtomicU64,
}

impl Api {
    pub fn new(base: String, prefix: &'static str) -> Api {
        Api {
            http: reqwest::Client::new(),
            base,
            prefix,
            n: Default::default(),
        }
    }

    /// POST `body` with a fresh Idempotency-Key; the status and the JSON.
    pub async fn post(
        &self,
        key: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let n = self.n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .header("Idempotency-Key", format!("{}-{n}", self.prefix))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(serde_json::Value::Null))
    }

    /// Move the manual clock to `now` (RFC 3339) with the admin key.
    pub async fn clock(&self, admin: &str, now: &str) {
        let (s, v) = self
            .post(admin, "/v1/admin/clock", serde_json::json!({ "now": now }))
            .await;
        assert_eq!(s, 200, "{v}");
    }
}
