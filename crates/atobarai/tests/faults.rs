//! Faults survived without a restart and without losing an acknowledged
//! command: PostgreSQL stopped and started under load (requests fail fast
//! with `503` and `Retry-After`, then succeed again on the same process);
//! the embedded store's disk full (writes refused with a clear error, reads
//! still served, no corrupt record, writes again once space is freed); a
//! torn record at the journal's tail detected and reported, never applied.

mod cluster;
mod serve;

use cluster::{Journal, Keys, authorization, customer, get, health};
use serde_json::Value;
use serve::{BIN, add_key, start};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one single-shot request came to.
#[derive(Clone, Debug)]
struct Shot {
    status: u16,
    code: String,
    retry_after: bool,
    took: Duration,
    order: Option<String>,
}

async fn shoot(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    body: &Value,
    idem: &str,
) -> Option<Shot> {
    let started = Instant::now();
    let resp = http
        .post(format!("{base}/v1/authorizations"))
        .bearer_auth(key)
        .header("Idempotency-Key", idem)
        .timeout(Duration::from_secs(60))
        .json(body)
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    let retry_after = resp.headers().get("retry-after").is_some();
    let v: Value = resp.json().await.unwrap_or(Value::Null);
    Some(Shot {
        status,
        code: v["error"]["code"].as_str().unwrap_or("").to_string(),
        retry_after,
        took: started.elapsed(),
        order: v["order_id"].as_str().map(str::to_string),
    })
}

async fn register(http: &reqwest::Client, base: &str, key: &str, i: usize) -> String {
    let v: Value = http
        .post(format!("{base}/v1/customers"))
        .bearer_auth(key)
        .header("Idempotency-Key", format!("reg-{i}"))
        .json(&customer(i))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{v}"))
        .to_string()
}

/// Clients authorizing in a loop, one attempt per request; every answer.
fn load(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    customers: &[String],
    stop: &Arc<AtomicBool>,
) -> (Arc<Mutex<Vec<Shot>>>, Vec<tokio::task::JoinHandle<()>>) {
    let shots: Arc<Mutex<Vec<Shot>>> = Arc::default();
    let mut tasks = Vec::new();
    for (c, cust) in customers.iter().enumerate() {
        let (http, base, key, cust, stop, shots) = (
            http.clone(),
            base.to_string(),
            key.to_string(),
            cust.clone(),
            stop.clone(),
            shots.clone(),
        );
        tasks.push(tokio::spawn(async move {
            for n in 0.. {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                let order = format!("o-{c}-{n}");
                match shoot(&http, &base, &key, &authorization(&cust, &order), &order).await {
                    Some(s) => {
                        let refused = s.status == 503;
                        shots.lock().unwrap().push(s);
                        if refused {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                    None => tokio::time::sleep(Duration::from_millis(20)).await,
                }
            }
        }));
    }
    (shots, tasks)
}

async fn wait_for(what: &str, within: Duration, mut done: impl AsyncFnMut() -> bool) {
    let started = Instant::now();
    while !done().await {
        assert!(started.elapsed() < within, "{what}: not within {within:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every acknowledged authorization is there, with the answer given.
async fn all_acknowledged_present(
    http: &reqwest::Client,
    base: &str,
    key: &str,
    shots: &[Shot],
) -> usize {
    let mut n = 0;
    for s in shots.iter().filter(|s| s.status == 200) {
        let id = s.order.as_ref().unwrap();
        let v = get(http, base, &format!("/v1/orders/{id}"), key).await;
        assert!(v.is_some(), "acknowledged order {id} is missing");
        n += 1;
    }
    n
}

// ----- a PostgreSQL server of the test's own -------------------------------

/// A PostgreSQL server in a temporary directory, on a port of its own, so
/// it can be stopped and started without touching the machine's.
struct PrivatePg {
    _dir: tempfile::TempDir,
    data: PathBuf,
    bin: PathBuf,
    port: u16,
    as_postgres: bool,
}

impl PrivatePg {
    fn start() -> Option<PrivatePg> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|b| b.join("initdb").exists())
            .max()?;
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        // initdb refuses to run as root: run the server as `postgres`.
        let root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
        if root {
            let chown = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .ok()?;
            assert!(chown.success());
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = PrivatePg {
            _dir: dir,
            data,
            bin,
            port,
            as_postgres: root,
        };
        let init = pg.run(
            "initdb",
            &["-A", "trust", "-U", "postgres", "--no-sync", "-D"],
        );
        assert!(init, "initdb failed");
        assert!(pg.start_server(), "pg_ctl start failed");
        Some(pg)
    }

    /// Start the (initialized, stopped) server on its port.
    fn start_server(&self) -> bool {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.data.parent().unwrap().display()
        );
        self.ctl(&["-o", &options, "-l"], true, "start")
    }

    fn run(&self, tool: &str, args: &[&str]) -> bool {
        let exe = self.bin.join(tool);
        let mut cmd = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args).arg(&self.data);
        cmd.stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `pg_ctl ARGS [LOGFILE] -D DATA -w ACTION`.
    fn ctl(&self, args: &[&str], log: bool, action: &str) -> bool {
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if log {
            all.push(
                self.data
                    .parent()
                    .unwrap()
                    .join("log")
                    .display()
                    .to_string(),
            );
        }
        all.extend([
            "-w".into(),
            "-m".into(),
            "fast".into(),
            action.into(),
            "-D".into(),
        ]);
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        self.run("pg_ctl", &refs)
    }

    fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["-m", "immediate", "-w", "stop", "-D"]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_load_fails_fast_then_recovers_without_a_restart() {
    let Some(pg) = PrivatePg::start() else {
        eprintln!(
            "SKIPPED postgres restart: no PostgreSQL server binaries (initdb) on this machine"
        );
        return;
    };
    let journal = Journal::postgres(&pg.url(), "atobarai");
    let keys = Keys::add(&journal);
    let node = journal.start(&[]);
    let base = node.url.clone();
    let http = reqwest::Client::new();
    let mut customers = Vec::new();
    for i in 0..4 {
        customers.push(register(&http, &base, &keys.merchant, i).await);
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (shots, tasks) = load(&http, &base, &keys.merchant, &customers, &stop);
    wait_for(
        "load before the fault",
        Duration::from_secs(30),
        async || shots.lock().unwrap().len() >= 100,
    )
    .await;

    // PostgreSQL goes away for two seconds, then comes back.
    assert!(pg.ctl(&[], false, "stop"), "pg_ctl stop failed");
    let stopped = shots.lock().unwrap().len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let h = health(&http, &base)
        .await
        .expect("reads go on while the journal is down");
    assert_eq!(h["role"], "recovering", "{h}");
    assert!(pg.start_server(), "pg_ctl start failed");
    let restarted = Instant::now();
    wait_for(
        "writes after PostgreSQL is back",
        Duration::from_secs(30),
        async || {
            shots.lock().unwrap()[stopped..]
                .iter()
                .any(|s| s.status == 200)
        },
    )
    .await;
    let recovered_in = restarted.elapsed();
    // Some more load on the recovered node.
    let after = shots.lock().unwrap().len();
    wait_for("load after recovery", Duration::from_secs(30), async || {
        shots.lock().unwrap().len() >= after + 50
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.unwrap();
    }

    let shots = shots.lock().unwrap().clone();
    let refused: Vec<&Shot> = shots.iter().filter(|s| s.status == 503).collect();
    assert!(
        !refused.is_empty(),
        "no request was refused while PostgreSQL was down"
    );
    for s in &shots {
        assert!(
            s.status == 200 || s.status == 503,
            "unexpected answer {s:?}"
        );
    }
    for s in &refused {
        assert!(s.retry_after, "503 without Retry-After: {s:?}");
        assert_eq!(s.code, "journal_unavailable");
    }
    // Fail fast: while the journal is down a request is refused at once,
    // not held until a timeout.
    let mut took: Vec<Duration> = refused.iter().map(|s| s.took).collect();
    took.sort_unstable();
    let median = took[took.len() / 2];
    assert!(
        median < Duration::from_millis(500),
        "refusals took {median:?} (median)"
    );
    let present = all_acknowledged_present(&http, &base, &keys.merchant, &shots).await;
    eprintln!(
        "postgres down 2 s under load: {} requests, {present} acknowledged (all present), {} refused \
         with 503 (median {:?}, max {:?}); writes again {:?} after the server was back",
        shots.len(),
        refused.len(),
        median,
        took[took.len() - 1],
        recovered_in
    );
    let h = health(&http, &base).await.unwrap();
    assert_eq!(h["role"], "leader");
    drop(node);
}

// ----- the embedded store's disk full --------------------------------------

/// A small tmpfs mounted for the test (needs root); unmounted on drop.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fill what is left of the disk; the filler's path.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut f = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 16 * 1024];
        while f.write_all(&chunk).is_ok() {}
        let mut small = [0u8; 512];
        small.fill(1);
        while f.write_all(&small).is_ok() {}
        let _ = f.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_serves_reads_and_corrupts_nothing() {
    let Some(disk) = SmallDisk::mount("24m") else {
        eprintln!("SKIPPED full disk: cannot mount a tmpfs here (needs root)");
        return;
    };
    let data = disk.path().join("data");
    let key = add_key(&data, &["merchant", "add", "shop"]);
    let (mut child, base) = start(&data);
    let http = reqwest::Client::new();
    let cust = register(&http, &base, &key, 0).await;
    let mut acked = Vec::new();
    for n in 0..20 {
        let o = format!("before-{n}");
        let s = shoot(&http, &base, &key, &authorization(&cust, &o), &o)
            .await
            .unwrap();
        assert_eq!(s.status, 200);
        acked.push(s);
    }

    let filler = disk.fill();
    // Writes go on until the journal needs space it cannot get.
    let mut refusal = None;
    for n in 0..20_000 {
        let o = format!("full-{n}");
        let s = shoot(&http, &base, &key, &authorization(&cust, &o), &o)
            .await
            .unwrap();
        match s.status {
            200 => acked.push(s),
            503 => {
                refusal = Some(s);
                break;
            }
            other => panic!("unexpected {other}: {s:?}"),
        }
    }
    let refusal = refusal.expect("the full disk never refused a write");
    assert_eq!(refusal.code, "journal_unavailable");
    assert!(refusal.retry_after);
    // While full: reads are served, writes refused at once. The node
    // probes the journal with a small settings write while recovering,
    // which a full disk may still take: it can go back to leading until
    // the next append fails, so either role is right here.
    let h = health(&http, &base)
        .await
        .expect("healthz while the disk is full");
    assert!(h["role"] == "recovering" || h["role"] == "leader", "{h}");
    let first = acked[0].order.clone().unwrap();
    assert!(
        get(&http, &base, &format!("/v1/orders/{first}"), &key)
            .await
            .is_some()
    );
    let s = shoot(
        &http,
        &base,
        &key,
        &authorization(&cust, "while-full"),
        "while-full",
    )
    .await
    .unwrap();
    assert_eq!((s.status, s.code.as_str()), (503, "journal_unavailable"));
    assert!(
        s.took < Duration::from_secs(2),
        "refused after {:?}",
        s.took
    );

    // Space freed: writes resume on the same process.
    std::fs::remove_file(&filler).unwrap();
    let mut resumed = false;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(30) {
        let s = shoot(&http, &base, &key, &authorization(&cust, "after"), "after")
            .await
            .unwrap();
        if s.status == 200 {
            acked.push(s);
            resumed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(resumed, "writes did not resume after space was freed");
    let present = all_acknowledged_present(&http, &base, &key, &acked).await;
    child.kill().unwrap();
    child.wait().unwrap();

    // Nothing corrupt: the journal replays and checks.
    let verify = Command::new(BIN)
        .args(["verify", "--data-dir"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "verify after the full disk: {}",
        String::from_utf8_lossy(&verify.stderr)
    );
    eprintln!("full disk: {present} acknowledged authorizations present; journal verified");
}

// ----- a torn record at the tail ---------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_torn_record_at_the_tail_is_reported_and_never_applied() {
    let dir = tempfile::tempdir().unwrap();
    let key = add_key(dir.path(), &["merchant", "add", "shop"]);
    let (mut child, base) = start(dir.path());
    let http = reqwest::Client::new();
    let cust = register(&http, &base, &key, 0).await;
    for n in 0..5 {
        let o = format!("o-{n}");
        assert_eq!(
            shoot(&http, &base, &key, &authorization(&cust, &o), &o)
                .await
                .unwrap()
                .status,
            200
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // The last record loses its second half, as a torn write would leave it.
    let conn = rusqlite::Connection::open(dir.path().join("journal.sqlite")).unwrap();
    let last: i64 = conn
        .query_row("SELECT MAX(seq) FROM journal", [], |r| r.get(0))
        .unwrap();
    conn.execute(
        "UPDATE journal SET payload = substr(payload, 1, length(payload) / 2) WHERE seq = ?1",
        [last],
    )
    .unwrap();
    drop(conn);

    let started = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env("ATOBARAI_LOG", "error")
        .output()
        .unwrap();
    assert!(!started.status.success(), "serve started on a torn journal");
    let err = String::from_utf8_lossy(&started.stderr);
    assert!(
        err.contains(&format!("journal record {last} cannot be decoded")),
        "serve must name the torn record: {err}"
    );
    let verify = Command::new(BIN)
        .args(["verify", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!verify.status.success());
    let err = String::from_utf8_lossy(&verify.stderr);
    assert!(
        err.contains(&last.to_string()),
        "verify must name record {last}: {err}"
    );
}
