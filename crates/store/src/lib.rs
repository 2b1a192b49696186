//! `atobarai-store` keeps the write-ahead journal of commands and the engine
//! snapshots. It stores opaque bytes in sequence order; it knows nothing of
//! what a command means (no business rules here).
//!
//! The embedded backend is one SQLite file, `journal.sqlite`, in the data
//! directory, in WAL mode with `synchronous=FULL`: when
//! [`Journal::append`] returns, the batch is on disk. Many commands share one
//! transaction (group commit), so throughput is bound by the disk's
//! bandwidth rather than by fsync latency.
//!
//! A data directory is used by one process at a time: [`DataDir::open`]
//! takes an exclusive lock on `DIR/LOCK` for as long as the value lives.

#![deny(missing_docs, unreachable_pub)]

mod postgres;
mod sqlite;

pub use postgres::PgJournal;
pub use sqlite::SqliteJournal;

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("data directory {0} is in use by another atobarai process")]
    Locked(PathBuf),
    #[error("journal is out of sequence: expected {expected}, got {got}")]
    Sequence { expected: u64, got: u64 },
    #[error("i/o error on {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("postgres: {0}")]
    Postgres(String),
}

/// One journaled command: its sequence number (1, 2, 3 … with no gaps) and
/// its encoded bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub payload: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The sequence number of the last command included.
    pub seq: u64,
    pub digest: [u8; 32],
    pub bytes: Vec<u8>,
}

/// A durable, append-only log of commands plus snapshots. A new backend
/// (PostgreSQL, a replicated log) implements this trait and passes the
/// conformance tests in `tests/conformance.rs`.
pub trait Journal: Send {
    /// Append `records` (consecutive, starting at `last_seq() + 1`) durably,
    /// all or nothing.
    fn append(&mut self, records: &[Record]) -> Result<(), StoreError>;
    /// The highest sequence number stored (0 when empty).
    fn last_seq(&self) -> Result<u64, StoreError>;
    /// Call `f` for every record with `seq > after`, in order.
    fn read_after(
        &self,
        after: u64,
        f: &mut dyn FnMut(Record) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;
    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError>;
    fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError>;
    /// Small persistent settings (e.g. the clock mode a store was made with).
    fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError>;
}

/// An opened, exclusively locked data directory.
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    pub fn open(path: &Path) -> Result<DataDir, StoreError> {
        let io = |source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(path).map_err(io)?;
        let lock_path = path.join("LOCK");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked(path.to_path_buf()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        Ok(DataDir {
            path: path.to_path_buf(),
            _lock: lock,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Open (creating if needed) the embedded journal in this directory.
    pub fn journal(&self) -> Result<SqliteJournal, StoreError> {
        SqliteJournal::open(&self.path.join("journal.sqlite"))
    }
}
