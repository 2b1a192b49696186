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

/// A random multi-leg entry that balances by construction: `legs` debits
/// (or credits, by sign) and one closing leg on another account.
fn balanced_entry() -> impl Strategy<Value = (Vec<(Account, i64)>, Account)> {
    (
        prop::collection::vec(
            (account(), prop_oneof![1i64..1_000_000, -1_000_000i64..0]),
            1..8,
        ),
        account(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Only valid, balanced posts: every one is accepted; afterwards every
    /// entry balances, the accounts sum to zero, and each balance equals the
    /// sum of its postings computed independently in i128.
    #[test]
    fn every_entry_balances_after_random_posts(entries in prop::collection::vec(balanced_entry(), 1..60)) {
        let mut l = YenLedger::new();
        let mut expected: std::collections::BTreeMap<Account, i128> = Default::default();
        for (i, (legs, closing)) in entries.into_iter().enumerate() {
            let sum: i64 = legs.iter().map(|(_, a)| a).sum();
            let mut postings: Vec<Posting<Account, Yen>> = legs
                .iter()
                .map(|(a, x)| Posting { account: *a, amount: Yen::new(*x) })
                .collect();
            if sum != 0 {
                postings.push(Posting { account: closing, amount: Yen::new(-sum) });
            }
            if postings.len() < 2 {
                continue;
            }
            for p in &postings {
                *expected.entry(p.account).or_insert(0) += i128::from(p.amount.get());
            }
            let before = l.entries().len() as u64;
            let id = l.post(NewEntry {
                at: At::from_unix_ms(i as i64),
                kind: EntryKind::Adjustment,
                reference: i as u64,
                postings,
            }).expect("a balanced entry within limits is accepted");
            prop_assert_eq!(id.0, before);
        }
        for e in l.entries() {
            let s: i128 = e.postings.iter().map(|p| i128::from(p.amount.get())).sum();
            prop_assert_eq!(s, 0, "entry {:?} balances", e.id);
            prop_assert!(e.postings.len() >= 2);
        }
        let total: i128 = l.balances().map(|(_, b)| i128::from(b.get())).sum();
        prop_assert_eq!(total, 0);
        for (account, want) in expected {
            prop_assert_eq!(i128::from(l.balance(account).get()), want);
        }
        l.assert_invariants();
    }

    /// Holds: pending balances are exactly the open holds, a post never
    /// moves more than was held, and voiding gives back exactly the hold.
    #[test]
    fn holds_never_exceed_what_they_hold(
        ops in prop::collection::vec((0u64..6, 1i64..100_000, prop::option::of(1i64..150_000), any::<bool>()), 1..60),
    ) {
        let mut l = YenLedger::new();
        for (i, (id, amount, post, void)) in ops.into_iter().enumerate() {
            let at = At::from_unix_ms(i as i64);
            let hold = HoldId(id);
            match l.open_hold(hold).copied() {
                None => {
                    l.hold(Hold {
                        id: hold,
                        at,
                        debit: Account::CustomerReceivable(u32::try_from(id).unwrap()),
                        credit: Account::MerchantPayable(0),
                        amount: Yen::new(amount),
                        reference: id,
                    }).unwrap();
                }
                Some(open) if void => {
                    prop_assert_eq!(l.void_hold(hold, at), Ok(open.amount));
                }
                Some(open) => {
                    let before = l.balance(open.debit);
                    match l.post_hold(hold, at, post.map(Yen::new)) {
                        Ok(_) => {
                            let posted = post.unwrap_or(open.amount.get());
                            prop_assert!(posted <= open.amount.get());
                            prop_assert_eq!(l.balance(open.debit).get(), before.get() + posted);
                        }
                        Err(e) => {
                            prop_assert!(post.unwrap() > open.amount.get(), "{e}");
                            prop_assert_eq!(l.balance(open.debit), before);
                        }
                    }
                }
            }
            // Pending balances are exactly the open holds.
            let held: i64 = l.open_holds().map(|h| h.amount.get()).sum();
            prop_assert_eq!(l.pending_balance(Account::MerchantPayable(0)).get(), -held);
            l.assert_invariants();
        }
    }
}
