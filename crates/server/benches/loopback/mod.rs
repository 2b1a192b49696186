//! A loopback load driver the HTTP benches share: the whole server (router,
//! auth, engine, fsync'd group commit) on 127.0.0.1, driven by `n`
//! concurrent keep-alive clients; requests per second and latencies.
#![allow(dead_code)]

use atobarai_engine::{Command, Outcome};
use atobarai_server::{AppState, ClockMode, IdentitySecret, Node, NodeOptions, StoreSpec, auth};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A node on the embedded store in `dir` (system clock, no periodic
/// snapshot) under `config`.
pub fn open_node(dir: &std::path::Path, config: atobarai_core::Config) -> Arc<Node> {
    Arc::new(
        Node::open(
            NodeOptions {
                store: StoreSpec::Dir(dir.to_path_buf()),
                clock: ClockMode::System,
                config,
                snapshot_every: u64::MAX,
                cluster: Default::default(),
            },
            &mut |_, _| {},
        )
        .expect("node opens"),
    )
}

/// A new merchant: its index and API key.
pub fn add_merchant(node: &Node, name: &str) -> (u32, String) {
    let key = auth::mint();
    let added = node
        .submit_blocking(
            None,
            Command::AddMerchant {
                name: name.into(),
                key_id: key.key_id.clone(),
                secret_sha256: key.secret_sha256,
            },
        )
        .unwrap()
        .unwrap();
    match added.outcome {
        Outcome::Merchant(g) => (g.index, key.key),
        other => panic!("{other:?}"),
    }
}

/// Serve `node` on a loopback port; the base URL.
pub async fn serve(node: Arc<Node>, identity: IdentitySecret) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = atobarai_server::router(AppState {
        node,
        limits: Arc::new(Default::default()),
        identity,
        webhooks: Arc::new(Default::default()),
        documents: Default::default(),
        body_timeout: Duration::from_secs(30),
    });
    tokio::spawn(async move {
        atobarai_server::serve(listener, app, Default::default(), std::future::pending())
            .await
            .unwrap();
    });
    format!("http://{addr}")
}

/// One request: path, bearer key, Idempotency-Key, JSON body.
pub struct Req {
    pub path: String,
    pub bearer: String,
    pub idem: String,
    pub body: String,
}

/// What a run measured.
pub struct Run {
    pub elapsed: Duration,
    /// Answers with the expected status.
    pub ok: u64,
    /// Every request's latency, sorted.
    pub latencies: Vec<Duration>,
}

impl Run {
    /// Requests per second over the run.
    pub fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-th percentile latency.
    pub fn pct(&self, p: usize) -> Duration {
        let n = self.latencies.len();
        self.latencies[(n * p / 100).min(n - 1)]
    }
}

/// POST `requests` requests (`make(i)` builds the `i`-th) from
/// `concurrency` clients; `expect` is the status counted as ok.
pub async fn drive(
    base: &str,
    concurrency: u64,
    requests: u64,
    expect: u16,
    make: Arc<dyn Fn(u64) -> Req + Send + Sync>,
) -> Run {
    let client = reqwest::Client::new();
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let (client, base, make) = (client.clone(), base.to_string(), make.clone());
        tasks.push(tokio::spawn(async move {
            let mut ok = 0u64;
            let mut lat = Vec::new();
            let mut i = w;
            while i < requests {
                let req = make(i);
                let t = Instant::now();
                let r = client
                    .post(format!("{base}{}", req.path))
                    .bearer_auth(&req.bearer)
                    .header("Idempotency-Key", req.idem)
                    .header("Content-Type", "application/json")
                    .body(req.body)
                    .send()
                    .await
                    .unwrap();
                if r.status().as_u16() == expect {
                    ok += 1;
                }
                let _ = r.bytes().await;
                lat.push(t.elapsed());
                i += concurrency;
            }
            (ok, lat)
        }));
    }
    let mut ok = 0;
    let mut latencies = Vec::new();
    for t in tasks {
        let (o, l) = t.await.unwrap();
        ok += o;
        latencies.extend(l);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    Run {
        elapsed,
        ok,
        latencies,
    }
}
