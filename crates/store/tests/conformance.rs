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
