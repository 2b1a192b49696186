//! Digest, snapshots and restore (the layout's version lives here).

use super::{Engine, Indexes, State};
use crate::checked::id32;
use crate::error::{CommandError, ErrorKind};
use atobarai_core::Config;
use sha2::{Digest, Sha256};

/// Snapshot header: `ATBSNAP` and the state layout's version, bumped
/// whenever [`State`]'s serialized shape changes (2: payments keep their
/// allocation, billing keeps membership, plans, credit notes; webhook
/// outbox).
const SNAPSHOT_MAGIC: &[u8; 8] = b"ATBSNAP2";
const SNAPSHOT_FAMILY: &[u8; 7] = b"ATBSNAP";

impl Engine {
    /// SHA-256 of the canonical serialization of the whole state. A replay of
    /// the same journal must reproduce it exactly.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.state_bytes()).into()
    }

    /// The state as bytes, behind the layout's magic header.
    pub fn snapshot(&self) -> Vec<u8> {
        let mut out = SNAPSHOT_MAGIC.to_vec();
        out.extend(self.state_bytes());
        out
    }

    pub(crate) fn state_bytes(&self) -> Vec<u8> {
        // Plain data with known lengths: only a bug here can make this fail,
        // and a silently empty snapshot would be far worse than stopping.
        postcard::to_stdvec(&self.state).expect("engine state serializes")
    }

    /// An engine from a snapshot, checked against every invariant.
    pub fn restore(config: Config, bytes: &[u8]) -> Result<Engine, CommandError> {
        let corrupt = || {
            CommandError::new(
                ErrorKind::Invalid,
                "snapshot_corrupt",
                "snapshot cannot be decoded",
            )
        };
        let Some(body) = bytes.strip_prefix(SNAPSHOT_MAGIC) else {
            if bytes.starts_with(SNAPSHOT_FAMILY) {
                return Err(CommandError::new(
                    ErrorKind::Invalid,
                    "snapshot_format_old",
                    "the snapshot was written by another version of the state layout",
                ));
            }
            return Err(corrupt());
        };
        let state: State = postcard::from_bytes(body).map_err(|_| corrupt())?;
        let mut engine = Engine::new(config);
        if let Some(rules) = &state.rules {
            engine.config.set_rules((**rules).clone());
        }
        engine.state = state;
        engine.rebuild_indexes();
        engine.check_invariants().map_err(|_| corrupt())?;
        Ok(engine)
    }

    pub(crate) fn rebuild_indexes(&mut self) {
        let s = &mut self.state;
        s.idem.rebuild_index();
        let idx = &mut self.idx;
        *idx = Indexes::default();
        for (i, o) in s.orders.iter().enumerate() {
            idx.add_order(id32(i), o);
        }
        for (i, c) in s.customers.iter().enumerate() {
            idx.customer_by_external
                .insert((c.merchant, c.profile.external_id.as_str().into()), id32(i));
        }
        for (i, p) in s.payments.iter().enumerate() {
            idx.payment_by_reference
                .insert(p.reference.as_str().into(), id32(i));
        }
        for (i, m) in s.merchants.iter().enumerate() {
            idx.merchant_by_key.insert(m.key_id.clone(), id32(i));
        }
        for (i, o) in s.operators.iter().enumerate() {
            idx.operator_by_key.insert(o.key_id.clone(), id32(i));
        }
    }
}
