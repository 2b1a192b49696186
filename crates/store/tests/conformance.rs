//! The journal conformance suite: every backend must pass it unchanged.

use atobarai_store::{
    DataDir, Journal, Record, SNAPSHOT_CHUNK_MAX, Snapshot, SqliteJournal, StoreError,
};

fn rec(seq: u64, text: &str) -> Record {
    Record {
        seq,
        payload: text.as_bytes().to_vec(),
    }
}

fn all_after(j: &dyn Journal, after: u64) -> Vec<Record> {
    let mut out = Vec::new();
    j.read_after(after, &mut |r| {
        out.push(r);
        Ok(())
    })
    .unwrap();
    out
}

fn conformance(j: &mut dyn Journal) {
    assert_eq!(j.last_seq().unwrap(), 0);
    assert!(j.latest_snapshot().unwrap().is_none());
    j.append(&[rec(1, "a"), rec(2, "b")]).unwrap();
    j.append(&[]).unwrap();
    j.append(&[rec(3, "c")]).unwrap();
    assert_eq!(j.last_seq().unwrap(), 3);
    // Gaps and repeats are refused, and nothing of the batch is written.
    assert!(matches!(
        j.append(&[rec(4, "d"), rec(6, "f")]),
        Err(StoreError::Sequence {
            expected: 5,
            got: 6
        })
    ));
    assert!(matches!(
        j.append(&[rec(3, "x")]),
        Err(StoreError::Sequence { .. })
    ));
    assert_eq!(j.last_seq().unwrap(), 3);
    assert_eq!(all_after(j, 0), vec![rec(1, "a"), rec(2, "b"), rec(3, "c")]);
    assert_eq!(all_after(j, 2), vec![rec(3, "c")]);
    for seq in [1, 2, 3, 4] {
        j.save_snapshot(&Snapshot {
            seq,
            digest: [seq as u8; 32],
            bytes: vec![seq as u8],
        })
        .unwrap();
    }
    let s = j.latest_snapshot().unwrap().unwrap();
    assert_eq!((s.seq, s.digest, s.bytes), (4, [4; 32], vec![4]));
    // A snapshot larger than one stored chunk, saved through a writer of
    // its own while the journal goes on appending, reads back whole.
    let big: Vec<u8> = (0..2 * SNAPSHOT_CHUNK_MAX + 5)
        .map(|i| (i % 251) as u8)
        .collect();
    let mut writer = j.snapshot_writer().unwrap();
    let saving = std::thread::spawn({
        let big = big.clone();
        move || {
            writer
                .save(&Snapshot {
                    seq: 5,
                    digest: [5; 32],
                    bytes: big,
                })
                .unwrap();
        }
    });
    j.append(&[rec(4, "d")]).unwrap();
    saving.join().unwrap();
    let s = j.latest_snapshot().unwrap().unwrap();
    assert_eq!((s.seq, s.digest), (5, [5; 32]));
    assert!(s.bytes == big, "the chunks come back in order");
    drop(s);
    assert_eq!(all_after(j, 3), vec![rec(4, "d")]);
    assert_eq!(j.meta("clock").unwrap(), None);
    j.set_meta("clock", "manual").unwrap();
    j.set_meta("clock", "system").unwrap();
    assert_eq!(j.meta("clock").unwrap().as_deref(), Some("system"));
}

#[test]
fn sqlite_in_memory_conforms() {
    conformance(&mut SqliteJournal::in_memory().unwrap());
}

#[test]
fn sqlite_file_conforms_and_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let data = DataDir::open(dir.path()).unwrap();
        conformance(&mut data.journal().unwrap());
    }
    let data = DataDir::open(dir.path()).unwrap();
    let j = data.journal().unwrap();
    assert_eq!(j.last_seq().unwrap(), 4);
    assert_eq!(all_after(&j, 0).len(), 4);
    assert_eq!(j.latest_snapshot().unwrap().unwrap().seq, 5);
}

/// A data directory from a release that kept snapshots inside
/// `journal.sqlite` starts from that snapshot; newer snapshots go to
/// `snapshots.sqlite` and win once they are newer.
#[test]
fn sqlite_reads_snapshots_an_older_release_kept_in_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    {
        let conn = rusqlite::Connection::open(dir.path().join("journal.sqlite")).unwrap();
        conn.execute_batch(
            "CREATE TABLE journal (seq INTEGER PRIMARY KEY, payload BLOB NOT NULL);
             CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, digest BLOB NOT NULL, bytes BLOB NOT NULL);
             CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);",
        )
        .unwrap();
        conn.execute(
            "INSERT INTO snapshots (seq, digest, bytes) VALUES (7, ?1, ?2)",
            rusqlite::params![[7u8; 32].as_slice(), [1u8, 2, 3].as_slice()],
        )
        .unwrap();
    }
    let data = DataDir::open(dir.path()).unwrap();
    let mut j = data.journal().unwrap();
    let s = j.latest_snapshot().unwrap().unwrap();
    assert_eq!((s.seq, s.digest, s.bytes), (7, [7; 32], vec![1, 2, 3]));
    j.save_snapshot(&Snapshot {
        seq: 6,
        digest: [6; 32],
        bytes: vec![6],
    })
    .unwrap();
    assert_eq!(j.latest_snapshot().unwrap().unwrap().seq, 7);
    j.save_snapshot(&Snapshot {
        seq: 9,
        digest: [9; 32],
        bytes: vec![9],
    })
    .unwrap();
    assert_eq!(j.latest_snapshot().unwrap().unwrap().seq, 9);
}

#[test]
fn a_data_dir_is_locked_while_open() {
    let dir = tempfile::tempdir().unwrap();
    let first = DataDir::open(dir.path()).unwrap();
    assert!(matches!(
        DataDir::open(dir.path()),
        Err(StoreError::Locked(_))
    ));
    drop(first);
    DataDir::open(dir.path()).unwrap();
}

/// PostgreSQL: runs when TEST_DATABASE_URL is set (CI sets it); otherwise
/// says clearly that it was skipped.
#[test]
fn postgres_conforms_and_locks_its_schema() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("SKIPPED postgres_conforms_and_locks_its_schema: TEST_DATABASE_URL is not set");
        return;
    };
    let schema = format!("atb_test_{}", std::process::id());
    atobarai_store::PgJournal::drop_schema(&url, &schema).unwrap();
    {
        let mut j = atobarai_store::PgJournal::open(&url, &schema).unwrap();
        conformance(&mut j);
        assert!(matches!(
            atobarai_store::PgJournal::open(&url, &schema),
            Err(StoreError::Locked(_))
        ));
    }
    let j = atobarai_store::PgJournal::open(&url, &schema).unwrap();
    assert_eq!(j.last_seq().unwrap(), 4);
    assert_eq!(all_after(&j, 1).len(), 3);
    assert_eq!(j.latest_snapshot().unwrap().unwrap().seq, 5);
    // An older release's one-row-per-snapshot table is still read.
    let (u, sc) = (url.clone(), schema.clone());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&u, postgres::NoTls).unwrap();
        c.batch_execute(&format!(
            "CREATE TABLE {sc}.snapshots (seq BIGINT PRIMARY KEY, digest BYTEA NOT NULL, bytes BYTEA NOT NULL);
             INSERT INTO {sc}.snapshots VALUES (8, decode(repeat('08', 32), 'hex'), '\\x010203');"
        ))
        .unwrap();
    })
    .join()
    .unwrap();
    let s = j.latest_snapshot().unwrap().unwrap();
    assert_eq!((s.seq, s.digest, s.bytes), (8, [8; 32], vec![1, 2, 3]));
    drop(j);
    atobarai_store::PgJournal::drop_schema(&url, &schema).unwrap();
}

/// Runs `sql` on its own connection (a thread: the sync client must not
/// share a runtime), returning the rows' first two BIGINT columns.
fn pg_exec(url: &str, sql: &str) -> Vec<(i64, i64)> {
    let (u, q) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&u, postgres::NoTls).unwrap();
        c.query(&q, &[])
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    })
    .join()
    .unwrap()
}

/// Leadership on PostgreSQL: one member leads at a time, a follower is
/// told who leads and is woken by NOTIFY, and a leader deposed while it
/// was stalled (its lease ran out and another member claimed the lead)
/// cannot append when it resumes — the fence is the epoch, checked inside
/// the append's own transaction.
#[test]
fn postgres_members_lead_one_at_a_time_and_a_deposed_leader_cannot_append() {
    use atobarai_store::{Lead, Member, PgJournal};
    use std::time::{Duration, Instant};
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!(
            "SKIPPED postgres_members_lead_one_at_a_time_and_a_deposed_leader_cannot_append: \
             TEST_DATABASE_URL is not set"
        );
        return;
    };
    let schema = format!("atb_lead_{}", std::process::id());
    PgJournal::drop_schema(&url, &schema).unwrap();
    // A long lease: nothing renews or expires behind the test's back.
    let member = |address: &str| Member::new(address.into(), Duration::from_secs(60));
    let mut a = PgJournal::open_member(&url, &schema, member("http://a")).unwrap();
    assert_eq!(a.lead().unwrap(), Lead::Leader { epoch: 1 });
    a.append(&[rec(1, "a"), rec(2, "b")]).unwrap();

    let mut b = PgJournal::open_member(&url, &schema, member("http://b")).unwrap();
    let Lead::Follower(Some(leader)) = b.lead().unwrap() else {
        panic!("a second member must follow while the first leads");
    };
    assert_eq!((leader.epoch, leader.address.as_str()), (1, "http://a"));
    assert!(matches!(
        b.append(&[rec(3, "x")]),
        Err(StoreError::NotLeader(_))
    ));
    assert_eq!(all_after(&b, 0), vec![rec(1, "a"), rec(2, "b")]);
    assert_eq!(b.stored_last_seq().unwrap(), 2);

    // The follower is woken by the leader's append, not by its timeout.
    b.wait_for_records(2, Duration::ZERO).unwrap(); // starts listening
    a.append(&[rec(3, "c")]).unwrap();
    let started = Instant::now();
    b.wait_for_records(2, Duration::from_secs(20)).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "woken after {:?}",
        started.elapsed()
    );
    assert_eq!(all_after(&b, 2), vec![rec(3, "c")]);

    // `a` stalls past its lease (as a paused process would); `b` claims.
    pg_exec(
        &url,
        &format!("UPDATE {schema}.leader SET lease_until = '-infinity' RETURNING epoch, epoch"),
    );
    assert_eq!(b.lead().unwrap(), Lead::Leader { epoch: 2 });
    assert_eq!(b.last_seq().unwrap(), 3);
    // `a` resumes: its append is refused and writes nothing.
    assert!(matches!(
        a.append(&[rec(4, "stale")]),
        Err(StoreError::Fenced { epoch: 1 })
    ));
    b.append(&[rec(4, "d")]).unwrap();
    assert!(matches!(a.lead().unwrap(), Lead::Follower(Some(l)) if l.epoch == 2));
    assert_eq!(
        pg_exec(
            &url,
            &format!("SELECT seq, epoch FROM {schema}.journal ORDER BY seq")
        ),
        vec![(1, 1), (2, 1), (3, 1), (4, 2)]
    );
    // A leader that goes away gives its lease up: the next claims at once.
    drop(b);
    assert_eq!(a.lead().unwrap(), Lead::Leader { epoch: 3 });
    assert_eq!(a.last_seq().unwrap(), 4);
    a.append(&[rec(5, "e")]).unwrap();
    drop(a);
    PgJournal::drop_schema(&url, &schema).unwrap();
}

/// A NATS server with JetStream for the tests: the one at `TEST_NATS_URL`
/// (default `nats://127.0.0.1:4222`) if it answers, else a `nats-server -js`
/// started on a free port with a store directory of its own (stopped when
/// this value drops), else none.
struct NatsServer {
    url: String,
    child: Option<std::process::Child>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn answers(url: &str) -> bool {
    use std::net::ToSocketAddrs;
    let host_port = url
        .split("://")
        .last()
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or_default();
    host_port.to_socket_addrs().is_ok_and(|mut addrs| {
        addrs.any(|a| {
            std::net::TcpStream::connect_timeout(&a, std::time::Duration::from_secs(1)).is_ok()
        })
    })
}

fn nats_server_binary() -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([
            "/usr/sbin".into(),
            "/usr/local/bin".into(),
            "/usr/bin".into(),
        ])
        .map(|d| d.join("nats-server"))
        .find(|p| p.is_file())
}

fn nats_server(test: &str) -> Option<NatsServer> {
    let url = std::env::var("TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    if answers(&url) {
        return Some(NatsServer {
            url,
            child: None,
            _dir: None,
        });
    }
    let Some(binary) = nats_server_binary() else {
        eprintln!(
            "SKIPPED {test}: nothing answers at {url} (set TEST_NATS_URL) and no nats-server binary to start"
        );
        return None;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new(&binary)
        .args(["-js", "-a", "127.0.0.1", "-p", &port.to_string(), "-sd"])
        .arg(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = NatsServer {
        url: format!("nats://127.0.0.1:{port}"),
        child: Some(child),
        _dir: Some(dir),
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !answers(&server.url) {
        assert!(
            std::time::Instant::now() < deadline,
            "{} did not start listening on port {port}",
            binary.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    eprintln!("{test}: started {} at {}", binary.display(), server.url);
    Some(server)
}

/// A uniquely named journal stream, deleted (with its buckets) on drop.
struct NatsStream {
    url: String,
    name: String,
}

impl NatsStream {
    fn new(url: &str, test: &str) -> NatsStream {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("ATB_TEST_{test}_{}_{nanos}_{n}", std::process::id());
        atobarai_store::NatsJournal::delete(url, &name).unwrap();
        NatsStream {
            url: url.to_string(),
            name,
        }
    }

    fn open(&self) -> atobarai_store::NatsJournal {
        atobarai_store::NatsJournal::open(&self.url, &self.name).unwrap()
    }
}

impl Drop for NatsStream {
    fn drop(&mut self) {
        if let Err(e) = atobarai_store::NatsJournal::delete(&self.url, &self.name) {
            eprintln!("could not delete test stream {}: {e}", self.name);
        }
    }
}

/// NATS JetStream: runs against the server at TEST_NATS_URL or
/// 127.0.0.1:4222, or one it starts; otherwise says clearly it was skipped.
#[test]
fn nats_conforms_and_survives_reopen() {
    let Some(server) = nats_server("nats_conforms_and_survives_reopen") else {
        return;
    };
    let stream = NatsStream::new(&server.url, "conf");
    {
        let mut j = stream.open();
        conformance(&mut j);
    }
    let j = stream.open();
    assert_eq!(j.last_seq().unwrap(), 4);
    assert_eq!(all_after(&j, 1).len(), 3);
    assert_eq!(all_after(&j, 4), vec![]);
    assert_eq!(j.latest_snapshot().unwrap().unwrap().seq, 5);
    assert_eq!(j.meta("clock").unwrap().as_deref(), Some("system"));
}

/// Two handles on one stream: the server's expected-last-sequence check
/// refuses the one whose view is stale, and nothing of its batch is stored.
#[test]
fn nats_fences_a_stale_writer() {
    let Some(server) = nats_server("nats_fences_a_stale_writer") else {
        return;
    };
    let stream = NatsStream::new(&server.url, "fence");
    let mut a = stream.open();
    let mut stale = stream.open();
    a.append(&[rec(1, "a1"), rec(2, "a2")]).unwrap();
    let mut b = stream.open();
    assert_eq!(b.last_seq().unwrap(), 2);
    a.append(&[rec(3, "a3")]).unwrap();
    // B still thinks the journal ends at 2: its seq 3 is refused.
    assert!(matches!(
        b.append(&[rec(3, "b3")]),
        Err(StoreError::Sequence {
            expected: 4,
            got: 3
        })
    ));
    // A whole batch from B: its first message is refused, and the later
    // ones (which chain on it) are too, though 4 would follow A's 3.
    assert!(matches!(
        b.append(&[rec(3, "b3"), rec(4, "b4"), rec(5, "b5")]),
        Err(StoreError::Sequence {
            expected: 4,
            got: 3
        })
    ));
    // A handle opened before anything was written is refused at seq 1.
    assert!(matches!(
        stale.append(&[rec(1, "s1"), rec(2, "s2")]),
        Err(StoreError::Sequence {
            expected: 4,
            got: 1
        })
    ));
    let fresh = stream.open();
    assert_eq!(fresh.last_seq().unwrap(), 3);
    assert_eq!(
        all_after(&fresh, 0),
        vec![rec(1, "a1"), rec(2, "a2"), rec(3, "a3")]
    );
    // A goes on.
    a.append(&[rec(4, "a4")]).unwrap();
    assert_eq!(all_after(&fresh, 3), vec![rec(4, "a4")]);
}

/// A server setting, read over a plain connection.
fn server_setting(url: &str, name: &str) -> String {
    let (url, name) = (url.to_string(), name.to_string());
    std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        c.query_one(&format!("SHOW {name}"), &[])
            .unwrap()
            .get::<_, String>(0)
    })
    .join()
    .unwrap()
}

/// `url` with one more `key=value` setting.
fn with_setting(url: &str, setting: &str) -> String {
    if url.contains("://") {
        let sep = if url.contains('?') { '&' } else { '?' };
        format!("{url}{sep}{setting}")
    } else {
        format!("{url} {setting}")
    }
}

/// PostgreSQL over TLS, by the URL's `sslmode`: `require` against a server
/// without TLS fails at once with a clear error (not a hang), `prefer`
/// connects either way. Runs when TEST_DATABASE_URL is set.
#[test]
fn postgres_sslmode_require_and_prefer() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("SKIPPED postgres_sslmode_require_and_prefer: TEST_DATABASE_URL is not set");
        return;
    };
    let schema = format!("atb_tls_{}", std::process::id());
    let server_tls = server_setting(&url, "ssl") == "on";
    let started = std::time::Instant::now();
    let required = atobarai_store::PgJournal::open(&with_setting(&url, "sslmode=require"), &schema);
    if server_tls {
        eprintln!("the server has ssl=on: sslmode=require connects");
        drop(required.unwrap());
        // Its certificate is not one the public roots vouch for (a test
        // server's never is): verify-full refuses it, saying why.
        let full =
            atobarai_store::PgJournal::open(&with_setting(&url, "sslmode=verify-full"), &schema);
        let Err(StoreError::Postgres(msg)) = full else {
            panic!("sslmode=verify-full accepted a test server's certificate");
        };
        assert!(
            msg.contains("sslmode=verify-full") && msg.contains("certificate"),
            "{msg}"
        );
        eprintln!("sslmode=verify-full refused as it should be: {msg}");
        // With the server's own (self-signed) certificate as the trusted
        // root: verify-ca accepts it whatever the host is called, while
        // verify-full checks the name too.
        let cert = server_setting(&url, "ssl_cert_file");
        if std::fs::read(&cert).is_ok_and(|pem| pem.starts_with(b"-----BEGIN CERTIFICATE")) {
            let root = format!("sslrootcert={cert}");
            let ca = with_setting(&with_setting(&url, "sslmode=verify-ca"), &root);
            match atobarai_store::PgJournal::open(&ca, &schema) {
                Ok(j) => {
                    drop(j);
                    let full = with_setting(&with_setting(&url, "sslmode=verify-full"), &root);
                    let named = atobarai_store::PgJournal::open(&full, &schema);
                    eprintln!(
                        "verify-ca with {cert} as root connects; verify-full: {:?}",
                        named.as_ref().err()
                    );
                    if url.contains("@127.0.0.1") {
                        // Test certificates name "localhost" or the machine, never the IP.
                        let Err(StoreError::Postgres(msg)) = named else {
                            panic!("verify-full accepted a certificate for another name");
                        };
                        assert!(msg.contains("not valid for name"), "{msg}");
                    }
                }
                Err(e) => eprintln!("verify-ca with {cert} as root: {e} (not a self-signed root?)"),
            }
        }
    } else {
        let Err(StoreError::Postgres(msg)) = required else {
            panic!("sslmode=require connected to a server without TLS");
        };
        assert!(
            msg.contains("sslmode=require") && msg.contains("TLS"),
            "{msg}"
        );
        eprintln!("sslmode=require refused as it should be: {msg}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
    {
        let mut j = atobarai_store::PgJournal::open(&with_setting(&url, "sslmode=prefer"), &schema)
            .unwrap();
        j.append(&[rec(1, "a")]).unwrap();
        assert_eq!(all_after(&j, 0), vec![rec(1, "a")]);
    }
    atobarai_store::PgJournal::drop_schema(&url, &schema).unwrap();
}
