//! The identity graph: scenario tests from DOMAIN.md (one person, several
//! accounts; a dormitory that must not become one person), withdrawal,
//! explanations, determinism, and union-find checked against a naive
//! search in a property test.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use atobarai_identity::graph::{DAY_MS, GraphConfig};
use atobarai_identity::{ClusterChange, HubThresholds};
use atobarai_identity::{Graph, KeyName, Kind, LinkKind, key_hash, normalize};
use proptest::prelude::*;

const SECRET: &[u8] = b"test-secret";
const T0: i64 = 1_780_000_000_000;

/// Normalizes a value and links every key it yields; names become the
/// account's name attribute.
fn attach(g: &mut Graph, account: u32, kind: Kind, value: &str, at_ms: i64) {
    let n = normalize(kind, value);
    assert!(
        n.canonical.is_some(),
        "{kind} {value} did not normalize: {:?}",
        n.flags
    );
    for k in &n.keys {
        match (k.name, k.name.link_kind()) {
            (KeyName::Name | KeyName::NameKana, _) => {
                g.set_name(account, key_hash(SECRET, LinkKind::Name, &k.value))
                    .unwrap();
            }
            (_, Some(lk)) => {
                g.link(account, lk, key_hash(SECRET, lk, &k.value), at_ms)
                    .unwrap();
            }
            _ => {}
        }
    }
}

#[test]
fn one_person_three_spellings_one_device_is_one_cluster() {
    let mut g = Graph::new(GraphConfig::default());
    let a = g.add_account(T0).unwrap();
    let b = g.add_account(T0 + DAY_MS).unwrap();
    let c = g.add_account(T0 + 2 * DAY_MS).unwrap();
    attach(&mut g, a, Kind::Name, "髙橋 一郎", T0);
    attach(&mut g, a, Kind::Phone, "090-1234-5678", T0);
    attach(&mut g, a, Kind::Email, "ichiro.takahashi@gmail.com", T0);
    attach(
        &mut g,
        a,
        Kind::Address,
        "東京都千代田区霞が関一丁目3番1号",
        T0,
    );
    attach(&mut g, a, Kind::Device, "device-aaaa-1111", T0);

    attach(&mut g, b, Kind::Name, "高橋一郎", T0 + DAY_MS);
    attach(&mut g, b, Kind::Phone, "080-9999-0000", T0 + DAY_MS);
    attach(
        &mut g,
        b,
        Kind::Email,
        "IchiroTakahashi+shop@googlemail.com",
        T0 + DAY_MS,
    );
    attach(&mut g, b, Kind::Address, "霞ヶ関１－３－１", T0 + DAY_MS);

    attach(&mut g, c, Kind::Name, "ﾀｶﾊｼ ｲﾁﾛｳ", T0 + 2 * DAY_MS);
    attach(&mut g, c, Kind::Phone, "070-5555-4444", T0 + 2 * DAY_MS);
    attach(
        &mut g,
        c,
        Kind::Email,
        "taka@example.co.jp",
        T0 + 2 * DAY_MS,
    );
    attach(&mut g, c, Kind::Device, "device-aaaa-1111", T0 + 2 * DAY_MS);

    assert_eq!(g.cluster_of(a), Some(a));
    assert_eq!(g.cluster_of(b), Some(a));
    assert_eq!(g.cluster_of(c), Some(a));
    assert_eq!(g.members(a), vec![a, b, c]);
    // b joined through the e-mail (gmail dots and +tag), c through the device.
    let path = g.explain(b, c).unwrap();
    assert_eq!(path.len(), 2);
    assert_eq!(path[0].kind, LinkKind::Email);
    assert_eq!(path[1].kind, LinkKind::Device);
    assert_eq!(
        (path[0].from, path[0].to, path[1].from, path[1].to),
        (b, a, a, c)
    );
    let f = g.cluster_features(a, T0 + 3 * DAY_MS).unwrap();
    assert_eq!(f.accounts, 3);
    assert_eq!(
        f.distinct_names, 2,
        "髙橋一郎 and 高橋一郎 are one name; the kana reading is another"
    );
    assert_eq!(f.distinct_devices, 1);
    assert_eq!(f.accounts_created_last_30d, 3);
    g.check_invariants().unwrap();
}

#[test]
fn four_students_in_one_dormitory_stay_four_people() {
    let mut g = Graph::new(GraphConfig::default());
    let dorm = [
        "東京都文京区本郷7-3-1 学生寮",
        "東京都文京区本郷七丁目3番1号学生寮",
        "文京区本郷７－３－１　学生寮",
        "〒113-0033 東京都文京区本郷7-3-1学生寮",
    ];
    let names = ["佐藤花子", "鈴木一郎", "田中美咲", "伊藤健太"];
    let mut ids = Vec::new();
    for i in 0..4 {
        let a = g.add_account(T0 + i as i64 * DAY_MS).unwrap();
        attach(&mut g, a, Kind::Name, names[i], T0);
        attach(&mut g, a, Kind::Address, dorm[i], T0);
        attach(&mut g, a, Kind::Phone, &format!("090-1111-000{i}"), T0);
        attach(&mut g, a, Kind::Device, &format!("student-device-{i}"), T0);
        attach(&mut g, a, Kind::Ip, "203.0.113.7", T0 + i as i64 * 1000);
        ids.push(a);
    }
    for &a in &ids {
        assert_eq!(
            g.cluster_of(a),
            Some(a),
            "a shared address or IP must not merge"
        );
        assert_eq!(g.cluster_size(a), 1);
    }
    // They do share the address unit and the IP, which the risk engine can see.
    let unit = normalize(Kind::Address, dorm[0])
        .key(KeyName::AddressUnit)
        .unwrap()
        .to_string();
    let unit = key_hash(SECRET, LinkKind::AddressUnit, &unit);
    assert_eq!(g.accounts_sharing(LinkKind::AddressUnit, &unit), ids);
    assert_eq!(g.distinct_names_sharing(LinkKind::AddressUnit, &unit), 4);
    assert_eq!(
        g.new_accounts_sharing(LinkKind::AddressUnit, &unit, T0 + 10 * DAY_MS, 30 * DAY_MS),
        4
    );
    assert_eq!(
        g.new_accounts_sharing(LinkKind::AddressUnit, &unit, T0 + 40 * DAY_MS, 30 * DAY_MS),
        0
    );
    let ip = key_hash(SECRET, LinkKind::Ip, "203.0.113.7");
    assert_eq!(
        g.accounts_sharing_at(LinkKind::Ip, &ip, T0 + 60_000).len(),
        4
    );
    assert!(
        g.accounts_sharing_at(LinkKind::Ip, &ip, T0 + 3 * DAY_MS)
            .is_empty(),
        "the IP link is time-bounded"
    );
    assert_eq!(g.explain(ids[0], ids[1]), None);
    g.check_invariants().unwrap();
}

#[test]
fn withdrawing_the_bridge_splits_the_cluster() {
    let mut g = Graph::new(GraphConfig::default());
    let ids: Vec<u32> = (0..4).map(|i| g.add_account(T0 + i).unwrap()).collect();
    let k = |s: &str| key_hash(SECRET, LinkKind::Device, s);
    let p = |s: &str| key_hash(SECRET, LinkKind::Phone, s);
    g.link(ids[0], LinkKind::Device, k("d1"), T0).unwrap();
    g.link(ids[1], LinkKind::Device, k("d1"), T0).unwrap();
    g.link(ids[1], LinkKind::Phone, p("p1"), T0).unwrap();
    g.link(ids[2], LinkKind::Phone, p("p1"), T0).unwrap();
    g.link(ids[3], LinkKind::Phone, p("p1"), T0).unwrap();
    assert_eq!(g.members(0), vec![0, 1, 2, 3]);
    assert!(g.withdraw(ids[1], LinkKind::Phone, p("p1")).unwrap());
    assert_eq!(g.members(0), vec![0, 1]);
    assert_eq!(g.members(2), vec![2, 3]);
    assert_eq!(g.cluster_of(3), Some(2));
    assert!(
        !g.withdraw(ids[1], LinkKind::Phone, p("p1")).unwrap(),
        "already withdrawn"
    );
    assert!(g.withdraw(ids[0], LinkKind::Device, k("d1")).unwrap());
    assert_eq!(g.members(0), vec![0]);
    assert_eq!(g.cluster_of(1), Some(1));
    g.check_invariants().unwrap();
}

#[test]
fn misuse_is_an_error_not_a_panic() {
    let mut g = Graph::new(GraphConfig::default());
    let a = g.add_account(T0).unwrap();
    let k = key_hash(SECRET, LinkKind::Phone, "x");
    assert!(g.link(99, LinkKind::Phone, k, T0).is_err());
    assert!(g.link(a, LinkKind::Name, k, T0).is_err());
    g.link(a, LinkKind::Phone, k, T0).unwrap();
    assert!(
        g.link(a, LinkKind::Email, k, T0).is_err(),
        "one hash, two kinds"
    );
    assert!(g.withdraw(7, LinkKind::Phone, k).is_err());
    assert_eq!(g.cluster_of(7), None);
    assert!(g.members(7).is_empty());
    assert_eq!(g.explain(a, 7), None);
}

/// A shop's tablet serves 25 customers; four of them are one cash-out ring
/// that also shares its own phone. The tablet joins the first 20, then
/// becomes a hub and joins nobody; the ring stays one person.
#[test]
fn a_shop_tablet_becomes_a_hub_and_a_ring_still_links() {
    let mut g = Graph::new(GraphConfig::default());
    let tablet = key_hash(SECRET, LinkKind::Device, "shop-tablet");
    let ring_phone = key_hash(SECRET, LinkKind::Phone, "ring");
    for i in 0..25u32 {
        let a = g.add_account(T0).unwrap();
        g.link(
            a,
            LinkKind::Phone,
            key_hash(SECRET, LinkKind::Phone, &i.to_string()),
            T0,
        )
        .unwrap();
    }
    for a in 0..4 {
        // The ring's accounts share a second number (under the threshold).
        g.link(a, LinkKind::Phone, ring_phone, T0).unwrap();
    }
    assert_eq!(g.cluster_size(0), 4);
    let mut changes = Vec::new();
    for a in 0..25u32 {
        let at = T0 + i64::from(a) * 60_000;
        changes.push(g.link(a, LinkKind::Device, tablet, at).unwrap());
        let expect = match a {
            0..4 => 4,
            4..20 => a as usize + 1,
            _ => 1,
        };
        assert_eq!(g.cluster_size(a), expect, "account {a}");
    }
    // Accounts 4..19 each merged into cluster 0; account 20 split it.
    assert_eq!(
        changes[4],
        Some(ClusterChange::Merged {
            into: 0,
            absorbed: 4
        })
    );
    let Some(ClusterChange::Split { from, into }) = &changes[20] else {
        panic!(
            "the 21st account should split the cluster: {:?}",
            changes[20]
        );
    };
    assert_eq!(*from, 0);
    assert_eq!(into, &[0].into_iter().chain(4..20).collect::<Vec<u32>>());
    assert!(changes[21..].iter().all(Option::is_none));
    assert!(g.is_hub(LinkKind::Device, &tablet));
    assert_eq!(g.hub_count(), 1);
    // The ring is still one person; the others are alone.
    assert_eq!(g.members(0), vec![0, 1, 2, 3]);
    assert_eq!(
        g.explain(0, 3)
            .unwrap()
            .iter()
            .map(|e| e.kind)
            .collect::<Vec<_>>(),
        vec![LinkKind::Phone]
    );
    assert_eq!(g.explain(4, 5), None);
    // The risk feature: the tablet, the accounts it serves, since when.
    let hubs = g.hub_keys(7);
    assert_eq!(hubs.len(), 1);
    assert_eq!(
        (
            hubs[0].kind,
            hubs[0].key,
            hubs[0].accounts,
            hubs[0].since_ms
        ),
        (LinkKind::Device, tablet, 25, T0 + 20 * 60_000)
    );
    assert!(g.hub_keys(0).iter().all(|h| h.kind == LinkKind::Device));
    assert_eq!(g.sharing_count(LinkKind::Device, &tablet), 25);
    // Withdrawing back under the threshold does not revive it.
    for a in 5..25 {
        assert!(g.withdraw(a, LinkKind::Device, tablet).unwrap());
    }
    assert!(g.is_hub(LinkKind::Device, &tablet));
    assert_eq!(g.cluster_size(4), 1);
    g.check_invariants().unwrap();
    let back: Graph = postcard::from_bytes(&postcard::to_stdvec(&g).unwrap()).unwrap();
    assert_eq!(back.hub_keys(4), g.hub_keys(4));
    assert_eq!(back.members(0), vec![0, 1, 2, 3]);
}

/// Lowering a threshold flags the keys now over it and splits their
/// clusters; raising it revives nothing.
#[test]
fn a_lowered_threshold_splits_and_a_raised_one_revives_nothing() {
    let mut g = Graph::new(GraphConfig::default());
    let device = key_hash(SECRET, LinkKind::Device, "family-tablet");
    for _ in 0..6 {
        let a = g.add_account(T0).unwrap();
        g.link(a, LinkKind::Device, device, T0).unwrap();
    }
    assert_eq!(g.cluster_size(5), 6);
    let raised = HubThresholds {
        device: 50,
        ..HubThresholds::default()
    };
    assert!(g.set_hub_thresholds(raised, T0).is_empty());
    let lowered = HubThresholds {
        device: 5,
        ..HubThresholds::default()
    };
    assert_eq!(
        g.set_hub_thresholds(lowered, T0 + 1),
        vec![ClusterChange::Split {
            from: 0,
            into: (0..6).collect()
        }]
    );
    assert_eq!(g.hub_keys(3)[0].since_ms, T0 + 1);
    assert!(g.set_hub_thresholds(raised, T0 + 2).is_empty());
    assert!(g.is_hub(LinkKind::Device, &device));
    assert_eq!(g.cluster_size(5), 1);
    g.check_invariants().unwrap();
}

#[derive(Clone, Debug)]
enum Op {
    Add,
    Link(u8, u8, u8), // account, kind, key
    Withdraw(u8, u8, u8),
    /// New hub thresholds (phone, e-mail, device).
    Thresholds(u8, u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Add),
        6 => (any::<u8>(), 0u8..5, 0u8..12).prop_map(|(a, k, v)| Op::Link(a, k, v)),
        2 => (any::<u8>(), 0u8..5, 0u8..12).prop_map(|(a, k, v)| Op::Withdraw(a, k, v)),
    ]
}

/// Like [`op`], with few key values (so keys are shared by many accounts)
/// and threshold changes.
fn hub_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Add),
        8 => (any::<u8>(), 0u8..5, 0u8..3).prop_map(|(a, k, v)| Op::Link(a, k, v)),
        2 => (any::<u8>(), 0u8..5, 0u8..3).prop_map(|(a, k, v)| Op::Withdraw(a, k, v)),
        1 => (0u8..6, 0u8..6, 0u8..8).prop_map(|(p, e, d)| Op::Thresholds(p, e, d)),
    ]
}

fn thresholds() -> impl Strategy<Value = HubThresholds> {
    (0u32..6, 0u32..6, 0u32..8).prop_map(|(phone, email, device)| HubThresholds {
        phone,
        email,
        device,
    })
}

const KINDS: [LinkKind; 5] = [
    LinkKind::Phone,
    LinkKind::Email,
    LinkKind::Device,
    LinkKind::AddressUnit,
    LinkKind::Ip,
];

/// The reference: the links that exist, and the hub keys — a strong key is
/// a hub once it has had more accounts than its kind's threshold (checked
/// when it gains one and when a threshold changes), and stays one.
#[derive(Default)]
struct Model {
    links: BTreeSet<(u32, usize, u8)>,
    hubs: BTreeSet<(usize, u8)>,
}

impl Model {
    fn members(&self, k: usize, v: u8) -> usize {
        self.links
            .iter()
            .filter(|&&(_, lk, lv)| (lk, lv) == (k, v))
            .count()
    }

    fn flag_hubs(&mut self, t: &HubThresholds) {
        let keys: BTreeSet<(usize, u8)> = self.links.iter().map(|&(_, k, v)| (k, v)).collect();
        for (k, v) in keys {
            if let Some(th) = t.of(KINDS[k])
                && self.members(k, v) > th as usize
            {
                self.hubs.insert((k, v));
            }
        }
    }
}

/// Applies the operations to the graph and the model; also checks every
/// cluster change the graph reports against running totals (one weight per
/// account, summed per cluster) recomputed from scratch.
fn apply_model(g: &mut Graph, ops: &[Op], model: &mut Model) {
    let weight = |a: u32| u64::from(a) * 7 + 1;
    let mut totals: BTreeMap<u32, u64> = (0..g.account_count() as u32)
        .map(|a| {
            (
                a,
                g.members(g.cluster_of(a).unwrap())
                    .iter()
                    .map(|&m| weight(m))
                    .sum(),
            )
        })
        .filter(|&(a, _)| g.cluster_of(a) == Some(a))
        .collect();
    for op in ops {
        let n = g.account_count() as u32;
        let mut changes: Vec<ClusterChange> = Vec::new();
        match *op {
            Op::Add => {
                let a = g.add_account(T0).unwrap();
                totals.insert(a, weight(a));
            }
            Op::Thresholds(p, e, d) => {
                let t = HubThresholds {
                    phone: u32::from(p),
                    email: u32::from(e),
                    device: u32::from(d),
                };
                changes = g.set_hub_thresholds(t, T0);
                model.flag_hubs(&t);
            }
            Op::Link(a, k, v) | Op::Withdraw(a, k, v) if n > 0 => {
                let acc = u32::from(a) % n;
                let kind = KINDS[k as usize];
                let key = key_hash(SECRET, kind, &v.to_string());
                if matches!(op, Op::Link(..)) {
                    changes.extend(g.link(acc, kind, key, T0).unwrap());
                    model.links.insert((acc, k as usize, v));
                    let t = g.config().hub_threshold;
                    model.flag_hubs(&t);
                } else {
                    let (had, change) = g.withdraw_tracked(acc, kind, key).unwrap();
                    assert_eq!(had, model.links.remove(&(acc, k as usize, v)));
                    changes.extend(change);
                }
            }
            _ => {}
        }
        for c in changes {
            match c {
                ClusterChange::Merged { into, absorbed } => {
                    assert!(into < absorbed);
                    let moved = totals.remove(&absorbed).expect("absorbed was a cluster");
                    *totals.get_mut(&into).expect("into was a cluster") += moved;
                }
                ClusterChange::Split { from, into } => {
                    assert!(into.len() > 1 && into.contains(&from));
                    totals.remove(&from).expect("split a cluster");
                    for c in into {
                        totals.insert(c, g.members(c).iter().map(|&m| weight(m)).sum());
                    }
                }
            }
        }
        // Running totals, kept only from the changes, equal a recount.
        let mut fresh: BTreeMap<u32, u64> = BTreeMap::new();
        for a in 0..g.account_count() as u32 {
            *fresh.entry(g.cluster_of(a).unwrap()).or_default() += weight(a);
        }
        assert_eq!(totals, fresh, "after {op:?}");
    }
}

fn apply(g: &mut Graph, ops: &[Op]) -> BTreeSet<(u32, usize, u8)> {
    let mut model = Model::default();
    apply_model(g, ops, &mut model);
    model.links
}

/// Clusters by breadth-first search over strong shared keys that are not
/// hubs: the reference.
fn naive_clusters(n: u32, model: &Model) -> Vec<u32> {
    let links = &model.links;
    let joins = |k: usize, v: u8| KINDS[k].is_strong() && !model.hubs.contains(&(k, v));
    let mut by_key: BTreeMap<(usize, u8), Vec<u32>> = BTreeMap::new();
    for &(a, k, v) in links {
        if joins(k, v) {
            by_key.entry((k, v)).or_default().push(a);
        }
    }
    let mut cluster = vec![u32::MAX; n as usize];
    for start in 0..n {
        if cluster[start as usize] != u32::MAX {
            continue;
        }
        let mut queue = VecDeque::from([start]);
        cluster[start as usize] = start; // ascending scan: start is the minimum
        while let Some(x) = queue.pop_front() {
            for &(_, k, v) in links.iter().filter(|(a, _, _)| *a == x) {
                if !joins(k, v) {
                    continue;
                }
                for &y in &by_key[&(k, v)] {
                    if cluster[y as usize] == u32::MAX {
                        cluster[y as usize] = start;
                        queue.push_back(y);
                    }
                }
            }
        }
    }
    cluster
}

fn check_against_model(g: &Graph, model: &Model) -> Result<(), TestCaseError> {
    let n = g.account_count() as u32;
    let naive = naive_clusters(n, model);
    for a in 0..n {
        prop_assert_eq!(g.cluster_of(a), Some(naive[a as usize]));
    }
    for (k, &kind) in KINDS.iter().enumerate() {
        for v in 0..12u8 {
            let key = key_hash(SECRET, kind, &v.to_string());
            prop_assert_eq!(g.is_hub(kind, &key), model.hubs.contains(&(k, v)));
            prop_assert_eq!(g.sharing_count(kind, &key), model.members(k, v));
        }
    }
    // An account's hub keys are exactly its links to hubs.
    for a in 0..n {
        let mut mine: Vec<(LinkKind, usize)> = g
            .hub_keys(a)
            .iter()
            .map(|h| (h.kind, h.accounts as usize))
            .collect();
        mine.sort();
        let mut want: Vec<(LinkKind, usize)> = model
            .links
            .iter()
            .filter(|&&(x, k, v)| x == a && model.hubs.contains(&(k, v)))
            .map(|&(_, k, v)| (KINDS[k], model.members(k, v)))
            .collect();
        want.sort();
        prop_assert_eq!(mine, want);
    }
    g.check_invariants().map_err(TestCaseError::fail)?;
    // Every pair in a cluster has an explanation whose steps are real
    // links through keys that join.
    for a in 0..n.min(20) {
        for b in 0..n.min(20) {
            match g.explain(a, b) {
                Some(path) => {
                    prop_assert_eq!(naive[a as usize], naive[b as usize]);
                    let mut at = a;
                    for e in &path {
                        prop_assert_eq!(e.from, at);
                        prop_assert!(e.kind.is_strong());
                        prop_assert!(!g.is_hub(e.kind, &e.key));
                        prop_assert!(g.links_of(e.from).iter().any(|l| l.1 == e.key));
                        prop_assert!(g.links_of(e.to).iter().any(|l| l.1 == e.key));
                        at = e.to;
                    }
                    prop_assert_eq!(at, b);
                }
                None => prop_assert_ne!(naive[a as usize], naive[b as usize]),
            }
        }
    }
    Ok(())
}

fn round_trip(g1: &Graph, g2: &Graph) -> Result<(), TestCaseError> {
    let b1 = postcard::to_stdvec(g1).unwrap();
    let b2 = postcard::to_stdvec(g2).unwrap();
    prop_assert_eq!(&b1, &b2);
    let back: Graph = postcard::from_bytes(&b1).unwrap();
    back.check_invariants().map_err(TestCaseError::fail)?;
    prop_assert_eq!(postcard::to_stdvec(&back).unwrap(), b1);
    prop_assert_eq!(back.config(), g1.config());
    for a in 0..g1.account_count() as u32 {
        prop_assert_eq!(back.cluster_of(a), g1.cluster_of(a));
        prop_assert_eq!(back.links_of(a), g1.links_of(a));
        prop_assert_eq!(back.hub_keys(a), g1.hub_keys(a));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn union_find_agrees_with_breadth_first_search(ops in prop::collection::vec(op(), 1..200)) {
        let mut g = Graph::new(GraphConfig::default());
        g.add_account(T0).unwrap();
        let mut model = Model::default();
        apply_model(&mut g, &ops, &mut model);
        check_against_model(&g, &model)?;
    }

    /// Few keys, small and changing thresholds: hubs form all the time.
    #[test]
    fn hubs_agree_with_the_reference(
        t in thresholds(),
        ops in prop::collection::vec(hub_op(), 1..200),
    ) {
        let mut g = Graph::new(GraphConfig { hub_threshold: t, ..GraphConfig::default() });
        g.add_account(T0).unwrap();
        let mut model = Model::default();
        apply_model(&mut g, &ops, &mut model);
        check_against_model(&g, &model)?;
    }

    /// However many accounts share one device (the only strong key), no
    /// cluster exceeds the threshold; past it, every account stands alone.
    #[test]
    fn a_cluster_joined_through_one_key_never_exceeds_the_threshold(
        threshold in 0u32..30,
        accounts in 1u32..120,
        order in prop::collection::vec(any::<u8>(), 1..200),
    ) {
        let mut g = Graph::new(GraphConfig {
            hub_threshold: HubThresholds { phone: 10, email: 10, device: threshold },
            ..GraphConfig::default()
        });
        for i in 0..accounts {
            let a = g.add_account(T0).unwrap();
            // Each its own phone and e-mail: nothing else joins them.
            g.link(a, LinkKind::Phone, key_hash(SECRET, LinkKind::Phone, &i.to_string()), T0).unwrap();
            g.link(a, LinkKind::Email, key_hash(SECRET, LinkKind::Email, &i.to_string()), T0).unwrap();
        }
        let device = key_hash(SECRET, LinkKind::Device, "emulator-default");
        let mut linked = BTreeSet::new();
        for &o in &order {
            let a = u32::from(o) % accounts;
            g.link(a, LinkKind::Device, device, T0).unwrap();
            linked.insert(a);
            for b in 0..accounts {
                prop_assert!(g.cluster_size(b) <= threshold.max(1) as usize);
            }
        }
        // A threshold of 0 behaves as 1 (see `HubThresholds`).
        let hub = linked.len() > threshold.max(1) as usize;
        prop_assert_eq!(g.is_hub(LinkKind::Device, &device), hub);
        for a in 0..accounts {
            let expect = if hub || !linked.contains(&a) { 1 } else { linked.len() };
            prop_assert_eq!(g.cluster_size(a), expect);
        }
        g.check_invariants().map_err(TestCaseError::fail)?;
    }

    #[test]
    fn same_operations_same_bytes_and_a_faithful_round_trip(
        t in thresholds(),
        ops in prop::collection::vec(hub_op(), 1..120),
    ) {
        let config = GraphConfig { hub_threshold: t, ..GraphConfig::default() };
        let mut g1 = Graph::new(config);
        let mut g2 = Graph::new(config);
        g1.add_account(T0).unwrap();
        g2.add_account(T0).unwrap();
        apply(&mut g1, &ops);
        apply(&mut g2, &ops);
        round_trip(&g1, &g2)?;
    }
}
