//! The identity graph: scenario tests from DOMAIN.md (one person, several
//! accounts; a dormitory that must not become one person), withdrawal,
//! explanations, determinism, and union-find checked against a naive
//! search in a property test.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use atobarai_identity::graph::{DAY_MS, GraphConfig};
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
            (_, Some(lk)) => g
                .link(account, lk, key_hash(SECRET, lk, &k.value), at_ms)
                .unwrap(),
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

#[derive(Clone, Debug)]
enum Op {
    Add,
    Link(u8, u8, u8), // account, kind, key
    Withdraw(u8, u8, u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => Just(Op::Add),
        6 => (any::<u8>(), 0u8..5, 0u8..12).prop_map(|(a, k, v)| Op::Link(a, k, v)),
        2 => (any::<u8>(), 0u8..5, 0u8..12).prop_map(|(a, k, v)| Op::Withdraw(a, k, v)),
    ]
}

const KINDS: [LinkKind; 5] = [
    LinkKind::Phone,
    LinkKind::Email,
    LinkKind::Device,
    LinkKind::AddressUnit,
    LinkKind::Ip,
];

fn apply(g: &mut Graph, ops: &[Op]) -> BTreeSet<(u32, usize, u8)> {
    let mut links = BTreeSet::new();
    for op in ops {
        let n = g.account_count() as u32;
        match *op {
            Op::Add => {
                g.add_account(T0).unwrap();
            }
            Op::Link(a, k, v) | Op::Withdraw(a, k, v) if n > 0 => {
                let acc = u32::from(a) % n;
                let kind = KINDS[k as usize];
                let key = key_hash(SECRET, kind, &v.to_string());
                if matches!(op, Op::Link(..)) {
                    g.link(acc, kind, key, T0).unwrap();
                    links.insert((acc, k as usize, v));
                } else {
                    let had = g.withdraw(acc, kind, key).unwrap();
                    assert_eq!(had, links.remove(&(acc, k as usize, v)));
                }
            }
            _ => {}
        }
    }
    links
}

/// Clusters by breadth-first search over strong shared keys: the reference.
fn naive_clusters(n: u32, links: &BTreeSet<(u32, usize, u8)>) -> Vec<u32> {
    let mut by_key: BTreeMap<(usize, u8), Vec<u32>> = BTreeMap::new();
    for &(a, k, v) in links {
        if KINDS[k].is_strong() {
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
            for (&(a, k, v), _) in links.iter().filter(|(a, _, _)| *a == x).map(|l| (l, ())) {
                let _ = a;
                if !KINDS[k].is_strong() {
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

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn union_find_agrees_with_breadth_first_search(ops in prop::collection::vec(op(), 1..200)) {
        let mut g = Graph::new(GraphConfig::default());
        g.add_account(T0).unwrap();
        let links = apply(&mut g, &ops);
        let n = g.account_count() as u32;
        let naive = naive_clusters(n, &links);
        for a in 0..n {
            prop_assert_eq!(g.cluster_of(a), Some(naive[a as usize]));
        }
        g.check_invariants().map_err(TestCaseError::fail)?;
        // Every pair in a cluster has an explanation whose steps are real links.
        for a in 0..n.min(20) {
            for b in 0..n.min(20) {
                match g.explain(a, b) {
                    Some(path) => {
                        prop_assert_eq!(naive[a as usize], naive[b as usize]);
                        let mut at = a;
                        for e in &path {
                            prop_assert_eq!(e.from, at);
                            prop_assert!(e.kind.is_strong());
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
    }

    #[test]
    fn same_operations_same_bytes_and_a_faithful_round_trip(ops in prop::collection::vec(op(), 1..120)) {
        let mut g1 = Graph::new(GraphConfig::default());
        let mut g2 = Graph::new(GraphConfig::default());
        g1.add_account(T0).unwrap();
        g2.add_account(T0).unwrap();
        apply(&mut g1, &ops);
        apply(&mut g2, &ops);
        let b1 = postcard::to_stdvec(&g1).unwrap();
        let b2 = postcard::to_stdvec(&g2).unwrap();
        prop_assert_eq!(&b1, &b2);
        let back: Graph = postcard::from_bytes(&b1).unwrap();
        back.check_invariants().map_err(TestCaseError::fail)?;
        prop_assert_eq!(postcard::to_stdvec(&back).unwrap(), b1);
        for a in 0..g1.account_count() as u32 {
            prop_assert_eq!(back.cluster_of(a), g1.cluster_of(a));
            prop_assert_eq!(back.links_of(a), g1.links_of(a));
        }
    }
}
