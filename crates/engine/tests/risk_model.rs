//! A credit scorecard in the engine: journaled like a rule set, its score a
//! feature the rules read (`model.score`), recorded with its adverse
//! reasons; a shadow model never changes a decision; replay and restore
//! reproduce it all.

mod common;

use atobarai_core::{At, Category, Channel, Product};
use atobarai_engine::{Command, Decision, Engine, Envelope, Outcome};
use common::*;

/// A scorecard trained on rows where big gift-card carts went bad: the
/// attributes are risk feature names, as `atobarai model dataset` writes
/// (`crates/model/tests/data/gift_card_rows.tsv`).
fn model_text() -> String {
    let tsv = include_str!("../../model/tests/data/gift_card_rows.tsv");
    let table = atobarai_model::Table::from_tsv(tsv.as_bytes()).unwrap();
    let spec = atobarai_model::TrainSpec {
        label: "outcome".into(),
        positive: "defaulted".into(),
        split: None,
        ignore: Vec::new(),
    };
    let model = atobarai_model::train(&table, &spec, &Default::default()).unwrap();
    model.to_file_text().unwrap()
}

const HOLD_LOW_SCORES: &str = r#"[set]
name = "scored"
version = 1

[[rule]]
id = "low_score"
version = 1
when = 'model.live && model.score < 300'
action = "review"
reason = "low_credit_score"
text_ja = "信用スコアが基準に達しないため、確認が必要です。"
text_en = "The credit score is below the line: held for review."
"#;

fn day(n: i64) -> At {
    at("2026-06-02T12:00:00+09:00").plus_ms(n * 86_400_000)
}

fn gift_order(customer: u64, gift: i64) -> Command {
    authorize(
        customer,
        Product::Monthly,
        Channel::Online,
        vec![
            item(Category::DailyGoods, 2_000, 1),
            item(Category::GiftCard, gift, 1),
        ],
    )
}

fn journal(shadow: bool) -> Vec<Envelope> {
    vec![
        env(
            day(0),
            Command::SetModel {
                source: model_text(),
                shadow,
                author: "risk-team".into(),
            },
        ),
        env(
            day(0),
            Command::SetRiskRules {
                source: HOLD_LOW_SCORES.into(),
                author: "risk-team".into(),
            },
        ),
        env(day(1), gift_order(0, 1_000)),
        env(day(1), gift_order(1, 27_000)),
    ]
}

fn run(shadow: bool) -> (Engine, Vec<atobarai_engine::OrderView>) {
    let mut e = engine_with(2);
    let mut orders = Vec::new();
    for envelope in journal(shadow) {
        if let Outcome::Order(o) = e.apply(&envelope).unwrap().outcome {
            orders.push(o);
        }
    }
    e.check_invariants().unwrap();
    (e, orders)
}

#[test]
fn a_live_model_scores_every_decision_and_the_rules_read_its_score() {
    let (_, orders) = run(false);
    let small = orders[0].risk.as_ref().unwrap();
    let large = orders[1].risk.as_ref().unwrap();
    let (s_small, s_large) = (small.models[0].score, large.models[0].score);
    assert!(
        s_small > s_large,
        "a large gift card scores lower: {s_small} vs {s_large}"
    );
    assert!(!small.models[0].shadow);
    assert_eq!(orders[0].decision, Decision::Approve, "{s_small}");
    assert_eq!(orders[1].decision, Decision::Review, "{s_large}");
    // The rule read the score; the adverse reasons name the gift card.
    let fired = &large.fired[0];
    assert_eq!(fired.id, "low_score");
    assert!(fired.features.iter().any(|(n, _)| n == "model.score"));
    let reasons = &large.models[0].reasons;
    assert!(!reasons.is_empty() && reasons.len() <= 3);
    assert_eq!(reasons[0].attribute, "cart.gift_card_yen");
    assert!(reasons[0].points_lost > 0);
    assert!(reasons[0].text_ja.contains("信用スコア"));
}

#[test]
fn a_shadow_model_is_recorded_and_never_changes_a_decision() {
    let (_, orders) = run(true);
    for o in &orders {
        assert_eq!(o.decision, Decision::Approve, "{o:?}");
        let risk = o.risk.as_ref().unwrap();
        assert!(risk.models[0].shadow);
        assert!(
            risk.fired.is_empty(),
            "model.live is false without a live model"
        );
    }
}

#[test]
fn replay_and_restore_reproduce_the_models_and_their_scores() {
    let (a, _) = run(false);
    let (b, _) = run(false);
    assert_eq!(a.digest(), b.digest());
    let restored = Engine::restore(Default::default(), &a.snapshot()).unwrap();
    assert_eq!(restored.digest(), a.digest());
    let id = atobarai_core::ids::encode("ord", 1);
    let p = atobarai_engine::Principal::System;
    assert_eq!(
        restored.order(p, &id).unwrap().risk,
        a.order(p, &id).unwrap().risk
    );
}

#[test]
fn a_damaged_or_unbound_model_is_refused_and_nothing_changes() {
    let mut e = engine_with(1);
    let before = e.digest();
    let now = at("2026-06-01T10:00:00+09:00");
    let text = model_text();
    // One digit of the content changed: the checksum fails.
    let damaged = text.replacen("cart.total", "cart.totaL", 1);
    for source in [damaged, "not json".to_owned()] {
        let err = e
            .apply(&env(
                now,
                Command::SetModel {
                    source,
                    shadow: false,
                    author: "x".into(),
                },
            ))
            .unwrap_err();
        assert_eq!(err.code, "model_invalid", "{err:?}");
    }
    assert_eq!(e.digest(), before);
    assert!(atobarai_engine::load_model(&text).is_ok());
}
