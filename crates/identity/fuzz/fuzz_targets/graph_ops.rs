//! Arbitrary sequences of graph operations: no panic, invariants hold (they
//! include: clusters equal those recomputed from the links through non-hub
//! keys, no non-hub key joins more accounts than its threshold), and a
//! serialize/deserialize round trip gives back the same bytes, clusters and
//! hub keys. Thresholds start small and change, so hubs form often.
#![no_main]

use atobarai_identity::graph::GraphConfig;
use atobarai_identity::{Graph, HubThresholds, KeyHash, LinkKind};
use libfuzzer_sys::fuzz_target;

const KINDS: [LinkKind; 6] = [
    LinkKind::Phone,
    LinkKind::Email,
    LinkKind::Device,
    LinkKind::AddressUnit,
    LinkKind::Ip,
    LinkKind::Name,
];

fuzz_target!(|data: &[u8]| {
    let small = HubThresholds {
        phone: 2,
        email: 3,
        device: 4,
    };
    let mut g = Graph::new(GraphConfig {
        hub_threshold: small,
        ..GraphConfig::default()
    });
    for op in data.chunks(4) {
        let [code, a, k, v] = [op[0], *op.get(1).unwrap_or(&0), *op.get(2).unwrap_or(&0), *op.get(3).unwrap_or(&0)];
        let account = u32::from(a) % (g.account_count() as u32 + 1);
        let kind = KINDS[k as usize % KINDS.len()];
        let key = KeyHash([v; 16]);
        let at = i64::from(v) * 60_000;
        match code % 8 {
            0 | 1 => {
                let _ = g.add_account(at);
            }
            2..=4 => {
                let _ = g.link(account, kind, key, at);
            }
            5 | 6 => {
                let _ = g.withdraw_tracked(account, kind, key);
            }
            _ => {
                let t = HubThresholds {
                    phone: u32::from(a % 6),
                    email: u32::from(k % 6),
                    device: u32::from(v % 8),
                };
                let _ = g.set_hub_thresholds(t, at);
            }
        }
    }
    if let Err(e) = g.check_invariants() {
        panic!("{e}");
    }
    let bytes = postcard::to_stdvec(&g).expect("serialize");
    let back: Graph = postcard::from_bytes(&bytes).expect("deserialize");
    assert_eq!(postcard::to_stdvec(&back).expect("serialize"), bytes);
    for a in 0..g.account_count() as u32 {
        assert_eq!(back.cluster_of(a), g.cluster_of(a));
        assert_eq!(back.hub_keys(a), g.hub_keys(a));
    }
});
