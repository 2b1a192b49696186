//! Gift-card issuer costs, in process (issue 13):
//! - revoking every code of a 10,000-code identity cluster (preview read +
//!   the revocation command; target ≤ 1 s), half of them redeemed into
//!   wallets that are debited;
//! - redemptions applied per second on the engine (no journal);
//! - memory per issued code (resident set growth and snapshot bytes).
//!
//! `cargo bench -p atobarai-engine --bench gift_cards`
//! (`ATOBARAI_BENCH_CODES` scales the memory part, default 1,000,000.)

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/mod.rs"]
mod common;
use atobarai_core::{Category, Channel, JstDate, PaymentMethod, Product, Yen};
use atobarai_engine::{
    AuthorizeInput, Command, CustomerProfile, Engine, Envelope, IdentityKeys, KeyHash, LineItem,
    Outcome, Principal, ReviewVerdict, RevocationReason, RevocationTarget, SessionKeys,
};
use common::*;
use std::time::Instant;

const ISSUER: Principal = Principal::Merchant(0);

fn apply(e: &mut Engine, command: Command) -> Outcome {
    e.apply(&Envelope {
        at: t0(),
        idem: None,
        command,
    })
    .unwrap_or_else(|err| panic!("{err}"))
    .outcome
}

fn kh(kind: u8, n: u64) -> Option<KeyHash> {
    let mut k = [kind; 16];
    k[..8].copy_from_slice(&n.to_le_bytes());
    Some(KeyHash(k))
}

fn code(k: u64) -> [u8; 32] {
    let mut h = [0xC0; 32];
    h[..8].copy_from_slice(&k.to_le_bytes());
    h
}

/// An issuer and `accounts` customers; `chained`: account i shares its
/// phone with i−1 or its e-mail with i+1 alternately (every key held by two
/// accounts, below the hub thresholds), so all are one identity cluster.
fn issuer_with(accounts: u64, chained: bool) -> Engine {
    let mut e = Engine::new(Default::default());
    apply(
        &mut e,
        Command::AddIssuerMerchant {
            name: "issuer".into(),
            key_id: "k".into(),
            secret_sha256: [0; 32],
        },
    );
    for i in 0..accounts {
        let (phone, email) = if chained {
            (i / 2, i.div_ceil(2))
        } else {
            (i, i)
        };
        apply(
            &mut e,
            Command::RegisterCustomer {
                merchant: 0,
                profile: CustomerProfile {
                    external_id: format!("c-{i}"),
                    name: "山田 太郎".into(),
                    name_kana: "ヤマダ タロウ".into(),
                    birth_date: JstDate::parse("1990-04-01").unwrap(),
                    phone: format!("090{i:08}"),
                    email: format!("u{i}@example.jp"),
                    postal_code: "100-0013".into(),
                    address: "東京都千代田区霞が関1-3-1".into(),
                },
                payment_method: PaymentMethod::ConvenienceStore,
                identity: IdentityKeys {
                    phone: kh(1, phone),
                    email: kh(2, email),
                    address_unit: kh(3, i),
                    name: kh(4, i),
                },
            },
        );
    }
    e
}

/// An order of `cards` ¥1 gift cards by `customer`, approved and captured
/// with codes `first..first + cards`.
fn buy(e: &mut Engine, customer: u64, cards: u64, first: u64) {
    let Outcome::Order(o) = apply(
        e,
        Command::Authorize {
            merchant: 0,
            input: AuthorizeInput {
                merchant_order_id: format!("g-{first}"),
                customer,
                product: Product::Monthly,
                channel: Channel::Online,
                items: vec![
                    LineItem {
                        sku: "GC-1".into(),
                        name: "gift card".into(),
                        category: Category::GiftCard,
                        unit_price: Yen::new(1),
                        quantity: cards as i64,
                    },
                    LineItem {
                        sku: "DG-1".into(),
                        name: "洗剤".into(),
                        category: Category::DailyGoods,
                        unit_price: Yen::new(100),
                        quantity: 1,
                    },
                ],
                shipping_address: "東京都千代田区霞が関1-3-1".into(),
                device_id: format!("dev-{customer}"),
                ip: "203.0.113.7".into(),
                tax_rates: Vec::new(),
            },
            session: SessionKeys {
                device: kh(5, customer),
                ip: kh(6, customer),
            },
        },
    ) else {
        unreachable!()
    };
    if o.decision == atobarai_engine::Decision::Review {
        apply(
            e,
            Command::ResolveReview {
                order: u64::from(o.order),
                verdict: ReviewVerdict::Approve,
            },
        );
    } else {
        assert_eq!(o.decision, atobarai_engine::Decision::Approve, "{o:?}");
    }
    apply(
        e,
        Command::CaptureGiftCards {
            principal: ISSUER,
            order: u64::from(o.order),
            amount: None,
            codes: (first..first + cards).map(code).collect(),
        },
    );
}

fn main() {
    // ----- a 10,000-code cluster -------------------------------------------
    let t = Instant::now();
    let mut e = issuer_with(100, true);
    for a in 0..10u64 {
        buy(&mut e, a * 10, 1_000, a * 1_000);
    }
    // Half the codes redeemed, into 100 wallets.
    for k in (0..10_000u64).step_by(2) {
        apply(
            &mut e,
            Command::RedeemGiftCard {
                principal: ISSUER,
                code: code(k),
                wallet: format!("w-{}", k % 100),
            },
        );
    }
    let preview = e.cluster_revocation_preview(0).unwrap();
    assert_eq!(preview.accounts.len(), 100, "one cluster of 100 accounts");
    assert_eq!(preview.cards.len(), 10_000);
    let snapshot = e.snapshot();
    println!(
        "cluster of 100 accounts, 10,000 codes (5,000 redeemed into 100 wallets) built in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let mut preview_ms = Vec::new();
    let mut revoke_ms = Vec::new();
    for _ in 0..7 {
        let mut e = Engine::restore(Default::default(), &snapshot).unwrap();
        let t = Instant::now();
        let p = e.cluster_revocation_preview(55).unwrap();
        let cards: Vec<u64> = p.cards.iter().map(|c| c.card).collect();
        preview_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let t = Instant::now();
        let Outcome::GiftCardsRevoked(revoked) = apply(
            &mut e,
            Command::RevokeGiftCards {
                principal: Principal::System,
                target: RevocationTarget::Cards(cards),
                reason: RevocationReason::Fraud,
            },
        ) else {
            unreachable!()
        };
        revoke_ms.push(t.elapsed().as_secs_f64() * 1e3);
        assert_eq!(revoked.len(), 10_000);
        e.check_invariants().unwrap();
    }
    preview_ms.sort_by(f64::total_cmp);
    revoke_ms.sort_by(f64::total_cmp);
    println!(
        "  preview (reader: members, evidence, 10,000 cards)  median {:.1} ms, max {:.1} ms",
        preview_ms[3], preview_ms[6]
    );
    println!(
        "  revocation command (10,000 cards, 5,000 wallet debits, ledger, history)  median {:.1} ms, max {:.1} ms",
        revoke_ms[3], revoke_ms[6]
    );
    println!(
        "  together  median {:.1} ms (target ≤ 1,000 ms)",
        preview_ms[3] + revoke_ms[3]
    );

    // ----- memory per issued code and redemptions per second ----------------
    let codes = env_u64("ATOBARAI_BENCH_CODES", 1_000_000);
    let buyers = codes / 1_000;
    let mut e = issuer_with(buyers, false);
    let body_before = e.snapshot().len() as u64;
    let rss_before = rss_bytes();
    let t = Instant::now();
    for b in 0..buyers {
        buy(&mut e, b, 1_000, b * 1_000);
    }
    let issue_s = t.elapsed().as_secs_f64();
    let rss_after = rss_bytes();
    let body_after = e.snapshot().len() as u64;
    println!(
        "{codes} codes issued ({buyers} captures of 1,000) in {issue_s:.2} s: {:.0} codes/s",
        codes as f64 / issue_s
    );
    println!(
        "  resident memory per issued code  {} B (RSS {} → {} MiB; includes each capture's order bookkeeping, 1/1,000 of it per code)",
        (rss_after.saturating_sub(rss_before)) / codes,
        rss_before >> 20,
        rss_after >> 20
    );
    println!(
        "  snapshot bytes per issued code   {} B",
        (body_after - body_before) / codes
    );
    let n = codes.min(500_000);
    let t = Instant::now();
    for k in 0..n {
        apply(
            &mut e,
            Command::RedeemGiftCard {
                principal: ISSUER,
                code: code(k),
                wallet: format!("w-{}", k % 10_000),
            },
        );
    }
    let s = t.elapsed().as_secs_f64();
    println!(
        "  {n} redemptions applied in {s:.2} s: {:.0}/s on the engine thread (no journal)",
        n as f64 / s
    );
}
