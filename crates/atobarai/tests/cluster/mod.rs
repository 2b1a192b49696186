//! Nodes of one journal as separate processes, and a small client that
//! retries a request on another node until one answers it (as a merchant's
//! client behind a load balancer would).
#![allow(dead_code)]

use crate::serve::{BIN, ok, start_with};
use serde_json::{Value, json};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One `atobarai serve` process.
pub struct NodeProc {
    pub child: Child,
    pub url: String,
}

impl NodeProc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn kill(mut self) {
        let _ = self.child.kill(); // SIGKILL
        let _ = self.child.wait();
    }

    /// Send `signal` (`STOP`, `CONT`, `TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }
}

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The store arguments of every command on this journal.
#[derive(Clone)]
pub struct Journal {
    pub args: Vec<String>,
}

impl Journal {
    pub fn postgres(url: &str, schema: &str) -> Journal {
        Journal {
            args: vec![
                "--database".into(),
                url.into(),
                "--schema".into(),
                schema.into(),
            ],
        }
    }

    fn with<'a>(&'a self, first: &[&'a str]) -> Vec<&'a str> {
        let mut v = first.to_vec();
        v.extend(self.args.iter().map(String::as_str));
        v
    }

    /// `atobarai ADD… <store>` (no node running); the key printed last.
    pub fn add_key(&self, add: &[&str]) -> String {
        let out = Command::new(BIN).args(self.with(add)).output().unwrap();
        ok(&out).lines().last().unwrap().to_string()
    }

    /// Start a node on this journal with `extra` arguments.
    pub fn start(&self, extra: &[&str]) -> NodeProc {
        let mut args = self.with(&["--clock", "system"]);
        args.extend_from_slice(extra);
        let (child, url) = start_with(&args);
        NodeProc { child, url }
    }
}

/// The keys a test needs.
#[derive(Clone)]
pub struct Keys {
    pub merchant: String,
    pub admin: String,
    pub payments: String,
}

impl Keys {
    pub fn add(journal: &Journal) -> Keys {
        Keys {
            merchant: journal.add_key(&["merchant", "add", "shop"]),
            admin: journal.add_key(&["operator", "add", "ops", "--role", "admin"]),
            payments: journal.add_key(&["operator", "add", "bank", "--role", "payments"]),
        }
    }
}

/// A request the client may send to any node: method, path, key, body
/// and idempotency key.
#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub key: String,
    pub body: Value,
    pub idem: Option<String>,
}

/// The addresses of the nodes now running (tests add and remove them).
pub type Nodes = Arc<Mutex<Vec<String>>>;

/// What one request came to.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub node: String,
}

/// Send `req` until a node answers it with anything but `503` or a
/// broken connection, trying the leader a `503 not_leader` names first
/// and the other nodes in turn; gives up after `within`.
pub async fn send_retrying(
    http: &reqwest::Client,
    nodes: &Nodes,
    req: &Request,
    within: Duration,
) -> Option<Answer> {
    let started = Instant::now();
    let mut hint: Option<String> = None;
    let mut turn = 0usize;
    while started.elapsed() < within {
        let base = match hint.take() {
            Some(h) => h,
            None => {
                let all = nodes.lock().unwrap().clone();
                if all.is_empty() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                turn += 1;
                all[turn % all.len()].clone()
            }
        };
        let mut r = http
            .post(format!("{base}{}", req.path))
            .bearer_auth(&req.key)
            .timeout(Duration::from_secs(10))
            .json(&req.body);
        if let Some(k) = &req.idem {
            r = r.header("Idempotency-Key", k);
        }
        let Ok(resp) = r.send().await else {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        };
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get("retry-after").is_some();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if status == 503 {
            assert!(retry_after, "a 503 without Retry-After: {body}");
            let leader = body["error"]["leader"].as_str().map(str::to_string);
            let alive = nodes.lock().unwrap().clone();
            hint = leader.filter(|l| *l != base && alive.contains(l));
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        return Some(Answer {
            status,
            body,
            node: base,
        });
    }
    None
}

pub async fn get(http: &reqwest::Client, base: &str, path: &str, key: &str) -> Option<Value> {
    let resp = http
        .get(format!("{base}{path}"))
        .bearer_auth(key)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json().await.ok()
}

/// `GET /healthz` of `base`.
pub async fn health(http: &reqwest::Client, base: &str) -> Option<Value> {
    get(http, base, "/healthz", "").await
}

/// Wait until exactly one of `nodes` says it leads; its address.
pub async fn wait_for_leader(http: &reqwest::Client, nodes: &[String], within: Duration) -> String {
    let started = Instant::now();
    loop {
        let mut leaders = Vec::new();
        for n in nodes {
            if let Some(h) = health(http, n).await
                && h["role"] == "leader"
            {
                leaders.push(n.clone());
            }
        }
        if leaders.len() == 1 {
            return leaders.remove(0);
        }
        assert!(
            started.elapsed() < within,
            "no single leader among {nodes:?} after {within:?} (leaders: {leaders:?})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A customer registration body.
pub fn customer(i: usize) -> Value {
    json!({"external_id": format!("c-{i}"), "name": "山田 太郎", "name_kana": "ヤマダ タロウ",
        "birth_date": "1990-04-01", "phone": format!("090-1234-{:04}", i % 10_000),
        "email": format!("taro{i}@example.jp"), "postal_code": "100-0013",
        "address": "東京都千代田区霞が関1-3-1", "payment_method": "bank_debit"})
}

/// An authorization of a 1-yen daily-goods order.
pub fn authorization(customer: &str, order: &str) -> Value {
    json!({"merchant_order_id": order, "customer": customer, "product": "monthly",
        "channel": "online", "items": [{"sku": "S", "name": "n", "category": "food",
        "unit_price": 1, "quantity": 1}]})
}

/// Every order of `customer` (all pages).
pub async fn orders_of(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    customer: &str,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let path = match &after {
            Some(a) => format!("/v1/customers/{customer}/orders?limit=100&after={a}"),
            None => format!("/v1/customers/{customer}/orders?limit=100"),
        };
        let page = get(http, base, &path, key).await.expect("orders page");
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next"].as_str() {
            Some(n) => after = Some(n.to_string()),
            None => return out,
        }
    }
}
