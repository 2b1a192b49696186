//! Training and scoring never panic on arbitrary small tables: every outcome
//! is a model or a `ModelError`, and a model scores every row, reads back
//! from its own file and renders its report.

use atobarai_model::{Model, Table, TrainConfig, TrainSpec, Value, train};
use proptest::prelude::*;

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        1 => Just("NA".to_owned()),
        1 => Just("x".to_owned()),
        1 => Just("y z".to_owned()),
        1 => Just("\"q\"".to_owned()),
        1 => Just("inf".to_owned()),
        1 => Just("-0".to_owned()),
        8 => (-5i32..5).prop_map(|v| v.to_string()),
        2 => (-1.0e6f64..1.0e6).prop_map(|v| v.to_string()),
        4 => "[a-c]{0,1}",
    ]
}

fn table() -> impl Strategy<Value = (usize, Vec<Vec<String>>)> {
    (1usize..5).prop_flat_map(|cols| {
        let row = (
            prop::collection::vec(field(), cols),
            prop_oneof![40 => Just("bad"), 40 => Just("good"), 2 => Just("ok"), 1 => Just("")],
            prop_oneof![4 => Just("train"), 1 => Just("test"), 1 => Just("TEST")],
        )
            .prop_map(|(mut f, y, s)| {
                f.push(y.to_owned());
                f.push(s.to_owned());
                f
            });
        (Just(cols), prop::collection::vec(row, 0..60))
    })
}

fn tsv(cols: usize, rows: &[Vec<String>], ragged: bool) -> String {
    let mut s: Vec<String> = (0..cols).map(|i| format!("a{i}")).collect();
    s.push("y".into());
    s.push("split".into());
    let mut out = s.join("\t") + "\n";
    for (i, r) in rows.iter().enumerate() {
        let cut = if ragged && i == rows.len() / 2 {
            r.len() - 1
        } else {
            r.len()
        };
        out.push_str(&r[..cut].join("\t"));
        out.push('\n');
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn training_and_scoring_never_panic(
        (cols, rows) in table(),
        ragged in prop::bool::weighted(0.1),
        split in any::<bool>(),
        min_iv in prop_oneof![3 => Just(0.0), 1 => Just(0.02)],
        max_bins in 1usize..5,
    ) {
        let text = tsv(cols, &rows, ragged);
        let Ok(table) = Table::from_tsv(text.as_bytes()) else { return Ok(()); };
        let spec = TrainSpec {
            label: "y".into(),
            positive: "bad".into(),
            split: split.then(|| "split".to_owned()),
            ignore: Vec::new(),
        };
        let config = TrainConfig { min_iv, max_bins, max_categories: 30, ..TrainConfig::default() };
        let Ok(model) = train(&table, &spec, &config) else { return Ok(()); };
        let binding = model.bind(table.columns()).expect("a trained model binds its own table");
        for row in table.rows() {
            let s = model.score_fields(&binding, row);
            let values: Vec<Value<'_>> = model
                .attribute_names()
                .map(|n| Value::Text(&row[table.column(n).expect("column")]))
                .collect();
            prop_assert_eq!(model.score(&values), s);
            // The one-pass scorer gives the same score, and the same three
            // losses as a full sort of every attribute's loss.
            let (one_pass, adverse) =
                model.score_explained(|a| values.get(a).copied().unwrap_or(Value::Missing));
            prop_assert_eq!(one_pass, s);
            let mut all: Vec<(i64, usize)> = Vec::new();
            for (a, attr) in model.card().attributes.iter().enumerate() {
                let best = attr.bins.iter().filter(|b| b.good + b.bad > 0).map(|b| b.points).max().unwrap_or(0);
                let k = model.bin_index(a, values[a]);
                let lost = best - attr.bins[k].points;
                if lost > 0 {
                    all.push((lost, a));
                }
            }
            all.sort_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
            all.truncate(3);
            let got: Vec<(i64, usize)> = adverse.iter().map(|l| (l.points_lost, l.attribute)).collect();
            prop_assert_eq!(got, all);
            prop_assert!(model.adverse_reasons(&values).len() <= 3);
        }
        let back = Model::from_file_text(&model.to_file_text().expect("encodes")).expect("reads back");
        prop_assert_eq!(back.card(), model.card());
        let page = atobarai_model::report::html(&model);
        prop_assert!(page.ends_with("</html>\n"));
        let m = &model.card().training.train;
        prop_assert!((0.0..=1.0).contains(&m.auc) && (0.0..=1.0).contains(&m.ks));
    }
}
