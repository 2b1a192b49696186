//! Verification requests per second over loopback: `POST /v1/verifications`
//! through the whole server (auth, phone normalization, identity keys, the
//! code's HMAC, the journaled `StartVerification` with its rate-limit
//! checks, fsync'd group commit, then the file driver appending the SMS to
//! `sms-outbox.jsonl`). Every request has its own phone and its own /24,
//! so none is rate-limited. Once per concurrency setting, in one run.
//! `cargo bench -p atobarai-server --bench verifications`
//! (`ATOBARAI_BENCH_REQUESTS` sets N, default 20,000.)

mod loopback;

use atobarai_server::IdentitySecret;
use loopback::{Req, add_merchant, drive, open_node, serve};
use std::sync::Arc;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let requests: u64 = std::env::var("ATOBARAI_BENCH_REQUESTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    println!("POST /v1/verifications over loopback, {requests} requests per run, file SMS driver");
    for concurrency in [16u64, 64] {
        let dir = tempfile::tempdir().unwrap();
        let node = open_node(dir.path(), Default::default());
        let (_, bearer) = add_merchant(&node, "bench");
        let run = rt.block_on(async {
            let base = serve(node.clone(), IdentitySecret::new("bench-identity-secret")).await;
            let make = Arc::new(move |i: u64| Req {
                path: "/v1/verifications".into(),
                bearer: bearer.clone(),
                idem: format!("v-{i}"),
                body: format!(
                    r#"{{"phone": "0901{:07}", "ip": "10.{}.{}.1"}}"#,
                    i,
                    (i >> 8) & 0xFF,
                    i & 0xFF
                ),
            });
            drive(&base, concurrency, requests, 201, make).await
        });
        let outbox = std::fs::read_to_string(dir.path().join("sms-outbox.jsonl"))
            .map(|t| t.lines().count())
            .unwrap_or(0);
        println!(
            "connections {concurrency:>3}: {:>8.0} requests/s ({} created, {outbox} SMS in the outbox), p50 {:?}, p99 {:?}",
            run.rate(),
            run.ok,
            run.pct(50),
            run.pct(99),
        );
        assert_eq!(
            run.ok, requests,
            "every request is a fresh phone and network"
        );
        node.shutdown();
    }
}
