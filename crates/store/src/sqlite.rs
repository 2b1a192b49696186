//! The embedded SQLite journal.

use crate::snapshot::{SNAPSHOTS_KEPT, join_chunks, newest};
use crate::{
    Journal, MemorySnapshots, Record, SNAPSHOT_CHUNK_MAX, Snapshot, SnapshotWriter, StoreError,
};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The embedded journal: one SQLite file in WAL mode with
/// `synchronous=FULL` (a returned append is on disk). Snapshots live in a
/// second file beside it, `snapshots.sqlite` (see [`crate::SnapshotWriter`]).
pub struct SqliteJournal {
    conn: Connection,
    last_seq: u64,
    snapshots: Place,
}

/// Where this journal's snapshots go.
enum Place {
    File(PathBuf),
    Memory(MemorySnapshots),
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS journal (
    seq     INTEGER PRIMARY KEY,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// Where releases before the snapshot file kept snapshots: read (never
/// written) so an old data directory starts from its last snapshot.
const LEGACY_SNAPSHOTS: &str = "snapshots";

const SNAPSHOT_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS snapshot (
    seq    INTEGER PRIMARY KEY,
    digest BLOB NOT NULL,
    len    INTEGER NOT NULL,
    chunks INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot_chunk (
    seq   INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    bytes BLOB NOT NULL,
    PRIMARY KEY (seq, idx)
);
";

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
            snapshots: Place::File(path.with_file_name("snapshots.sqlite")),
        })
    }

    /// An in-memory journal for tests and benchmarks of the engine path
    /// without a disk.
    pub fn in_memory() -> Result<SqliteJournal, StoreError> {
        let conn = Connection::open_in_memory()?;
        conn.execute_batch(SCHEMA)?;
        Ok(SqliteJournal {
            conn,
            last_seq: 0,
            snapshots: Place::Memory(MemorySnapshots::default()),
        })
    }

    /// The newest snapshot an older release kept in the journal file.
    fn legacy_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        let exists: Option<i64> = self
            .conn
            .query_row(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1",
                params![LEGACY_SNAPSHOTS],
                |r| r.get(0),
            )
            .optional()?;
        if exists.is_none() {
            return Ok(None);
        }
        let row = self
            .conn
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
            .optional()?;
        Ok(row.and_then(|(seq, digest, bytes)| {
            let len = bytes.len() as u64;
            join_chunks(seq as u64, &digest, len, vec![bytes], 1)
        }))
    }
}

/// Snapshots in their own SQLite file: written by their own connection, so
/// the journal's writer never waits for them.
struct SqliteSnapshots {
    conn: Connection,
}

impl SqliteSnapshots {
    fn open(path: &Path) -> Result<SqliteSnapshots, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(30))?;
        // A rollback journal, not WAL: a gigabyte transaction would leave a
        // gigabyte WAL file behind. FULL: the commit is on disk.
        conn.pragma_update(None, "journal_mode", "DELETE")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SNAPSHOT_SCHEMA)?;
        Ok(SqliteSnapshots { conn })
    }

    fn latest(&self) -> Result<Option<Snapshot>, StoreError> {
        let header = self
            .conn
            .query_row(
                "SELECT seq, digest, len, chunks FROM snapshot ORDER BY seq DESC LIMIT 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Vec<u8>>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                },
            )
            .optional()?;
        let Some((seq, digest, len, count)) = header else {
            return Ok(None);
        };
        let mut stmt = self
            .conn
            .prepare("SELECT bytes FROM snapshot_chunk WHERE seq = ?1 ORDER BY idx")?;
        let chunks = stmt
            .query_map(params![seq], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok(join_chunks(
            seq as u64,
            &digest,
            len as u64,
            chunks,
            count as u64,
        ))
    }
}

impl SnapshotWriter for SqliteSnapshots {
    fn save(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let seq = seq_i64(snapshot.seq);
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM snapshot_chunk WHERE seq = ?1", params![seq])?;
        let mut count: i64 = 0;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO snapshot_chunk (seq, idx, bytes) VALUES (?1, ?2, ?3)",
            )?;
            for chunk in snapshot.bytes.chunks(SNAPSHOT_CHUNK_MAX) {
                insert.execute(params![seq, count, chunk])?;
                count = count.saturating_add(1);
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO snapshot (seq, digest, len, chunks) VALUES (?1, ?2, ?3, ?4)",
            params![
                seq,
                snapshot.digest.as_slice(),
                i64::try_from(snapshot.bytes.len()).unwrap_or(i64::MAX),
                count
            ],
        )?;
        tx.execute(
            "DELETE FROM snapshot WHERE seq NOT IN \
             (SELECT seq FROM snapshot ORDER BY seq DESC LIMIT ?1)",
            params![SNAPSHOTS_KEPT],
        )?;
        tx.execute(
            "DELETE FROM snapshot_chunk WHERE seq NOT IN (SELECT seq FROM snapshot)",
            [],
        )?;
        tx.commit()?;
        Ok(())
    }
}

fn seq_i64(seq: u64) -> i64 {
    // Sequence numbers count commands; they stay far below i64::MAX.
    i64::try_from(seq).unwrap_or(i64::MAX)
}

impl Journal for SqliteJournal {
    fn append(&mut self, records: &[Record]) -> Result<(), StoreError> {
        crate::check_consecutive(self.last_seq, records)?;
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

    fn snapshot_writer(&self) -> Result<Box<dyn SnapshotWriter>, StoreError> {
        Ok(match &self.snapshots {
            Place::File(path) => Box::new(SqliteSnapshots::open(path)?),
            Place::Memory(m) => Box::new(m.clone()),
        })
    }

    fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError> {
        let current = match &self.snapshots {
            Place::File(path) if path.exists() => SqliteSnapshots::open(path)?.latest()?,
            Place::File(_) => None,
            Place::Memory(m) => m.latest(),
        };
        Ok(newest(current, self.legacy_snapshot()?))
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
