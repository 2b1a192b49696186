//! `atobarai verify`, `export` and `import` through the binary: a journal
//! moved between stores replays to the same digest; a damaged file is
//! refused before anything is written; verify names the first bad record.

mod journal;
mod serve;

use atobarai_core::{Category, Product};
use atobarai_engine::{Command, Engine, Envelope};
use atobarai_store::{Journal, Snapshot, SqliteJournal};
use journal::{at, capture, customer, env, gift_card, merchant, order, payment};
use serve::{ok, run};
use std::path::{Path, PathBuf};
use std::process::Output;

/// A few hundred commands: customers, orders of several kinds, captures,
/// payments and clock moves; only the candidates the engine accepts are
/// kept (a capture of a declined order would not apply).
fn history() -> Vec<Envelope> {
    let mut engine = Engine::new(Default::default());
    let mut kept = Vec::new();
    let mut keep = |e: Envelope| {
        if engine.apply(&e).is_ok() {
            kept.push(e);
        }
    };
    keep(env(at(0), merchant()));
    for n in 0..80 {
        keep(env(at(0), customer(n)));
    }
    let categories = [Category::DailyGoods, Category::Food, Category::GiftCard];
    let mut order_no = 0u64;
    for day in 1..4 {
        for c in 0..80u64 {
            let category = categories[(c as usize + day as usize) % categories.len()];
            let price = 1_000 + 700 * ((c * 7 + day as u64) % 9) as i64;
            let product = if c % 2 == 0 {
                Product::PerOrder
            } else {
                Product::Monthly
            };
            keep(env(
                at(day),
                if category == Category::GiftCard {
                    gift_card(c, order_no as u32, price)
                } else {
                    order(c, order_no as u32, category, price, product)
                },
            ));
            if c % 3 != 0 {
                keep(env(at(day), capture(order_no)));
            }
            order_no += 1;
        }
    }
    for c in 0..40u64 {
        keep(env(at(10), payment(c, 1_000, &format!("p{c}"))));
    }
    keep(env(at(40), Command::AdvanceClock { to: at(40) }));
    kept
}

struct Store {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    source: PathBuf,
    history: Vec<Envelope>,
    digest: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A data directory holding `history()`, as the node journals it.
fn store() -> Store {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let source = root.join("source");
    let history = history();
    assert!(history.len() > 300, "{} commands", history.len());
    let engine = journal::write(&source, &history);
    Store {
        digest: hex(&engine.digest()),
        _tmp: tmp,
        root,
        source,
        history,
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The digest a `verify` or `import` printed.
fn digest_of(stdout: &str) -> String {
    stdout
        .lines()
        .find(|l| l.starts_with("digest"))
        .and_then(|l| l.split_whitespace().last())
        .unwrap_or_else(|| panic!("no digest in {stdout}"))
        .to_string()
}

/// `output` failed cleanly (an error, not a panic); its stderr.
fn refused(output: &Output) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    stderr
}

/// Records in the data directory `dir`'s journal (0 when there is none).
fn records_in(dir: &Path) -> u64 {
    let path = dir.join("journal.sqlite");
    if !path.exists() {
        return 0;
    }
    SqliteJournal::open(&path).unwrap().last_seq().unwrap()
}

fn export(store: &Store) -> PathBuf {
    let file = store.root.join("journal.atbj");
    ok(&run(&[
        "export",
        "--data-dir",
        s(&store.source),
        "--out",
        s(&file),
    ]));
    file
}

#[test]
fn an_exported_journal_imports_and_replays_to_the_same_digest() {
    let store = store();
    let verified = ok(&run(&[
        "verify",
        "--data-dir",
        s(&store.source),
        "--every",
        "50",
    ]));
    assert_eq!(digest_of(&verified), store.digest, "{verified}");
    assert!(
        verified.contains(&format!("records           {}", store.history.len())),
        "{verified}"
    );
    assert!(verified.contains("authorize"), "{verified}");
    assert!(verified.contains("no (none stored)"), "{verified}");

    let file = export(&store);
    // An existing --out is never overwritten.
    let again = run(&["export", "--data-dir", s(&store.source), "--out", s(&file)]);
    assert!(refused(&again).contains("exists"));

    let target = store.root.join("target");
    let imported = ok(&run(&[
        "import",
        "--in",
        s(&file),
        "--data-dir",
        s(&target),
        "--expect-digest",
        &store.digest,
    ]));
    assert_eq!(digest_of(&imported), store.digest, "{imported}");
    assert_eq!(records_in(&target), store.history.len() as u64);
    let reverified = ok(&run(&["verify", "--data-dir", s(&target)]));
    assert_eq!(digest_of(&reverified), store.digest);

    // A wrong expectation fails, naming both digests.
    let other = store.root.join("other");
    let wrong = run(&[
        "import",
        "--in",
        s(&file),
        "--data-dir",
        s(&other),
        "--expect-digest",
        &"0".repeat(64),
    ]);
    assert!(refused(&wrong).contains(&store.digest));
}

/// A unique schema per run, dropped afterwards.
#[test]
fn an_exported_journal_imports_into_postgres() {
    let Ok(url) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("skipped an_exported_journal_imports_into_postgres: TEST_DATABASE_URL not set");
        return;
    };
    let store = store();
    let file = export(&store);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let schema = format!("jt_{}_{nanos}", std::process::id());
    let imported = run(&[
        "import",
        "--in",
        s(&file),
        "--journal",
        &url,
        "--schema",
        &schema,
    ]);
    let verified = run(&["verify", "--journal", &url, "--schema", &schema]);
    // Into a non-empty schema: refused.
    let twice = run(&[
        "import",
        "--in",
        s(&file),
        "--journal",
        &url,
        "--schema",
        &schema,
    ]);
    atobarai_store::PgJournal::drop_schema(&url, &schema).unwrap();
    assert_eq!(digest_of(&ok(&imported)), store.digest);
    assert_eq!(digest_of(&ok(&verified)), store.digest);
    assert!(refused(&twice).contains("not empty"));
}

/// Where each record's frame starts in an export file (after the 8-byte
/// magic: seq u64, len u32, payload, crc u32).
fn frames(bytes: &[u8]) -> Vec<usize> {
    let mut at = 8;
    let mut starts = Vec::new();
    while u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) != 0 {
        starts.push(at);
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        at += 12 + len + 4;
    }
    starts
}

#[test]
fn a_damaged_file_is_refused_and_nothing_is_written() {
    let store = store();
    let file = export(&store);
    let bytes = std::fs::read(&file).unwrap();
    let starts = frames(&bytes);
    assert_eq!(starts.len(), store.history.len());
    let len = bytes.len();
    let damaged = store.root.join("damaged.atbj");
    let target = store.root.join("target");
    let try_import = |content: &[u8]| -> String {
        std::fs::write(&damaged, content).unwrap();
        let out = run(&["import", "--in", s(&damaged), "--data-dir", s(&target)]);
        let stderr = refused(&out);
        assert_eq!(records_in(&target), 0, "{stderr}");
        stderr
    };

    // A flipped bit in record 5's payload: named by seq and offset.
    let mut flipped = bytes.clone();
    flipped[starts[4] + 12] ^= 0x10;
    let e = try_import(&flipped);
    assert!(
        e.contains(&format!("byte {} (record 5)", starts[4])) && e.contains("checksum"),
        "{e}"
    );

    // Truncated inside the last record.
    let e = try_import(&bytes[..starts[starts.len() - 1] + 10]);
    assert!(e.contains("truncated"), "{e}");

    // Truncations and bit flips across the file, each refused.
    let mut cuts: Vec<usize> = vec![0, 3, 8, 9, starts[1], len - 48, len - 40, len - 33, len - 1];
    cuts.extend((1..12).map(|i| i * len / 12));
    for cut in cuts {
        let e = try_import(&bytes[..cut]);
        assert!(e.contains("damaged journal file"), "cut at {cut}: {e}");
    }
    let mut flips: Vec<usize> = vec![0, 7, 8, 12, starts[1] + 9, len - 40, len - 32, len - 1];
    flips.extend((1..12).map(|i| i * len / 12 + 3));
    for at in flips {
        let mut b = bytes.clone();
        b[at] ^= 0x01;
        let e = try_import(&b);
        assert!(e.contains("damaged journal file"), "flip at {at}: {e}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(try_import(&longer).contains("after the trailer"));

    // Not an export file at all.
    assert!(try_import(b"hello").contains("damaged journal file"));
    // The intact file still imports.
    ok(&run(&[
        "import",
        "--in",
        s(&file),
        "--data-dir",
        s(&target),
    ]));
    assert_eq!(records_in(&target), store.history.len() as u64);
}

#[test]
fn import_into_a_journal_with_records_is_refused() {
    let store = store();
    let file = export(&store);
    let out = run(&["import", "--in", s(&file), "--data-dir", s(&store.source)]);
    let e = refused(&out);
    assert!(e.contains("not empty"), "{e}");
    assert_eq!(records_in(&store.source), store.history.len() as u64);
    // And a target must be named.
    let out = run(&["import", "--in", s(&file)]);
    assert!(refused(&out).contains("--data-dir"));
}

/// A copy of the source's journal with `edit` run on record `seq`'s payload.
fn corrupted(store: &Store, name: &str, seq: u64, edit: impl FnOnce(&mut Vec<u8>)) -> PathBuf {
    let dir = store.root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(
        store.source.join("journal.sqlite"),
        dir.join("journal.sqlite"),
    )
    .unwrap();
    let conn = rusqlite::Connection::open(dir.join("journal.sqlite")).unwrap();
    let mut payload: Vec<u8> = conn
        .query_row("SELECT payload FROM journal WHERE seq = ?1", [seq], |r| {
            r.get(0)
        })
        .unwrap();
    edit(&mut payload);
    conn.execute(
        "UPDATE journal SET payload = ?1 WHERE seq = ?2",
        rusqlite::params![payload, seq],
    )
    .unwrap();
    dir
}

#[test]
fn verify_names_the_first_corrupt_record() {
    let store = store();
    // A record that no longer decodes (a format version nobody wrote).
    let dir = corrupted(&store, "undecodable", 37, |p| p[1] = 0xFE);
    let e = refused(&run(&["verify", "--data-dir", s(&dir)]));
    assert!(e.contains("record 37 does not decode"), "{e}");

    // An authorization whose recorded decision was altered.
    let seq = store
        .history
        .iter()
        .position(|e| matches!(e.command, Command::Authorize { .. }))
        .unwrap() as u64
        + 1;
    let dir = corrupted(&store, "decision", seq, |p| {
        let d = p.len() - 1;
        assert_eq!(&p[d - 2..d], &[0x01, 0x01], "a decision trailer");
        p[d] = (p[d] + 1) % 3;
    });
    let e = refused(&run(&["verify", "--data-dir", s(&dir)]));
    assert!(
        e.contains(&format!("record {seq}: decision changed")),
        "{e}"
    );
}

#[test]
fn verify_compares_the_newest_snapshot() {
    let store = store();
    let k = 150usize;
    let mut engine = Engine::new(Default::default());
    for e in &store.history[..k] {
        engine.apply(e).unwrap();
    }
    let mut journal = SqliteJournal::open(&store.source.join("journal.sqlite")).unwrap();
    let mut snapshot = Snapshot {
        seq: k as u64,
        digest: engine.digest(),
        bytes: engine.snapshot(),
    };
    journal.save_snapshot(&snapshot).unwrap();
    let out = ok(&run(&["verify", "--data-dir", s(&store.source)]));
    assert!(
        out.contains(&format!("yes (record {k}: digest equal)")),
        "{out}"
    );
    assert_eq!(digest_of(&out), store.digest);

    // Snapshots are not exported; the import still reproduces the digest.
    let file = export(&store);
    let target = store.root.join("target");
    let imported = ok(&run(&[
        "import",
        "--in",
        s(&file),
        "--data-dir",
        s(&target),
    ]));
    assert_eq!(digest_of(&imported), store.digest);

    // A stored digest that the replay does not reproduce.
    snapshot.seq += 1;
    snapshot.digest[0] ^= 1;
    journal.save_snapshot(&snapshot).unwrap();
    let e = refused(&run(&["verify", "--data-dir", s(&store.source)]));
    assert!(
        e.contains(&format!("record {}: the replayed state's digest", k + 1)),
        "{e}"
    );
}
