//! Fit time on the German credit training rows, and scoring one row.
//! `cargo bench -p atobarai-model --bench scorecard`

use std::hint::black_box;

use atobarai_model::{Table, TrainConfig, TrainSpec, train};
use criterion::{Criterion, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let data = include_bytes!("../tests/data/german_credit.tsv");
    let table = Table::from_tsv(data).expect("fixture reads");
    let spec = TrainSpec {
        label: "creditability".into(),
        positive: "bad".into(),
        split: Some("split".into()),
        ignore: Vec::new(),
    };
    let config = TrainConfig::default();
    c.bench_function("fit german_credit (700 train rows, 20 attributes)", |b| {
        b.iter(|| train(black_box(&table), &spec, &config).expect("fits"));
    });
    let model = train(&table, &spec, &config).expect("fits");
    let binding = model.bind(table.columns()).expect("binds");
    let rows = table.rows();
    let mut i = 0;
    c.bench_function("score one row (text fields)", |b| {
        b.iter(|| {
            i = (i + 1) % rows.len();
            model.score_fields(&binding, black_box(&rows[i]))
        });
    });
    c.bench_function("load + verify model file", |b| {
        let text = model.to_file_text().expect("encodes");
        b.iter(|| atobarai_model::Model::from_file_text(black_box(&text)).expect("loads"));
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
