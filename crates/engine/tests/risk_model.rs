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

/// A live model, a `model.drift` endpoint, `n` customers ordering the same
/// large gift card on day 1 (every score in one bucket: far from the
/// training spread), then one order on day 2, which closes day 1.
fn drifting(n: u32) -> (Engine, u64) {
    let mut e = engine_with(n);
    e.apply(&env(
        day(0),
        Command::AddWebhookEndpoint {
            url: "https://ops.example/drift".into(),
            key_nonce: [3; 16],
            events: vec![atobarai_engine::webhook::EventKind::ModelDrift],
        },
    ))
    .unwrap();
    e.apply(&env(
        day(0),
        Command::SetModel {
            source: model_text(),
            shadow: false,
            author: "risk-team".into(),
        },
    ))
    .unwrap();
    // Orders the credit rules decline are never scored.
    let mut scored = 0;
    for c in 0..u64::from(n) {
        if let Outcome::Order(o) = e
            .apply(&env(day(1), gift_order(c, 27_000)))
            .unwrap()
            .outcome
            && o.risk.is_some_and(|r| !r.models.is_empty())
        {
            scored += 1;
        }
    }
    assert!(
        drift_events(&e).is_empty(),
        "nothing closes while day 1 runs"
    );
    e.apply(&env(day(2), gift_order(0, 1_000))).unwrap();
    (e, scored)
}

fn drift_events(e: &Engine) -> Vec<(u32, String, u64, u64)> {
    e.webhook_batches(10)
        .into_iter()
        .flat_map(|b| b.events)
        .filter_map(|ev| match ev.data {
            atobarai_engine::webhook::EventData::ModelDrift {
                model,
                day,
                scored,
                psi_micro,
                ..
            } => Some((model, day.to_string(), scored, psi_micro)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_day_whose_scores_drift_raises_one_alert_when_the_next_day_scores() {
    let (e, scored) = drifting(200);
    assert!(scored >= 100, "{scored}");
    let events = drift_events(&e);
    assert_eq!(events.len(), 1, "{events:?}");
    let (model, d, n, psi) = events[0].clone();
    assert_eq!((model, d.as_str(), n), (1, "2026-06-03", scored));
    assert!(psi > atobarai_engine::risk::drift::PSI_ALERT_MICRO, "{psi}");
    // The API's day-by-day figures are the same integer PSI.
    let drift = e.model_drift(1, 90).unwrap();
    assert_eq!(drift.days.len(), 2);
    assert_eq!(drift.days[0].1, psi);
    assert_eq!(drift.days[0].0.scored(), scored);
    // And so are the metrics' figures: day 1 closed, day 2 counting.
    let now = e.drift_now();
    assert_eq!(now.len(), 1);
    assert_eq!(
        now[0].last_day.map(|c| (c.scored, c.psi_micro)),
        Some((scored, psi))
    );
    assert_eq!(now[0].today.map(|t| t.1), Some(1));
    // A restore rebuilds the running drift from the decision records.
    let restored = Engine::restore(Default::default(), &e.snapshot()).unwrap();
    assert_eq!(restored.drift_now(), now);
    assert_eq!(restored.digest(), e.digest());
}

#[test]
fn a_day_with_few_scores_reports_its_drift_without_an_alert() {
    let (e, scored) = drifting(20);
    assert!(scored > 0);
    assert!(drift_events(&e).is_empty());
    let now = e.drift_now();
    let closed = now[0].last_day.unwrap();
    assert_eq!(closed.scored, scored);
    assert!(closed.psi_micro > atobarai_engine::risk::drift::PSI_ALERT_MICRO);
}
