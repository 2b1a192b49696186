//! Operator-console listings: review queue, a customer's orders, lookups by
//! external id and merchant order id, with cursor pagination; and the same
//! answers after a snapshot restore (indexes rebuilt).

mod common;
use atobarai_core::{Category, Channel, Product};
use atobarai_engine::{Command, Engine, ErrorKind, PAGE_LIMIT_MAX, Principal, ReviewVerdict, Role};
use common::*;

const T: &str = "2026-06-10T12:00:00+09:00";

fn order(e: &mut Engine, customer: u64, category: Category, price: i64) -> u32 {
    let a = e
        .apply(&env(
            at(T),
            authorize(
                customer,
                Product::Monthly,
                Channel::Online,
                vec![item(category, price, 1)],
            ),
        ))
        .unwrap();
    order_of(&a.outcome).order
}

fn ids(p: &atobarai_engine::Page<atobarai_engine::OrderView>) -> Vec<u32> {
    p.items.iter().map(|o| o.order).collect()
}

#[test]
fn listings_page_oldest_first_and_survive_a_restore() {
    let mut e = engine_with(2);
    tick(&mut e, T);
    let op = Principal::Operator(0, Role::Analyst);
    let a = order(&mut e, 0, Category::Food, 1_000);
    let r1 = order(&mut e, 0, Category::GiftCard, 2_000);
    let b = order(&mut e, 1, Category::Food, 1_000);
    let r2 = order(&mut e, 1, Category::GiftCard, 2_000);
    let r3 = order(&mut e, 0, Category::GiftCard, 1_000);

    let p1 = e.orders_in_review(op, None, 2).unwrap();
    assert_eq!(ids(&p1), vec![r1, r2]);
    let p2 = e.orders_in_review(op, p1.next, 2).unwrap();
    assert_eq!((ids(&p2), p2.next), (vec![r3], None));

    e.apply(&env(
        at(T),
        Command::ResolveReview {
            order: u64::from(r2),
            verdict: ReviewVerdict::Approve,
        },
    ))
    .unwrap();
    assert_eq!(
        ids(&e.orders_in_review(op, None, 10).unwrap()),
        vec![r1, r3]
    );

    let mine = e.customer_orders(op, &cus(0), None, 2).unwrap();
    assert_eq!(ids(&mine), vec![a, r1]);
    let rest = e.customer_orders(op, &cus(0), mine.next, 2).unwrap();
    assert_eq!((ids(&rest), rest.next), (vec![r3], None));
    assert_eq!(
        ids(&e
            .customer_orders(Principal::Merchant(0), &cus(1), None, 5)
            .unwrap()),
        vec![b, r2]
    );

    // Every test order uses merchant order id "o-1".
    let by_moid = e
        .orders_by_merchant_order_id(Principal::Merchant(0), 0, "o-1", Some(r1), 100)
        .unwrap();
    assert_eq!(ids(&by_moid), vec![b, r2, r3]);
    let other = e.orders_by_merchant_order_id(Principal::Merchant(1), 0, "o-1", None, 1);
    assert_eq!(other.unwrap_err().kind, ErrorKind::NotFound);

    let ext = profile(1).external_id;
    let c = e.customer_by_external_id(op, 0, &ext).unwrap();
    assert_eq!(c.customer, 1);
    assert!(e.customer_by_external_id(op, 0, "nobody").is_err());

    for bad in [0, PAGE_LIMIT_MAX + 1] {
        assert_eq!(
            e.orders_in_review(op, None, bad).unwrap_err().code,
            "limit_out_of_range"
        );
    }
    assert_eq!(
        e.orders_in_review(Principal::Merchant(0), None, 1)
            .unwrap_err()
            .kind,
        ErrorKind::Forbidden
    );

    let restored = Engine::restore(Default::default(), &e.snapshot()).unwrap();
    assert_eq!(
        restored.orders_in_review(op, None, 10).unwrap(),
        e.orders_in_review(op, None, 10).unwrap()
    );
    assert_eq!(
        restored.customer_orders(op, &cus(0), None, 10).unwrap(),
        e.customer_orders(op, &cus(0), None, 10).unwrap()
    );
}
