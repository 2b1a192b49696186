//! Products as configuration: carrier billing as a configured product with a
//! merchant cap (App Store ¥30,000), its charges on the partner's bill, and a
//! settlement that reconciles to the ledger.

mod common;
use atobarai_billing::schedule::YearMonth;
use atobarai_core::products::{Cycle, ProductCatalog, ProductDef, product_id};
use atobarai_core::{Category, Channel, Config, Product, Yen};
use atobarai_engine::{Command, Engine, Principal};
use common::*;

fn carrier_def() -> ProductDef {
    ProductDef {
        name: "carrier".into(),
        cycle: Cycle::PartnerMonthly,
        partner: Some("carrier".into()),
        channels: vec!["online".into()],
        cap_yen: Some(Yen::new(50_000)),
        channel_caps_yen: Default::default(),
        merchant_caps_yen: [("App Store".to_string(), Yen::new(30_000))].into(),
        due_day: Some(27),
        partner_fee_bp: 300,
        points: false,
    }
}

fn carrier_config() -> Config {
    let mut config = Config::default();
    let mut catalog = ProductCatalog::default();
    catalog.products.push(carrier_def());
    config.products = catalog;
    config.validate().expect("the carrier catalog checks");
    config
}

fn carrier() -> Product {
    Product::Partner(product_id("carrier"))
}

/// Two merchants, 0 "shop" and 1 "App Store"; customers 0 and 1 are the
/// shop's, customer 2 the App Store's (customers belong to a merchant).
fn engine() -> Engine {
    let mut e = engine_with_config(2, carrier_config());
    let t = at("2026-06-01T10:00:00+09:00");
    e.apply(&env(
        t,
        Command::AddMerchant {
            name: "App Store".into(),
            key_id: "k1".into(),
            secret_sha256: [1; 32],
        },
    ))
    .unwrap();
    e.apply(&env(t, register(1, profile(2)))).unwrap();
    e
}

fn order(customer: u64, merchant: u32, product: Product, price: i64, id: &str) -> Command {
    let mut c = authorize(
        customer,
        product,
        Channel::Online,
        vec![item(Category::DigitalContent, price, 1)],
    );
    if let Command::Authorize {
        merchant: m, input, ..
    } = &mut c
    {
        *m = merchant;
        input.merchant_order_id = id.into();
    }
    c
}

fn capture(e: &mut Engine, when: &str, merchant: u32, order: u32) {
    e.apply(&env(
        at(when),
        Command::Capture {
            principal: Principal::Merchant(merchant),
            order: u64::from(order),
            amount: None,
        },
    ))
    .unwrap();
}

#[test]
fn carrier_billing_caps_app_store_at_30000_a_month() {
    let mut e = engine();
    let t = "2026-06-05T12:00:00+09:00";
    // Customer 0 has a ¥50,000 limit; the App Store cap is ¥30,000.
    let a = order_of(
        &e.apply(&env(at(t), order(2, 1, carrier(), 20_000, "as-1")))
            .unwrap()
            .outcome,
    );
    assert_eq!(a.decision, "approve");
    let b = order_of(
        &e.apply(&env(at(t), order(2, 1, carrier(), 15_000, "as-2")))
            .unwrap()
            .outcome,
    );
    assert_eq!(b.decision, "decline");
    assert_eq!(
        b.reasons.iter().map(|r| r.code).collect::<Vec<_>>(),
        ["product_cap_exceeded"]
    );
    // Up to the cap is fine; the shop's customers on the same product are
    // not under the App Store cap (only the product's ¥50,000).
    let c = order_of(
        &e.apply(&env(at(t), order(2, 1, carrier(), 10_000, "as-3")))
            .unwrap()
            .outcome,
    );
    assert_eq!(c.decision, "approve");
    let d = order_of(
        &e.apply(&env(at(t), order(0, 0, carrier(), 40_000, "shop-1")))
            .unwrap()
            .outcome,
    );
    assert_eq!(d.decision, "approve");
    // A new month, a new cycle: the June orders were captured (and so
    // stay owed, the shared limit counting them), but the App Store cap
    // counts July only.
    for o in [a.order, c.order] {
        capture(&mut e, t, 1, o);
    }
    e.apply(&env(
        at("2026-06-20T12:00:00+09:00"),
        payment(2, 30_000, "p1"),
    ))
    .unwrap();
    let g = order_of(
        &e.apply(&env(
            at("2026-07-02T12:00:00+09:00"),
            order(2, 1, carrier(), 25_000, "as-5"),
        ))
        .unwrap()
        .outcome,
    );
    assert_eq!(g.decision, "approve", "{g:?}");
    e.check_invariants().unwrap();
}

#[test]
fn the_catalog_decides_products_and_channels() {
    let mut e = engine();
    let t = at("2026-06-05T12:00:00+09:00");
    tick(&mut e, "2026-06-05T12:00:00+09:00");
    // A name not in the catalog: unknown_product on field product.
    let before = e.digest();
    let err = e
        .apply(&env(
            t,
            order(0, 0, Product::Partner(product_id("nope")), 1_000, "x"),
        ))
        .unwrap_err();
    assert_eq!((err.code, err.field), ("unknown_product", Some("product")));
    // A channel the product is not sold on.
    let mut cmd = order(0, 0, carrier(), 1_000, "y");
    if let Command::Authorize { input, .. } = &mut cmd {
        input.channel = Channel::InStore;
    }
    let err = e.apply(&env(t, cmd)).unwrap_err();
    assert_eq!(
        (err.code, err.field),
        ("channel_not_supported", Some("channel"))
    );
    // The built-in per-order product keeps its message.
    let err = e
        .apply(&env(
            t,
            authorize(
                0,
                Product::PerOrder,
                Channel::InStore,
                vec![item(Category::Food, 100, 1)],
            ),
        ))
        .unwrap_err();
    assert_eq!(
        err.message,
        "the per-order invoice product is sold online only"
    );
    assert_eq!(e.digest(), before, "nothing changed");
}

#[test]
fn the_default_catalog_has_no_partner_products() {
    let mut e = engine_with(1);
    let err = e
        .apply(&env(
            at("2026-06-05T12:00:00+09:00"),
            order(0, 0, carrier(), 1_000, "x"),
        ))
        .unwrap_err();
    assert_eq!(err.code, "unknown_product");
    assert!(
        e.partner_settlement("carrier", YearMonth::new(2026, 6).unwrap())
            .is_none()
    );
}

#[test]
fn a_cap_above_the_credit_limit_and_an_unknown_channel_are_config_problems() {
    let mut config = carrier_config();
    config.products.products[2]
        .merchant_caps_yen
        .insert("App Store".into(), Yen::new(200_000));
    config.products.products[2].channels.push("kiosk".into());
    let problems = config.validate().unwrap_err();
    let fields: Vec<&str> = problems.iter().map(|p| p.field.as_ref()).collect();
    assert_eq!(
        fields,
        ["products[2].channels", "products[2].merchant_caps_yen"]
    );
}

#[test]
fn carrier_charges_go_on_the_partners_bill_and_the_settlement_reconciles() {
    let mut e = engine();
    let t = "2026-06-05T12:00:00+09:00";
    let mut orders = Vec::new();
    for (customer, merchant, price, id) in [
        (2, 1, 12_000, "as-1"),
        (0, 0, 8_000, "shop-1"),
        (1, 0, 5_000, "shop-2"),
    ] {
        let o = order_of(
            &e.apply(&env(at(t), order(customer, merchant, carrier(), price, id)))
                .unwrap()
                .outcome,
        );
        assert_eq!(o.decision, "approve");
        capture(&mut e, t, merchant, o.order);
        orders.push((merchant, o.order));
    }
    // A monthly order is not the carrier's.
    capture_all(&mut e, t, 3_000, Product::Monthly);
    // Due on the partner's bill: the 27th of next month; no invoice of ours.
    let (_, invoices, _) = e.invoices(Principal::System, &cus(1)).unwrap();
    assert!(invoices.is_empty());
    let v = e
        .order(
            Principal::System,
            &atobarai_core::ids::encode("ord", u64::from(orders[0].1)),
        )
        .unwrap();
    assert_eq!(v.due_date.unwrap().to_string(), "2026-07-27");
    // A refund in June, and one in July (next month's settlement).
    e.apply(&env(
        at("2026-06-10T12:00:00+09:00"),
        Command::Refund {
            principal: Principal::Merchant(0),
            order: u64::from(orders[1].1),
            amount: Yen::new(2_000),
        },
    ))
    .unwrap();
    e.apply(&env(
        at("2026-07-03T12:00:00+09:00"),
        Command::Refund {
            principal: Principal::Merchant(0),
            order: u64::from(orders[2].1),
            amount: Yen::new(5_000),
        },
    ))
    .unwrap();
    e.check_invariants().unwrap();

    let june = e
        .partner_settlement("carrier", YearMonth::new(2026, 6).unwrap())
        .unwrap();
    assert_eq!(june.products, ["carrier"]);
    assert_eq!(june.lines.len(), 4);
    assert_eq!(
        (june.charges, june.refunds, june.net),
        (Yen::new(25_000), Yen::new(2_000), Yen::new(23_000))
    );
    // 3 % of ¥23,000.
    assert_eq!(june.partner_fee, Yen::new(690));
    assert_eq!(june.payable, Yen::new(22_310));
    assert!(june.reconciles());
    // The ledger's figures: Σ over the carrier orders of what the merchant
    // payable was credited at capture minus debited at refund, in June.
    let by_ledger = ledger_net(&e, &orders, "2026-06");
    assert_eq!(june.net.get(), by_ledger);

    let july = e
        .partner_settlement("carrier", YearMonth::new(2026, 7).unwrap())
        .unwrap();
    assert_eq!(
        (july.charges, july.refunds, july.net, july.lines.len()),
        (Yen::ZERO, Yen::new(5_000), Yen::new(-5_000), 1)
    );
    assert_eq!(july.partner_fee, Yen::ZERO);
    assert_eq!(july.net.get(), ledger_net(&e, &orders, "2026-07"));
}

/// From the ledger as operators read it (the order views' captured and
/// refunded figures cannot date a refund, so ask the engine's ledger
/// export: `Capture` minus `Refund` entries of these orders in `month`).
fn ledger_net(e: &Engine, orders: &[(u32, u32)], month: &str) -> i64 {
    let mut net = 0;
    for entry in e.ledger_entries() {
        if !entry.at.jst_date().to_string().starts_with(month) {
            continue;
        }
        if !orders.iter().any(|&(_, o)| u64::from(o) == entry.reference) {
            continue;
        }
        let debits: i64 = entry
            .postings
            .iter()
            .filter(|p| p.amount.is_positive())
            .map(|p| p.amount.get())
            .sum();
        match entry.kind {
            atobarai_ledger::EntryKind::Capture => net += debits,
            atobarai_ledger::EntryKind::Refund => net -= debits,
            _ => {}
        }
    }
    net
}

#[test]
fn a_carrier_order_with_points_false_earns_no_points_and_a_monthly_one_does() {
    let mut e = engine();
    assert!(!carrier_def().points);
    let carrier_order = capture_all(&mut e, "2026-06-05T12:00:00+09:00", 10_000, carrier());
    e.apply(&env(
        at("2026-06-10T12:00:00+09:00"),
        payment(0, 10_000, "p-carrier"),
    ))
    .unwrap();
    let v = e
        .order(
            Principal::System,
            &atobarai_core::ids::encode("ord", carrier_order),
        )
        .unwrap();
    assert_eq!(
        v.paid,
        Yen::new(10_000),
        "the carrier order is paid in full"
    );
    assert_eq!(e.balance(Principal::System, &cus(0)).unwrap().points, 0);

    // The built-in monthly product keeps earning (points = true): 0.5 %.
    capture_all(
        &mut e,
        "2026-06-11T12:00:00+09:00",
        10_000,
        Product::Monthly,
    );
    e.apply(&env(
        at("2026-06-12T12:00:00+09:00"),
        payment(0, 10_000, "p-monthly"),
    ))
    .unwrap();
    assert_eq!(e.balance(Principal::System, &cus(0)).unwrap().points, 50);
    e.check_invariants().unwrap();
}
