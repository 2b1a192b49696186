//! The journal conformance suite: every backend must pass it unchanged.

use atobarai_store::{DataDir, Journal, Record, Snapshot, SqliteJournal, StoreError};

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
    assert_eq!(j.last_seq().unwrap(), 3);
    assert_eq!(all_after(&j, 0).len(), 3);
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
    assert_eq!(j.last_seq().unwrap(), 3);
    assert_eq!(all_after(&j, 1).len(), 2);
    drop(j);
    atobarai_store::PgJournal::drop_schema(&url, &schema).unwrap();
}
