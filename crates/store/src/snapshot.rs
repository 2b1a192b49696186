//! Snapshots kept apart from the journal.
//!
//! A snapshot of a million customers is about a gigabyte. Written into the
//! journal's own database it held up every append behind it for seconds
//! (SQLite has one writer; the journal thread did the writing). So each
//! backend hands out a [`SnapshotWriter`]: its own file (SQLite:
//! `snapshots.sqlite` beside `journal.sqlite`) or its own connection
//! (PostgreSQL), driven from a thread of its own. Snapshots are stored in
//! chunks of at most [`SNAPSHOT_CHUNK_MAX`] bytes (PostgreSQL caps a field at
//! 1 GB, SQLite a blob at 1 GB by default), a header row last, all in one
//! transaction, so a reader sees a whole snapshot or none.

use crate::{Snapshot, StoreError};
use std::sync::{Arc, Mutex};

/// Most bytes one stored chunk of a snapshot holds.
pub const SNAPSHOT_CHUNK_MAX: usize = 64 * 1024 * 1024;

/// Snapshots kept: the newest and two before it (older ones are deleted).
pub(crate) const SNAPSHOTS_KEPT: i64 = 3;

/// Saves snapshots durably, apart from the journal (see the module docs).
pub trait SnapshotWriter: Send {
    /// Store `snapshot` durably, all or nothing, pruning older ones.
    fn save(&mut self, snapshot: &Snapshot) -> Result<(), StoreError>;
}

/// Snapshots in memory, shared by an in-memory journal and its writers
/// (tests and benchmarks without a disk).
#[derive(Clone, Default)]
pub struct MemorySnapshots(Arc<Mutex<Option<Snapshot>>>);

impl MemorySnapshots {
    /// The newest snapshot saved, if any.
    pub fn latest(&self) -> Option<Snapshot> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl SnapshotWriter for MemorySnapshots {
    fn save(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        let mut slot = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if slot.as_ref().is_none_or(|s| s.seq <= snapshot.seq) {
            *slot = Some(snapshot.clone());
        }
        Ok(())
    }
}

/// Put chunks read back in order together, checking they add up to the
/// header's length and count (a torn or pruned snapshot reads as none).
pub(crate) fn join_chunks(
    seq: u64,
    digest: &[u8],
    len: u64,
    chunks: Vec<Vec<u8>>,
    expected_chunks: u64,
) -> Option<Snapshot> {
    if chunks.len() as u64 != expected_chunks || digest.len() != 32 {
        return None;
    }
    let total: u64 = chunks.iter().map(|c| c.len() as u64).sum();
    if total != len {
        return None;
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).ok()?);
    for c in chunks {
        bytes.extend_from_slice(&c);
    }
    let mut d = [0u8; 32];
    d.copy_from_slice(digest);
    Some(Snapshot {
        seq,
        digest: d,
        bytes,
    })
}

/// The newer of two snapshots (by `seq`).
pub(crate) fn newest(a: Option<Snapshot>, b: Option<Snapshot>) -> Option<Snapshot> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if a.seq >= b.seq { a } else { b }),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_join_only_when_whole() {
        let parts = vec![vec![1, 2], vec![3]];
        let s = join_chunks(7, &[9; 32], 3, parts.clone(), 2).unwrap();
        assert_eq!((s.seq, s.bytes), (7, vec![1, 2, 3]));
        assert!(join_chunks(7, &[9; 32], 4, parts.clone(), 2).is_none());
        assert!(join_chunks(7, &[9; 32], 3, parts.clone(), 3).is_none());
        assert!(join_chunks(7, &[9; 31], 3, parts, 2).is_none());
    }

    #[test]
    fn memory_keeps_the_newest() {
        let mut m = MemorySnapshots::default();
        let snap = |seq| Snapshot {
            seq,
            digest: [0; 32],
            bytes: vec![],
        };
        m.save(&snap(5)).unwrap();
        m.save(&snap(3)).unwrap();
        assert_eq!(m.latest().unwrap().seq, 5);
    }
}
