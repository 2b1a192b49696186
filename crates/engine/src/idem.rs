//! Idempotency records: `(caller, Idempotency-Key)` → the request's hash and
//! the first outcome. Kept in arrival order so expiry pops from the front and
//! serialization is deterministic; the hash index is rebuilt on load.

use crate::command::{Idem, Principal};
use crate::view::Outcome;
use atobarai_core::At;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdemRecord {
    pub principal: Principal,
    pub key: String,
    pub request_hash: [u8; 16],
    pub at: At,
    pub outcome: Outcome,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct IdemTable {
    /// Sequence number of `records[0]`.
    first_seq: u64,
    records: VecDeque<IdemRecord>,
    #[serde(skip)]
    index: FxHashMap<(Principal, String), u64>,
}

impl PartialEq for IdemTable {
    fn eq(&self, other: &Self) -> bool {
        self.first_seq == other.first_seq && self.records == other.records
    }
}

pub enum Lookup<'a> {
    Miss,
    Same(&'a Outcome),
    Reused,
}

impl IdemTable {
    pub fn rebuild_index(&mut self) {
        self.index.clear();
        for (i, r) in self.records.iter().enumerate() {
            self.index
                .insert((r.principal, r.key.clone()), self.first_seq + i as u64);
        }
    }

    pub fn lookup(&self, idem: &Idem) -> Lookup<'_> {
        // Allocation-free probe would need a borrowed key type; the key is
        // short and this runs once per request.
        match self.index.get(&(idem.principal, idem.key.clone())) {
            None => Lookup::Miss,
            Some(&seq) => {
                let r = &self.records[(seq - self.first_seq) as usize];
                if r.request_hash == idem.request_hash {
                    Lookup::Same(&r.outcome)
                } else {
                    Lookup::Reused
                }
            }
        }
    }

    pub fn insert(&mut self, idem: &Idem, at: At, outcome: Outcome) {
        let seq = self.first_seq + self.records.len() as u64;
        self.index.insert((idem.principal, idem.key.clone()), seq);
        self.records.push_back(IdemRecord {
            principal: idem.principal,
            key: idem.key.clone(),
            request_hash: idem.request_hash,
            at,
            outcome,
        });
    }

    /// Forget records older than `cutoff`.
    pub fn expire_before(&mut self, cutoff: At) {
        while let Some(front) = self.records.front() {
            if front.at >= cutoff {
                break;
            }
            let key = (front.principal, front.key.clone());
            if self.index.get(&key) == Some(&self.first_seq) {
                self.index.remove(&key);
            }
            self.records.pop_front();
            self.first_seq += 1;
        }
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }
}
