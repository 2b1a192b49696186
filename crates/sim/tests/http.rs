//! The HTTP driver and the in-process driver agree: the same small market
//! against a real server on an ephemeral port gives the same report. Both
//! decide with the shipped rules (the server puts them in force at start;
//! the in-process engine journals them first); the per-rule table is
//! in-process only, so it is left out of the comparison.

use atobarai_engine::{Command, Outcome, Role};
use atobarai_server::{AppState, ClockMode, Node, NodeOptions, StoreSpec, auth};
use atobarai_sim::driver::http::Http;
use atobarai_sim::driver::in_process::InProcess;
use atobarai_sim::report::json;
use atobarai_sim::{Options, run};
use std::sync::Arc;

fn add_operator(node: &Node, name: &str, role: Role) -> String {
    let k = auth::mint();
    let applied = node
        .submit_blocking(
            None,
            Command::AddOperator {
                name: name.into(),
                role,
                key_id: k.key_id,
                secret_sha256: k.secret_sha256,
            },
        )
        .expect("engine running")
        .expect("operator added");
    assert!(matches!(applied.outcome, Outcome::Operator(_)));
    k.key
}

/// The report without what only the in-process driver can know (the
/// per-rule table) and the rules' label.
fn comparable(report: String) -> serde_json::Value {
    let mut v: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert!(v["rules"].is_array(), "{v}");
    v["rules"] = serde_json::Value::Array(Vec::new());
    v["market"]["rules"] = serde_json::Value::Null;
    v
}

#[test]
fn http_and_in_process_drivers_agree() {
    let opts = Options::new(120, 45, 3);

    let mut local = InProcess::with_risk_rules(
        Default::default(),
        atobarai_engine::risk::rules::DEFAULT_RULES,
    )
    .unwrap();
    let expected = comparable(json::render(
        &run(&opts, &mut local, &mut |_| {}).expect("in process"),
    ));

    let dir = tempfile::tempdir().unwrap();
    let config = atobarai_core::Config::default();
    let node = Node::open(
        NodeOptions {
            store: StoreSpec::Dir(dir.path().to_path_buf()),
            clock: ClockMode::Manual,
            config: config.clone(),
            snapshot_every: 1_000_000,
            cluster: Default::default(),
        },
        &mut |_, _| {},
    )
    .unwrap();
    let admin = add_operator(&node, "sim admin", Role::Admin);
    let payments = add_operator(&node, "sim konbini", Role::Payments);
    let node = Arc::new(node);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let app = atobarai_server::router(AppState {
        node: node.clone(),
        limits: Arc::new(config.limits.clone()),
        identity: atobarai_server::IdentitySecret::new(&config.identity.key_secret),
        webhooks: Arc::new(config.webhooks.clone()),
        documents: Default::default(),
        body_timeout: std::time::Duration::from_secs(30),
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = rt.spawn(async move {
        let _ = atobarai_server::serve(listener, app, Default::default(), async {
            let _ = stopped.await;
        })
        .await;
    });

    let mut http = Http::new(&format!("http://{addr}"), &admin, &payments, "agree").unwrap();
    let got = comparable(json::render(
        &run(&opts, &mut http, &mut |_| {}).expect("over HTTP"),
    ));
    assert!(http.requests() > 500, "{} requests", http.requests());
    let _ = stop.send(());
    let _ = rt.block_on(server);
    node.shutdown();
    assert_eq!(got, expected, "the two drivers disagree");
}
