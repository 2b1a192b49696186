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
//!
//! Three backends implement [`Journal`] and pass the same conformance
//! suite: [`SqliteJournal`] (embedded, one node), [`PgJournal`] (tables in a
//! PostgreSQL schema, guarded by an advisory lock; the database's
//! replication gives standbys; TLS by the URL's `sslmode`) and
//! [`NatsJournal`] (one NATS JetStream stream whose message sequence is the
//! record's, so a replicated stream is a replicated journal; every append
//! is fenced by the server's expected-last-sequence check, so two writers
//! can never both append the same record). The networked backends set
//! explicit connect and request timeouts: a server that stops answering
//! fails the call, and the node stops (fail-stop) rather than hang.

#![deny(missing_docs, unreachable_pub)]

mod nats;
mod postgres;
mod snapshot;
mod sqlite;
mod vault;

pub use nats::NatsJournal;
pub use postgres::{Member, PgJournal};
pub use snapshot::{MemorySnapshots, SNAPSHOT_CHUNK_MAX, SnapshotWriter};
pub use sqlite::SqliteJournal;
pub use vault::{MemoryVault, NatsVault, PgVault, SqliteVault, Vault, WrappedKey};

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

/// Why the store could not do what was asked. An `append` that fails wrote
/// nothing; the node treats any journal error as fatal (fail-stop).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another process holds the data directory's `LOCK`.
    #[error("data directory {0} is in use by another atobarai process")]
    Locked(PathBuf),
    /// An append did not continue the journal's sequence.
    #[error("journal is out of sequence: expected {expected}, got {got}")]
    Sequence {
        /// The next sequence number the journal accepts.
        expected: u64,
        /// The sequence number offered.
        got: u64,
    },
    /// A file-system operation on `path` failed.
    #[error("i/o error on {path}: {source}")]
    Io {
        /// The file or directory involved.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The embedded SQLite database reported an error.
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The PostgreSQL backend reported an error (as text: the client's
    /// error type does not cross its worker thread).
    #[error("postgres: {0}")]
    Postgres(String),
    /// The NATS JetStream backend reported an error (as text, like
    /// [`StoreError::Postgres`]).
    #[error("nats: {0}")]
    Nats(String),
    /// Another member took the journal over (a higher epoch): this handle
    /// may not append any more. Nothing of the refused batch was written.
    #[error("journal leadership (epoch {epoch}) was taken over by another member; not appending")]
    Fenced {
        /// The epoch this handle held.
        epoch: u64,
    },
    /// This handle does not lead the journal (another member does): only
    /// the leader appends.
    #[error("this member does not lead the journal; {0}")]
    NotLeader(String),
    /// The key vault refused or could not do what was asked.
    #[error("vault: {0}")]
    Vault(String),
}

impl StoreError {
    /// Whether the error says another member leads the journal (so the
    /// caller should follow rather than retry).
    pub fn is_leadership(&self) -> bool {
        matches!(self, StoreError::Fenced { .. } | StoreError::NotLeader(_))
    }
}

/// Who leads a journal that several processes share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderInfo {
    /// The leader's epoch (fencing token): it rises with every takeover.
    pub epoch: u64,
    /// The leading member's id.
    pub holder: String,
    /// Where the leader answers (its advertised base URL).
    pub address: String,
}

/// The answer to [`Journal::lead`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lead {
    /// This handle leads the journal under `epoch`: its appends are fenced
    /// by it, so once another member takes over they fail with
    /// [`StoreError::Fenced`].
    Leader {
        /// The epoch written into every record this handle appends.
        epoch: u64,
    },
    /// Another live member leads (if the journal knows which).
    Follower(Option<LeaderInfo>),
}

/// One journaled command: its sequence number (1, 2, 3 … with no gaps) and
/// its encoded bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// Position in the journal, from 1.
    pub seq: u64,
    /// The encoded envelope; opaque to the store.
    pub payload: Vec<u8>,
}

/// An engine state as of journal record `seq`, with the digest the engine
/// checks on restore.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The sequence number of the last command included.
    pub seq: u64,
    /// The engine's digest of the state (SHA-256); opaque to the store.
    pub digest: [u8; 32],
    /// The encoded state; opaque to the store.
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
    /// A handle that saves snapshots apart from the journal (its own file
    /// or its own connection), to be driven from another thread: saving a
    /// gigabyte of state never holds up an append.
    fn snapshot_writer(&self) -> Result<Box<dyn SnapshotWriter>, StoreError>;
    /// Store `snapshot` durably (older snapshots may be pruned; the journal
    /// never is), through a fresh [`Journal::snapshot_writer`].
    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.snapshot_writer()?.save(snapshot)
    }
    /// The snapshot with the highest `seq`, if any (including snapshots an
    /// older release kept inside the journal's own tables).
    fn latest_snapshot(&self) -> Result<Option<Snapshot>, StoreError>;
    /// Small persistent settings (e.g. the clock mode a store was made with).
    fn meta(&self, key: &str) -> Result<Option<String>, StoreError>;
    /// Set (or replace) the setting `key`, durably.
    fn set_meta(&mut self, key: &str, value: &str) -> Result<(), StoreError>;

    /// Claim (or keep) the right to append. Backends with one writer by
    /// construction (the embedded store's directory lock, JetStream's
    /// expected-last-sequence check) always lead; the PostgreSQL journal
    /// shares its schema between members and grants a lease with an epoch
    /// to one of them. After a successful claim [`Journal::last_seq`] is
    /// the stored journal's end.
    fn lead(&mut self) -> Result<Lead, StoreError> {
        Ok(Lead::Leader { epoch: 0 })
    }

    /// Wait at most `within` for another member to append records after
    /// `after` (a follower tailing the journal). Returns early when told
    /// of new records; may also return with none.
    fn wait_for_records(
        &mut self,
        after: u64,
        within: std::time::Duration,
    ) -> Result<(), StoreError> {
        let _ = after;
        std::thread::sleep(within);
        Ok(())
    }

    /// The highest sequence number in storage, read afresh (what a
    /// follower measures its lag against).
    fn stored_last_seq(&self) -> Result<u64, StoreError> {
        self.last_seq()
    }
}

/// Refuse `records` unless they are consecutive from `last_seq + 1`: the
/// check every backend makes before writing anything of a batch.
pub(crate) fn check_consecutive(last_seq: u64, records: &[Record]) -> Result<(), StoreError> {
    for (expected, r) in (last_seq + 1..).zip(records) {
        if r.seq != expected {
            return Err(StoreError::Sequence {
                expected,
                got: r.seq,
            });
        }
    }
    Ok(())
}

/// An opened, exclusively locked data directory.
pub struct DataDir {
    path: PathBuf,
    _lock: File,
}

impl DataDir {
    /// Create `path` if needed and take the exclusive lock on `path/LOCK`;
    /// [`StoreError::Locked`] if another process holds it.
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

    /// The directory's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Open (creating if needed) the embedded journal in this directory.
    pub fn journal(&self) -> Result<SqliteJournal, StoreError> {
        SqliteJournal::open(&self.path.join("journal.sqlite"))
    }
}
