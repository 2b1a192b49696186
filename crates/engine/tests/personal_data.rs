//! Personal data sealed at the edge and erased on request: the engine
//! stores the shell's ciphertext, never opens it, decides the age rule from
//! the clear birth date, and an erasure changes no money.

mod common;

use atobarai_core::{Category, Channel, JstDate, PaymentMethod, Product};
use atobarai_engine::{
    Command, Engine, Envelope, PersonalData, Principal, Role, SealedPii, SealedProfile,
};
use common::*;

fn sealed(n: u32, birth: &str) -> Command {
    let p = profile(n);
    Command::RegisterSealedCustomer {
        merchant: 0,
        identity: identity_keys(&p),
        profile: SealedProfile {
            external_id: p.external_id,
            born_by: JstDate::parse(birth).unwrap(),
            pii: SealedPii {
                scheme: 1,
                subject: [n as u8; 16],
                nonce: [7; 24],
                // Stands for the shell's ciphertext: the engine never reads it.
                ciphertext: format!("opaque-{n}").into_bytes(),
            },
        },
        payment_method: PaymentMethod::ConvenienceStore,
    }
}

fn cus(n: u64) -> String {
    atobarai_core::ids::encode("cus", n)
}

fn erase(principal: Principal, customer: u64) -> Command {
    Command::EraseCustomerPii {
        principal,
        customer,
    }
}

/// Two clear customers (0, 1), two sealed (2, 3), orders captured and
/// partly paid, a month closed.
fn history() -> (Engine, Vec<Envelope>) {
    let mut e = engine_with(2);
    let t = at("2026-06-01T10:00:00+09:00");
    let mut journal = Vec::new();
    let run = |e: &mut Engine, journal: &mut Vec<Envelope>, env: Envelope| {
        e.apply(&env).unwrap();
        journal.push(env);
    };
    run(&mut e, &mut journal, env(t, sealed(2, "1988-02-29")));
    run(&mut e, &mut journal, env(t, sealed(3, "2000-12-31")));
    for c in 0..4u64 {
        let auth = env(
            t,
            authorize(
                c,
                Product::Monthly,
                Channel::Online,
                vec![item(Category::DailyGoods, 3_000, 1)],
            ),
        );
        let a = e.apply(&auth).unwrap();
        journal.push(auth);
        let o = order_of(&a.outcome);
        assert_eq!(o.decision, "approve");
        run(
            &mut e,
            &mut journal,
            env(
                t,
                Command::Capture {
                    principal: Principal::Merchant(0),
                    order: u64::from(o.order),
                    amount: None,
                },
            ),
        );
    }
    run(&mut e, &mut journal, env(t, payment(1, 1_000, "p-1")));
    run(&mut e, &mut journal, env(t, payment(2, 3_500, "p-2")));
    run(
        &mut e,
        &mut journal,
        env(
            at("2026-07-02T09:00:00+09:00"),
            Command::AdvanceClock {
                to: at("2026-07-02T09:00:00+09:00"),
            },
        ),
    );
    (e, journal)
}

/// Everything money: each customer's balance and account view, and the
/// invariants (ledger balanced, totals equal to recomputed ones).
fn money(e: &Engine) -> Vec<String> {
    e.check_invariants().unwrap();
    (0..4)
        .map(|n| {
            let b = e.balance(Principal::System, &cus(n)).unwrap();
            let v = e.customer(Principal::System, &cus(n)).unwrap();
            format!("{b:?} {v:?}")
        })
        .collect()
}

#[test]
fn sealed_customers_hold_ciphertext_only_and_erasure_keeps_the_money() {
    let (mut e, _) = history();
    assert!(matches!(
        e.personal_data(Principal::System, &cus(2)).unwrap(),
        PersonalData::Sealed { ref external_id, ref pii, .. }
            if external_id == "c-2" && pii.ciphertext == b"opaque-2"
    ));
    assert!(matches!(
        e.personal_data(Principal::System, &cus(1)).unwrap(),
        PersonalData::Clear(ref p) if p.name == "山田 太郎"
    ));
    // The sealed customers' clear fields are nowhere in the state.
    let snap = e.snapshot();
    let phone = profile(2).phone;
    assert!(!snap.windows(phone.len()).any(|w| w == phone.as_bytes()));

    let before = money(&e);
    let identity_before = e.identity(Principal::System, &cus(2)).unwrap();
    let t = e.now();
    let admin = Principal::Operator(0, Role::Admin);
    for c in [1, 2] {
        let a = e.apply(&env(t, erase(admin, c))).unwrap();
        assert!(a.changed);
    }
    // Erasing again changes nothing.
    assert!(!e.apply(&env(t, erase(admin, 2))).unwrap().changed);
    assert_eq!(money(&e), before, "an erasure moves no money");
    assert_eq!(
        e.identity(Principal::System, &cus(2)).unwrap(),
        identity_before,
        "linking keeps working on the keyed hashes"
    );
    for c in [1, 2] {
        match e.personal_data(Principal::System, &cus(c)).unwrap() {
            PersonalData::Erased { external_id, at } => {
                assert_eq!(external_id, format!("c-{c}"));
                assert_eq!(at, t);
            }
            other => panic!("{other:?}"),
        }
    }
    // The clear profile of customer 1 and the ciphertext of customer 2 are
    // gone from the state and its snapshots.
    let snap = e.snapshot();
    for gone in [profile(1).email.as_bytes(), b"opaque-2".as_slice()] {
        assert!(!snap.windows(gone.len()).any(|w| w == gone));
    }
    let restored = Engine::restore(Default::default(), &snap).unwrap();
    assert_eq!(restored.digest(), e.digest());
    assert_eq!(money(&restored), before);

    // The customer still pays what it owes after the erasure.
    let paid = e.apply(&env(t, payment(2, 100, "p-3"))).unwrap();
    assert!(paid.changed);
    e.check_invariants().unwrap();
}

#[test]
fn only_operators_erase_and_read_personal_data() {
    let (mut e, _) = history();
    let t = e.now();
    for who in [
        Principal::Merchant(0),
        Principal::Operator(0, Role::Analyst),
        Principal::Operator(0, Role::Payments),
    ] {
        let err = e.apply(&env(t, erase(who, 2))).unwrap_err();
        assert!(
            matches!(err.code, "forbidden" | "read_only"),
            "{who:?}: {err:?}"
        );
    }
    let missing = e.apply(&env(t, erase(Principal::System, 99))).unwrap_err();
    assert_eq!(missing.code, "customer_not_found");
    assert!(e.personal_data(Principal::Merchant(0), &cus(2)).is_err());
    assert!(
        e.personal_data(Principal::Operator(0, Role::Payments), &cus(2))
            .is_err()
    );
    assert!(
        e.personal_data(Principal::Operator(0, Role::Analyst), &cus(2))
            .is_ok()
    );
}

#[test]
fn the_age_rule_reads_the_born_by_date_and_replays() {
    let mut e = engine_with(0);
    let t = at("2026-06-01T10:00:00+09:00");
    let young = e.apply(&env(t, sealed(5, "2010-01-01"))).unwrap_err();
    assert_eq!(young.code, "age_below_minimum");
    let dup = e.apply(&env(t, sealed(6, "1990-01-01")));
    assert!(dup.is_ok());
    let again = e.apply(&env(t, sealed(6, "1990-01-01"))).unwrap_err();
    assert_eq!(again.code, "external_id_taken");

    // The same records replay to the same state, ciphertext included.
    let (a, journal) = history();
    let mut b = engine_with(2);
    for env in &journal {
        let bytes = env.encode();
        b.apply(&Envelope::decode(&bytes).unwrap()).unwrap();
    }
    assert_eq!(a.digest(), b.digest());
}
