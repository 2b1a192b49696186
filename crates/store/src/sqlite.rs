//! The embedded SQLite journal.

use crate::{Journal, Record, Snapshot, StoreError};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::time::Duration;

/// The embedded journal: one SQLite file in WAL mode with
/// `synchronous=FULL` (a returned append is on disk).
pub struct SqliteJournal {
    conn: Connection,
    last_seq: u64,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS journal (
    seq     INTEGER PRIMARY KEY,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshots (
    seq    INTEGER PRIMARY KEY,
    digest BLOB NOT NULL,
    bytes  BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// Snapshots kept besides the newest (older ones are deleted).
const SNAPSHOTS_KEPT: u64 = 2;

impl SqliteJournal {
    /// Open (creating the file and tables if needed) the journal at `path`.
    pub fn open(path: &Path) -> Result<SqliteJournal, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // WAL + FULL: a committed transaction is fsynced before commit returns.
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        let last_seq: Option<i64> =
            conn.query_row("SELECT MAX(seq) FROM journal", [], |r| r.get(0))?;
        Ok(SqliteJournal {
            conn,
            last_seq: last_seq.map_or(0, |s| s as u64),
        })
    }

    /// An in-memory journal for tests and benchmarks of the engine path
    /// without a disk.
    pub fn in_memory() -> Result<SqliteJournal, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteJournal { conn, last_seq: 0 })
    }
}

fn seq_i64(seq: u64) -> i64 {
    // Sequence numbers count commands; they stay far below i64::MAX.
    i64::try_from(seq).unwrap_or(i64::MAX)
}

impl Journal for SqliteJournal {
    fn append(&mut self, records: &[Record]) -> Result<(), StoreError> {
        for (expected, r) in (self.last_seq + 1..).zip(records) {
            if r.seq != expected {
                return Err(StoreError::Sequence {
                    expected,
                    got: r.seq,
                });
            }
        }
        let tx = self.conn.transaction()?;
        {
            let mut stmt =
                tx.prepare_cached("INSERT INTO journal (seq, payload) VALUES (?1, ?2)")?;
            for r in records {
                stmt.execute(params![seq_i64(r.seq), r.payload])?;
            }
        }
        tx.commit()?;
        if let Some(last) = records.last() {
            self.last_seq = last.seq;
        }
        Ok(())
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        Ok(self.last_seq)
    }

    fn read_after(
        &self,
        after: u64,
        f: &mut dyn FnMut(Record) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT seq, payload FROM journal WHERE seq > ?1 ORDER BY seq")?;
        let mut rows = stmt.query(params![seq_i64(after)])?;
        while let Some(row) = rows.next()? {
            let seq: i64 = row.get(0)?;
            let payload: Vec<u8> = row.get(1)?;
            f(Record {
                seq: seq as u64,
                payload,
            })?;
        }
        Ok(())
    }

    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT OR REPLACE INTO snapshots (seq, digest, bytes) VALUES (?1, ?2, ?3)",
            params![
                seq_i64(snapshot.seq),
                snapshot.digest.as_slice(),
                snapshot.bytes
            ],
        )?;
        tx.execute(
            "DELETE FROM snapshots WHERE seq NOT IN \
             (SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?1)",
            params![seq_i64(SNAPSHOTS_KEPT + 1)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        self.conn
            .query_row(
                "SELECT seq, digest, bytes FROM snapshots ORDER BY seq DESC LIMIT 1",
                [],
                |row| {
                    let seq: i64 = row.get(0)?;
                    let digest: Vec<u8> = row.get(1)?;
                    let bytes: Vec<u8> = row.get(2)?;
                    Ok((seq, digest, bytes))
                },
            )
            .optional()?
            .map(|(seq, digest, bytes)| {
                let mut d = [0u8; 32];
                if digest.len() == 32 {
                    d.copy_from_slice(&digest);
                }
                Ok(Snapshot {
                    seq: seq as u64,
                    digest: d,
                    bytes,
                })
            })
            .transpose()
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", params![key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2) \
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}
