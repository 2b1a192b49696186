//! Credit follows the identity cluster: accounts of one person (strong links:
//! phone, e-mail, device) share one limit; a household or a dormitory
//! (a shared address, a shared IP) keeps one limit per resident.

mod common;
use atobarai_core::{Category, Channel, JstDate, Product};
use atobarai_engine::{
    AuthorizeInput, Command, CustomerProfile, Engine, LinkKind, Principal, Role,
};
use common::*;

fn person(
    external_id: &str,
    name: &str,
    phone: &str,
    email: &str,
    address: &str,
) -> CustomerProfile {
    CustomerProfile {
        external_id: external_id.into(),
        name: name.into(),
        name_kana: "ヤマダ タロウ".into(),
        birth_date: JstDate::parse("1990-04-01").unwrap(),
        phone: phone.into(),
        email: email.into(),
        postal_code: "100-0013".into(),
        address: address.into(),
    }
}

fn engine_of(people: Vec<CustomerProfile>) -> Engine {
    let mut e = Engine::new(Default::default());
    let t = at("2026-06-01T10:00:00+09:00");
    e.apply(&env(
        t,
        Command::AddMerchant {
            name: "shop".into(),
            key_id: "k0".into(),
            secret_sha256: [0; 32],
        },
    ))
    .unwrap();
    for p in people {
        e.apply(&env(t, register(0, p))).unwrap();
    }
    e
}

/// An online monthly order of one daily-goods line from `device`/`ip`.
fn order(customer: u64, price: i64, device: &str, ip: &str) -> Command {
    Command::Authorize {
        merchant: 0,
        session: session_keys(device, ip),
        input: AuthorizeInput {
            merchant_order_id: format!("o-{customer}-{price}"),
            customer,
            product: Product::Monthly,
            channel: Channel::Online,
            items: vec![item(Category::DailyGoods, price, 1)],
            shipping_address: String::new(),
            device_id: device.into(),
            ip: ip.into(),
            tax_rates: Vec::new(),
        },
    }
}

fn cus(i: u64) -> String {
    atobarai_core::ids::encode("cus", i)
}

const OPERATOR: Principal = Principal::Operator(0, Role::Analyst);

/// One person, three accounts: the second spells the name, phone and
/// address differently (full-width, 丁目/番/号) but has the same phone; the
/// third has another phone and e-mail but orders from the first one's phone.
fn one_person() -> Engine {
    engine_of(vec![
        person(
            "a",
            "山田 太郎",
            "090-1111-2222",
            "taro.yamada@gmail.com",
            "東京都千代田区霞が関1-3-1 霞ビル101",
        ),
        person(
            "b",
            "山田　太郎",
            "０９０（１１１１）２２２２",
            "t-yamada@example.jp",
            "東京都千代田区霞ヶ関一丁目3番1号霞ビル101号室",
        ),
        person(
            "c",
            "山田太郎",
            "080-9999-0000",
            "yamada.t@example.com",
            "東京都千代田区霞が関1-3-1 霞ビル101",
        ),
    ])
}

#[test]
fn three_accounts_of_one_person_share_one_limit() {
    let mut e = one_person();
    let t = at("2026-06-10T12:00:00+09:00");
    // The phone spelt two ways already joined a and b at registration.
    let view = e.identity(OPERATOR, &cus(1)).unwrap();
    assert_eq!(view.members_total, 2);
    assert_eq!(view.members[1].evidence[0].kind, LinkKind::Phone);

    let a = order_of(
        &e.apply(&env(t, order(0, 30_000, "iphone-aaaa", "203.0.113.7")))
            .unwrap()
            .outcome,
    );
    assert_eq!(a.decision, "approve");
    let b = order_of(
        &e.apply(&env(t, order(1, 15_000, "ipad-bbbb", "203.0.113.8")))
            .unwrap()
            .outcome,
    );
    assert_eq!(b.decision, "approve");
    // c alone would have 50,000 available, but it orders from a's phone:
    // one person, one limit (45,000 used).
    let c = order_of(
        &e.apply(&env(t, order(2, 10_000, "iphone-aaaa", "198.51.100.1")))
            .unwrap()
            .outcome,
    );
    assert_eq!(c.decision, "decline");
    assert_eq!(c.reasons[0].code, "limit_exceeded");
    assert_eq!(customer_totals(&e, &cus(2)).exposure, 0);
    // What is left of the shared limit is still there.
    let c = order_of(
        &e.apply(&env(t, order(2, 5_000, "iphone-aaaa", "198.51.100.1")))
            .unwrap()
            .outcome,
    );
    assert_eq!(c.decision, "approve");
    let b = order_of(
        &e.apply(&env(t, order(1, 1, "ipad-bbbb", "203.0.113.8")))
            .unwrap()
            .outcome,
    );
    assert_eq!(b.reasons[0].code, "limit_exceeded");

    let view = e.identity(OPERATOR, &cus(2)).unwrap();
    assert_eq!((view.cluster, view.members_total), (0, 3));
    let members: Vec<u32> = view.members.iter().map(|m| m.customer).collect();
    assert_eq!(members, vec![2, 0, 1]);
    // c → a by the device; c → a → b by the device, then the phone.
    let path =
        |m: usize| -> Vec<LinkKind> { view.members[m].evidence.iter().map(|s| s.kind).collect() };
    assert_eq!(path(0), Vec::<LinkKind>::new());
    assert_eq!(path(1), vec![LinkKind::Device]);
    assert_eq!(path(2), vec![LinkKind::Device, LinkKind::Phone]);
    assert!(
        view.members[1]
            .links
            .iter()
            .any(|l| l.kind == LinkKind::Device && l.shared_with == 2)
    );
    e.check_invariants().unwrap();

    // Snapshot and restore: same digest, same cluster, same decision.
    let mut restored = Engine::restore(Default::default(), &e.snapshot()).unwrap();
    assert_eq!(restored.digest(), e.digest());
    assert_eq!(restored.identity(OPERATOR, &cus(2)).unwrap(), view);
    let again = order_of(
        &restored
            .apply(&env(t, order(2, 1, "iphone-aaaa", "198.51.100.1")))
            .unwrap()
            .outcome,
    );
    assert_eq!(again.reasons[0].code, "limit_exceeded");
}

#[test]
fn an_overdue_invoice_of_one_account_blocks_the_others() {
    let mut e = one_person();
    let t = at("2026-06-10T12:00:00+09:00");
    let a = order_of(
        &e.apply(&env(t, order(0, 1_000, "iphone-aaaa", "203.0.113.7")))
            .unwrap()
            .outcome,
    );
    e.apply(&env(
        t,
        Command::Capture {
            principal: Principal::Merchant(0),
            order: u64::from(a.order),
            amount: None,
        },
    ))
    .unwrap();
    // Due 2026-07-10; two days later it is overdue.
    let late = at("2026-07-12T12:00:00+09:00");
    e.apply(&env(late, Command::AdvanceClock { to: late }))
        .unwrap();
    let b = order_of(
        &e.apply(&env(late, order(1, 1_000, "ipad-bbbb", "203.0.113.8")))
            .unwrap()
            .outcome,
    );
    assert_eq!(b.decision, "decline");
    assert!(
        b.reasons.iter().any(|r| r.code == "overdue_invoice"),
        "{b:?}"
    );
}

#[test]
fn four_students_of_one_dormitory_keep_four_limits() {
    let dorm = "東京都新宿区西早稲田1-6-1 早稲田寮";
    let mut e = engine_of(
        (0..4)
            .map(|i| {
                person(
                    &format!("s{i}"),
                    &format!("学生 {i}郎"),
                    &format!("070-2000-000{i}"),
                    &format!("student{i}@example.ac.jp"),
                    dorm,
                )
            })
            .collect(),
    );
    let t = at("2026-06-10T12:00:00+09:00");
    for i in 0..4u64 {
        // Their own phones, the dormitory's Wi-Fi.
        let o = order_of(
            &e.apply(&env(
                t,
                order(i, 45_000, &format!("android-{i}{i}{i}{i}"), "203.0.113.50"),
            ))
            .unwrap()
            .outcome,
        );
        assert_eq!(o.decision, "approve", "student {i}: {o:?}");
    }
    let view = e.identity(OPERATOR, &cus(0)).unwrap();
    assert_eq!(view.members_total, 1);
    let related: Vec<u32> = view.related.iter().map(|r| r.customer).collect();
    assert_eq!(related, vec![1, 2, 3]);
    let kinds: Vec<LinkKind> = view.related[0].links.iter().map(|l| l.kind).collect();
    assert_eq!(kinds, vec![LinkKind::AddressUnit, LinkKind::Ip]);
    e.check_invariants().unwrap();
}

#[test]
fn identity_is_for_operators() {
    let e = one_person();
    let err = e.identity(Principal::Merchant(0), &cus(0)).unwrap_err();
    assert_eq!(err.kind, atobarai_engine::ErrorKind::Forbidden);
    assert_eq!(
        e.identity(OPERATOR, "cus_nope").unwrap_err().code,
        "customer_not_found"
    );
}

/// A shopper with a phone, e-mail and address of its own: nothing but a
/// device can join two of them.
fn shopper(i: u32) -> CustomerProfile {
    person(
        &format!("s{i}"),
        "佐藤 花子",
        &format!("090{:08}", 20_000_000 + i),
        &format!("shopper{i}@example.jp"),
        &format!("東京都千代田区霞が関1-{}-{}", i / 100 + 1, i % 100 + 1),
    )
}

fn order_on(customer: u64, price: i64, device: &str, tag: &str) -> Command {
    let Command::Authorize {
        merchant,
        session,
        mut input,
    } = order(customer, price, device, "")
    else {
        unreachable!("order() builds an authorization")
    };
    input.merchant_order_id = format!("{tag}-{customer}");
    Command::Authorize {
        merchant,
        session,
        input,
    }
}

fn decide(e: &mut Engine, t: atobarai_core::At, command: Command) -> O {
    order_of(&e.apply(&env(t, command)).unwrap().outcome)
}

/// Issue 8 item 7: 10,000 customers ordering from one device id (an
/// emulator's default, a shop's tablet) are 10,000 people: each is approved
/// up to its own limit, and the cluster a decision sums over stays at one
/// account (never more than the device threshold, 20).
#[test]
fn ten_thousand_customers_on_one_device_keep_their_own_limits() {
    const N: u32 = 10_000;
    let device = "emulator-default-0000";
    let mut e = engine_of((0..N).map(shopper).collect());
    let t = at("2026-06-10T12:00:00+09:00");
    let threshold = atobarai_core::Config::default()
        .identity
        .hub_threshold
        .device;
    assert_eq!(threshold, 20);
    for i in 0..u64::from(N) {
        let o = decide(&mut e, t, order_on(i, 1_000, device, "first"));
        assert_eq!(o.decision, "approve", "customer {i}: {o:?}");
        if i % 500 == 0 || i < 25 {
            // The cluster a decision works over: at most the threshold
            // while the device joins, then the customer alone.
            let view = e.identity(OPERATOR, &cus(i)).unwrap();
            let expect = if i < u64::from(threshold) { i + 1 } else { 1 };
            assert_eq!(u64::from(view.members_total), expect, "customer {i}");
        }
    }
    // Everyone has their own 49,000 left, together 490M — not one shared 50,000.
    for i in 0..u64::from(N) {
        let o = decide(&mut e, t, order_on(i, 49_000, device, "rest"));
        assert_eq!(o.decision, "approve", "customer {i}: {o:?}");
        assert_eq!(o.available_after, 0);
    }
    // And not a yen more: the limit is still each customer's own.
    for i in (0..u64::from(N)).step_by(997) {
        let o = decide(&mut e, t, order_on(i, 1, device, "over"));
        assert_eq!(o.decision, "decline");
        assert_eq!(o.reasons[0].code, "limit_exceeded");
        assert_eq!(customer_totals(&e, &cus(i)).exposure, 50_000);
    }
    // The operator sees why: the device is a hub serving 10,000 accounts.
    let view = e.identity(OPERATOR, &cus(4_242)).unwrap();
    assert_eq!((view.cluster, view.members_total), (4_242, 1));
    assert_eq!(view.hub_keys.len(), 1);
    let hub = view.hub_keys[0];
    assert_eq!((hub.kind, hub.accounts), (LinkKind::Device, N));
    assert_eq!(hub.since, t);
    let link = view.members[0]
        .links
        .iter()
        .find(|l| l.kind == LinkKind::Device)
        .unwrap();
    assert!(link.hub);
    assert_eq!((link.key, link.shared_with), (hub.key, N));
    // The first 20, joined while the device was under the threshold, were
    // split apart when it became a hub.
    assert_eq!(e.identity(OPERATOR, &cus(0)).unwrap().members_total, 1);
    e.check_invariants().unwrap();

    let restored = Engine::restore(Default::default(), &e.snapshot()).unwrap();
    assert_eq!(restored.digest(), e.digest());
    assert_eq!(restored.identity(OPERATOR, &cus(4_242)).unwrap(), view);
}

/// A cash-out ring: four accounts on one phone (the device, under the
/// threshold) are one person with one limit, and no hub key.
#[test]
fn a_ring_of_four_on_one_device_still_shares_one_limit() {
    let mut e = engine_of((0..4).map(shopper).collect());
    let t = at("2026-06-10T12:00:00+09:00");
    let device = "ring-android-7";
    let a = decide(&mut e, t, order_on(0, 30_000, device, "a"));
    assert_eq!(a.decision, "approve");
    let b = decide(&mut e, t, order_on(1, 30_000, device, "b"));
    assert_eq!(b.decision, "decline");
    assert_eq!(b.reasons[0].code, "limit_exceeded");
    let b = decide(&mut e, t, order_on(1, 20_000, device, "b2"));
    assert_eq!(b.decision, "approve");
    for i in 2..4 {
        let o = decide(&mut e, t, order_on(i, 1, device, "c"));
        assert_eq!(o.reasons[0].code, "limit_exceeded", "customer {i}");
    }
    let view = e.identity(OPERATOR, &cus(3)).unwrap();
    assert_eq!((view.cluster, view.members_total), (0, 4));
    assert!(view.hub_keys.is_empty());
    assert!(
        view.members.iter().skip(1).all(|m| m
            .evidence
            .iter()
            .map(|s| s.kind)
            .eq([LinkKind::Device]))
    );
    assert!(
        view.members[0]
            .links
            .iter()
            .any(|l| l.kind == LinkKind::Device && l.shared_with == 4 && !l.hub)
    );
    e.check_invariants().unwrap();
}

/// The configured defaults are the identity crate's (argued there).
#[test]
fn hub_threshold_defaults_agree() {
    let c = atobarai_core::Config::default().identity.hub_threshold;
    let g = atobarai_identity::HubThresholds::default();
    assert_eq!((c.phone, c.email, c.device), (g.phone, g.email, g.device));
    assert_eq!(c, atobarai_core::Config::default().rules().hub_threshold);
}
