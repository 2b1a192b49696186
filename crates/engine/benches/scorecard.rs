//! Criterion: a live scorecard's inference as the engine runs it on every
//! decision past the credit rules: bind the order's risk features to the
//! card's attributes, bin, sum the points and keep the three largest
//! adverse contributions (`Engine::score_models`), on feature vectors
//! captured from real authorizations (one in four with a gift card).
//!
//! `cargo bench -p atobarai-engine --bench scorecard` trains a card on the
//! gift-card fixture (`crates/model/tests/data/gift_card_rows.tsv`);
//! `ATOBARAI_BENCH_MODEL=model.json` loads another.

use atobarai_core::Category;
use atobarai_engine::risk::features::Features;
use atobarai_engine::{Command, Envelope, LineItem};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// The production binary uses mimalloc too.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[path = "common/mod.rs"]
mod common;
use common::*;

fn model_text() -> String {
    if let Ok(path) = std::env::var("ATOBARAI_BENCH_MODEL") {
        return std::fs::read_to_string(&path).expect("the model file reads");
    }
    let tsv = include_str!("../../model/tests/data/gift_card_rows.tsv");
    let table = atobarai_model::Table::from_tsv(tsv.as_bytes()).expect("the fixture reads");
    let spec = atobarai_model::TrainSpec {
        label: "outcome".into(),
        positive: "defaulted".into(),
        split: None,
        ignore: Vec::new(),
    };
    atobarai_model::train(&table, &spec, &Default::default())
        .expect("the fixture trains")
        .to_file_text()
        .expect("the card encodes")
}

fn scorecard(c: &mut Criterion) {
    let customers = 20_000_u32;
    let mut engine = engine_with_customers(customers);
    engine
        .apply(&Envelope {
            at: t0(),
            idem: None,
            command: Command::SetModel {
                source: model_text(),
                shadow: false,
                author: "bench".into(),
            },
        })
        .expect("the model loads");
    let captured: Arc<Mutex<Vec<Features>>> = Arc::default();
    let sink = Arc::clone(&captured);
    engine.set_feature_tap(Some(Box::new(move |_, _, f: &Features| {
        sink.lock().expect("not poisoned").push(f.clone());
    })));
    let mut picker = Picker(0x9E37_79B9_7F4A_7C15);
    for seq in 0..4_000 {
        let mut env = authorization(seq, picker.next(u64::from(customers)));
        if seq % 4 == 0
            && let Command::Authorize { input, .. } = &mut env.command
        {
            let price = 5_000 + i64::try_from(seq % 7).expect("small") * 1_000;
            input.items.push(LineItem {
                sku: format!("GC-{price}"),
                name: "ギフトカード".into(),
                category: Category::GiftCard,
                unit_price: atobarai_core::Yen::new(price),
                quantity: 1,
            });
        }
        let _ = engine.apply(&env);
    }
    engine.set_feature_tap(None);
    let mut rows = std::mem::take(&mut *captured.lock().expect("not poisoned"));
    assert!(rows.len() > 1_000, "{} decisions scored", rows.len());
    println!("  {} captured feature vectors", rows.len());

    let mut group = c.benchmark_group("scorecard");
    group.throughput(Throughput::Elements(1));
    group.measurement_time(Duration::from_secs(4));
    let mut i = 0;
    group.bench_function("score_models_live", |b| {
        b.iter(|| {
            i = (i + 1) % rows.len();
            engine.score_models(&mut rows[i])
        })
    });
    group.finish();
}

criterion_group!(benches, scorecard);
criterion_main!(benches);
