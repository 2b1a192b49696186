//! Property tests: random entries (balanced or not, some overflowing, some
//! back in time) and random holds against the ledger's invariants.

use atobarai_core::{At, Yen};
use atobarai_ledger::{
    Account, EntryKind, Hold, HoldId, NewEntry, Points, PointsAccount, PointsLedger, Posting,
    YenLedger,
};
use proptest::prelude::*;

fn account() -> impl Strategy<Value = Account> {
    prop_oneof![
        Just(Account::Cash),
        Just(Account::PaymentFeeIncome),
        Just(Account::LateFeeIncome),
        Just(Account::DelayDamagesIncome),
        Just(Account::PointsLiability),
        Just(Account::WriteOffExpense),
        (0u32..4).prop_map(Account::CustomerReceivable),
        (0u32..4).prop_map(Account::CustomerCredit),
        (0u32..3).prop_map(Account::MerchantPayable),
    ]
}

fn amount() -> impl Strategy<Value = i64> {
    prop_oneof![
        -100_000i64..100_000,
        Just(Yen::AMOUNT_MAX.get()),
        Just(-Yen::AMOUNT_MAX.get()),
        Just(0),
    ]
}

#[derive(Debug, Clone)]
enum Op {
    /// Postings whose last leg is chosen to balance (when `balance`), else raw.
    Entry {
        dt: i64,
        legs: Vec<(Account, i64)>,
        balance: bool,
    },
    Hold {
        dt: i64,
        id: u64,
        debit: Account,
        credit: Account,
        amount: i64,
    },
    PostHold {
        dt: i64,
        id: u64,
        amount: Option<i64>,
    },
    VoidHold {
        dt: i64,
        id: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let dt = -2i64..50;
    prop_oneof![
        4 => (dt.clone(), prop::collection::vec((account(), amount()), 1..6), any::<bool>())
            .prop_map(|(dt, legs, balance)| Op::Entry { dt, legs, balance }),
        1 => (dt.clone(), 0u64..5, account(), account(), -10i64..100_000)
            .prop_map(|(dt, id, debit, credit, amount)| Op::Hold { dt, id, debit, credit, amount }),
        1 => (dt.clone(), 0u64..5, prop::option::of(-10i64..100_000))
            .prop_map(|(dt, id, amount)| Op::PostHold { dt, id, amount }),
        1 => (dt, 0u64..5).prop_map(|(dt, id)| Op::VoidHold { dt, id }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_entries_keep_invariants(ops in prop::collection::vec(op(), 1..80)) {
        let mut l = YenLedger::new();
        let mut now = 1_000i64;
        for op in ops {
            let before = l.clone();
            let result = match op {
                Op::Entry { dt, mut legs, balance } => {
                    now += dt;
                    if balance {
                        let sum: i64 = legs.iter().map(|(_, a)| *a).fold(0i64, |s, a| s.saturating_add(a));
                        legs.push((Account::Cash, sum.saturating_neg()));
                    }
                    let e = NewEntry {
                        at: At::from_unix_ms(now),
                        kind: EntryKind::Adjustment,
                        reference: 0,
                        postings: legs.iter().map(|(a, x)| Posting { account: *a, amount: Yen::new(*x) }).collect(),
                    };
                    let sum: i128 = e.postings.iter().map(|p| i128::from(p.amount.get())).sum();
                    let r = l.post(e.clone()).map(|_| ());
                    if r.is_ok() {
                        // Accepted entries balance and are stored as given.
                        prop_assert_eq!(sum, 0);
                        let last = l.entries().last().unwrap();
                        prop_assert_eq!(&last.postings, &e.postings);
                    }
                    r
                }
                Op::Hold { dt, id, debit, credit, amount } => {
                    now += dt;
                    l.hold(Hold { id: HoldId(id), at: At::from_unix_ms(now), debit, credit, amount: Yen::new(amount), reference: id })
                }
                Op::PostHold { dt, id, amount } => {
                    now += dt;
                    l.post_hold(HoldId(id), At::from_unix_ms(now), amount.map(Yen::new)).map(|_| ())
                }
                Op::VoidHold { dt, id } => {
                    now += dt;
                    l.void_hold(HoldId(id), At::from_unix_ms(now)).map(|_| ())
                }
            };
            if result.is_err() {
                // An error changes nothing.
                prop_assert_eq!(&l, &before);
            }
            prop_assert!(l.check_invariants().is_ok(), "{:?}", l.check_invariants());
        }
        // Total over all accounts is zero; replay reproduces the balances.
        let total: i128 = l.balances().map(|(_, b)| i128::from(b.get())).sum();
        prop_assert_eq!(total, 0);
        let posted = l.recompute_balances().unwrap().posted;
        let incremental: std::collections::BTreeMap<Account, i64> = l.balances().map(|(a, b)| (a, b.get())).collect();
        prop_assert_eq!(posted, incremental);
        // A serialized and restored ledger is the same ledger.
        let json = serde_json::to_string(&l).unwrap();
        let back: YenLedger = serde_json::from_str(&json).unwrap();
        prop_assert_eq!(back, l);
    }

    #[test]
    fn points_book_is_separate_and_balanced(grants in prop::collection::vec((0u32..3, 1i64..1000), 1..30)) {
        let mut p = PointsLedger::new();
        for (i, (c, n)) in grants.iter().enumerate() {
            p.post(atobarai_ledger::transfer(
                At::from_unix_ms(i as i64),
                EntryKind::PointsGrant,
                i as u64,
                PointsAccount::Issued,
                PointsAccount::Customer(*c),
                Points::new(*n),
            )).unwrap();
        }
        p.assert_invariants();
        let issued: i64 = grants.iter().map(|(_, n)| *n).sum();
        prop_assert_eq!(p.balance(PointsAccount::Issued), Points::new(issued));
    }
}
