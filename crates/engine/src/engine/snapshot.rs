//! Digest, snapshots and restore (the layout's version lives here).

use super::{Engine, Indexes, State};
use crate::checked::id32;
use crate::error::{CommandError, ErrorKind};
use atobarai_core::Config;
use sha2::{Digest, Sha256};

impl Engine {
    /// SHA-256 of the canonical serialization of the whole state. A replay of
    /// the same journal must reproduce it exactly.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.state_bytes()).into()
    }

    /// The state in the versioned snapshot container
    /// ([`crate::format::snapshot`]: header, length, SHA-256, body).
    pub fn snapshot(&self) -> Vec<u8> {
        crate::format::snapshot::encode(&self.state_bytes())
    }

    /// A snapshot and the state's digest from one serialization (the
    /// digest is the SHA-256 of the body, as [`Engine::digest`]).
    pub fn snapshot_with_digest(&self) -> (Vec<u8>, [u8; 32]) {
        let body = self.state_bytes();
        let digest = Sha256::digest(&body).into();
        (crate::format::snapshot::encode(&body), digest)
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
        let body = crate::format::snapshot::open(bytes).map_err(|e| {
            if e.is_snapshot_version() {
                CommandError::new(
                    ErrorKind::Invalid,
                    "snapshot_format_old",
                    "the snapshot was written by another version of the state layout",
                )
            } else {
                corrupt()
            }
        })?;
        let state: State = postcard::from_bytes(&body).map_err(|_| corrupt())?;
        let mut engine = Engine::new(config);
        if let Some(rules) = &state.rules {
            engine.config.set_rules((**rules).clone());
        }
        if let Some(terms) = &state.lifecycle.terms {
            engine.config.set_terms((**terms).clone());
        }
        engine.state = state;
        engine.rebuild_indexes();
        engine.rebuild_risk_runtime()?;
        engine.rebuild_model_runtime()?;
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
            idx.add_payment(p.customer, p.at.unix_ms());
        }
        for (i, m) in s.merchants.iter().enumerate() {
            idx.merchant_by_key.insert(m.key_id.clone(), id32(i));
        }
        for (i, o) in s.operators.iter().enumerate() {
            idx.operator_by_key.insert(o.key_id.clone(), id32(i));
        }
        idx.gift_cards = super::gift_cards::GiftCardIndex::rebuild(&s.gift_cards);
        idx.lifecycle = super::lifecycle::LifecycleIndex::rebuild(&s.lifecycle);
    }
}
