//! Idempotency records: `(caller, Idempotency-Key)` → the request's hash and
//! the first outcome. Kept in arrival order so expiry pops from the front and
//! serialization is deterministic; the hash index is rebuilt on load.

use crate::checked::Bounded;
use crate::command::{Idem, Principal};
use crate::shard::ShardedMap;
use crate::view::Outcome;
use atobarai_core::At;
use hashbrown::Equivalent;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};

/// Records per chunk of the arrival-order queue: chunks keep growth and
/// expiry free of large copies.
const CHUNK: usize = 4096;

/// A FIFO of records in fixed-size chunks (see `seg.rs` for why).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct ChunkedQueue {
    chunks: VecDeque<Vec<IdemRecord>>,
    /// Records already popped from the front chunk.
    head: usize,
    len: usize,
}

impl ChunkedQueue {
    fn push_back(&mut self, r: IdemRecord) {
        match self.chunks.back_mut() {
            Some(last) if last.len() < CHUNK => last.push(r),
            _ => {
                let mut chunk = Vec::with_capacity(CHUNK);
                chunk.push(r);
                self.chunks.push_back(chunk);
            }
        }
        // Bounded by memory: a VecDeque of chunks cannot hold usize::MAX.
        self.len = self.len.checked_add(1).bounded("idempotency records");
    }

    fn front(&self) -> Option<&IdemRecord> {
        self.chunks.front()?.get(self.head)
    }

    fn pop_front(&mut self) {
        if self.len == 0 {
            return;
        }
        // `len > 0`, so the front chunk holds an element at `head`.
        self.head = self.head.checked_add(1).bounded("idempotency head");
        self.len = self.len.checked_sub(1).bounded("idempotency records");
        if self
            .chunks
            .front()
            .is_some_and(|c| self.head == c.len() && (c.len() == CHUNK || self.len == 0))
        {
            self.chunks.pop_front();
            self.head = 0;
        }
    }

    fn get(&self, i: usize) -> Option<&IdemRecord> {
        let i = i.checked_add(self.head)?;
        self.chunks
            .get(i.checked_div(CHUNK)?)?
            .get(i.checked_rem(CHUNK)?)
    }

    fn iter(&self) -> impl Iterator<Item = &IdemRecord> {
        self.chunks.iter().flatten().skip(self.head)
    }
}

impl Serialize for ChunkedQueue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        for r in self.iter() {
            seq.serialize_element(r)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for ChunkedQueue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let records = Vec::<IdemRecord>::deserialize(deserializer)?;
        let mut q = ChunkedQueue::default();
        for r in records {
            q.push_back(r);
        }
        Ok(q)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct IdemRecord {
    pub principal: Principal,
    pub key: String,
    pub request_hash: [u8; 16],
    pub at: At,
    pub outcome: Outcome,
}

#[derive(Default, Serialize, Deserialize)]
pub(crate) struct IdemTable {
    /// Sequence number of `records[0]`.
    first_seq: u64,
    records: ChunkedQueue,
    #[serde(skip)]
    index: ShardedMap<(Principal, Box<str>), u64>,
}

/// A borrowed probe that hashes and compares like `(Principal, Box<str>)`,
/// so a lookup needs no allocation.
struct Probe<'a>(Principal, &'a str);

impl Hash for Probe<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // Must match the tuple's Hash: fields in order, `str` as `str`.
        self.0.hash(state);
        self.1.hash(state);
    }
}

impl Equivalent<(Principal, Box<str>)> for Probe<'_> {
    fn equivalent(&self, key: &(Principal, Box<str>)) -> bool {
        self.0 == key.0 && self.1 == &*key.1
    }
}

impl PartialEq for IdemTable {
    fn eq(&self, other: &Self) -> bool {
        self.first_seq == other.first_seq && self.records == other.records
    }
}

pub(crate) enum Lookup<'a> {
    Miss,
    Same(&'a Outcome),
    Reused,
}

impl IdemTable {
    pub(crate) fn rebuild_index(&mut self) {
        self.index.clear();
        for (i, r) in self.records.iter().enumerate() {
            self.index.insert(
                (r.principal, r.key.as_str().into()),
                self.first_seq
                    .checked_add(u64::try_from(i).bounded("record index"))
                    .bounded("idempotency sequence"),
            );
        }
    }

    pub(crate) fn lookup(&self, idem: &Idem) -> Lookup<'_> {
        match self.index.get(&Probe(idem.principal, &idem.key)) {
            None => Lookup::Miss,
            Some(&seq) => match seq
                .checked_sub(self.first_seq)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| self.records.get(i))
            {
                Some(r) if r.request_hash == idem.request_hash => Lookup::Same(&r.outcome),
                Some(_) => Lookup::Reused,
                None => Lookup::Miss,
            },
        }
    }

    pub(crate) fn insert(&mut self, idem: &Idem, at: At, outcome: Outcome) {
        let seq = self
            .first_seq
            .checked_add(u64::try_from(self.records.len).bounded("record count"))
            .bounded("idempotency sequence");
        self.index
            .insert((idem.principal, idem.key.as_str().into()), seq);
        self.records.push_back(IdemRecord {
            principal: idem.principal,
            key: idem.key.clone(),
            request_hash: idem.request_hash,
            at,
            outcome,
        });
    }

    /// Forget records older than `cutoff`.
    pub(crate) fn expire_before(&mut self, cutoff: At) {
        while let Some(front) = self.records.front() {
            if front.at >= cutoff {
                break;
            }
            let probe = Probe(front.principal, &front.key);
            if self.index.get(&probe) == Some(&self.first_seq) {
                self.index.remove(&probe);
            }
            self.records.pop_front();
            self.first_seq = self
                .first_seq
                .checked_add(1)
                .bounded("idempotency sequence");
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.records.len
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idem(key: usize, hash: u8) -> Idem {
        Idem {
            principal: Principal::Merchant(0),
            key: format!("k{key}"),
            request_hash: [hash; 16],
        }
    }

    #[test]
    fn remembers_expires_and_round_trips_across_chunks() {
        let mut t = IdemTable::default();
        let n = CHUNK * 2 + 10;
        for i in 0..n {
            t.insert(
                &idem(i, 1),
                At::from_unix_ms(i as i64),
                Outcome::Clock {
                    now: At::from_unix_ms(i as i64),
                },
            );
        }
        assert!(
            matches!(t.lookup(&idem(5, 1)), Lookup::Same(Outcome::Clock { now }) if now.unix_ms() == 5)
        );
        assert!(matches!(t.lookup(&idem(5, 2)), Lookup::Reused));
        let bytes = postcard::to_stdvec(&t).unwrap();
        let mut back: IdemTable = postcard::from_bytes(&bytes).unwrap();
        back.rebuild_index();
        assert!(back == t);

        t.expire_before(At::from_unix_ms(CHUNK as i64 + 3));
        assert_eq!(t.len(), n - CHUNK - 3);
        assert!(matches!(t.lookup(&idem(5, 1)), Lookup::Miss));
        assert!(matches!(t.lookup(&idem(CHUNK + 3, 1)), Lookup::Same(_)));
        t.expire_before(At::from_unix_ms(n as i64));
        assert_eq!(t.len(), 0);
        assert!(matches!(t.lookup(&idem(n - 1, 1)), Lookup::Miss));
        t.insert(
            &idem(1, 3),
            At::from_unix_ms(0),
            Outcome::Clock {
                now: At::from_unix_ms(0),
            },
        );
        assert!(matches!(t.lookup(&idem(1, 3)), Lookup::Same(_)));
        // Serialized form is independent of how many were expired.
        let mut fresh = IdemTable::default();
        fresh.insert(
            &idem(1, 3),
            At::from_unix_ms(0),
            Outcome::Clock {
                now: At::from_unix_ms(0),
            },
        );
        assert_eq!(
            postcard::to_stdvec(&t.records).unwrap(),
            postcard::to_stdvec(&fresh.records).unwrap()
        );
    }
}
