//! Bad input: each gives a clear error or its documented treatment, never a
//! panic; a damaged or malformed model file is refused.

use atobarai_model::model::{AttributeKind, BinKind};
use atobarai_model::{Model, ModelError, Table, TrainConfig, TrainSpec, Value, train};
use sha2::{Digest, Sha256};

fn spec() -> TrainSpec {
    TrainSpec {
        label: "y".into(),
        positive: "bad".into(),
        split: None,
        ignore: Vec::new(),
    }
}

/// 200 rows: `x` (bad rate rises with it), `c` (category `r` riskier),
/// `k` constant, label `y`.
fn synthetic() -> String {
    let mut s = String::from("x\tc\tk\ty\n");
    for i in 0..200u32 {
        let bad = (i * 7919) % 100 < i / 2 || (i % 3 == 0 && i % 5 == 0);
        let c = if (i * 31) % 7 < 3 { "r" } else { "s" };
        let c = if bad && i % 4 == 0 { "r" } else { c };
        s.push_str(&format!(
            "{i}\t{c}\tsame\t{}\n",
            if bad { "bad" } else { "good" }
        ));
    }
    s
}

fn fit(text: &str, spec: &TrainSpec) -> Result<Model, ModelError> {
    train(
        &Table::from_tsv(text.as_bytes())?,
        spec,
        &TrainConfig::default(),
    )
}

#[test]
fn synthetic_data_fits() {
    let m = fit(&synthetic(), &spec()).expect("fits");
    assert!(
        m.card().training.train.auc > 0.6,
        "{:?}",
        m.card().training.train
    );
    assert!(m.card().training.test.is_none());
}

#[test]
fn missing_label_column() {
    let e = fit(
        &synthetic(),
        &TrainSpec {
            label: "target".into(),
            ..spec()
        },
    )
    .expect_err("no column");
    assert!(
        matches!(&e, ModelError::MissingColumn { column, .. } if column == "target"),
        "{e}"
    );
    assert!(e.to_string().contains("x, c, k, y"), "{e}");
    let e = fit(
        &synthetic(),
        &TrainSpec {
            split: Some("part".into()),
            ..spec()
        },
    )
    .expect_err("no split");
    assert!(matches!(e, ModelError::MissingColumn { .. }));
    let e = fit(
        &synthetic(),
        &TrainSpec {
            ignore: vec!["id".into()],
            ..spec()
        },
    )
    .expect_err("no column");
    assert!(matches!(e, ModelError::MissingColumn { .. }));
}

#[test]
fn a_missing_label_value_names_its_line() {
    let text = "x\ty\n1\tbad\n2\t\n3\tgood\n";
    let e = fit(text, &spec()).expect_err("missing label");
    assert!(
        matches!(e, ModelError::MissingLabel { line: 3, .. }),
        "{e:?}"
    );
}

#[test]
fn a_single_class() {
    let text = synthetic().replace("\tbad\n", "\tgood\n");
    let e = fit(&text, &spec()).expect_err("one class");
    assert!(
        matches!(
            e,
            ModelError::SingleClass {
                bad: 0,
                good: 200,
                ..
            }
        ),
        "{e:?}"
    );
    // a misspelt positive value is the same mistake, and says what it saw
    let e = fit(
        &synthetic(),
        &TrainSpec {
            positive: "Bad".into(),
            ..spec()
        },
    )
    .expect_err("one class");
    assert!(e.to_string().contains("bad, good"), "{e}");
}

#[test]
fn a_constant_attribute_is_dropped_and_all_constant_is_an_error() {
    let m = fit(&synthetic(), &spec()).expect("fits");
    let k = m
        .card()
        .dropped
        .iter()
        .find(|d| d.name == "k")
        .expect("k dropped");
    assert!(k.reason.contains("single bin"), "{}", k.reason);
    assert!(m.attribute_names().all(|n| n != "k"));
    let text = "k\ty\nsame\tbad\nsame\tgood\nsame\tgood\n";
    let e = fit(text, &spec()).expect_err("nothing to fit");
    assert!(
        matches!(&e, ModelError::NoAttributes(why) if why.contains("k (")),
        "{e}"
    );
    let e = fit("y\nbad\ngood\n", &spec()).expect_err("no attribute");
    assert!(matches!(e, ModelError::NoAttributes(_)));
}

#[test]
fn missing_values_are_their_own_bin() {
    // every 4th x missing (empty or NA), with a high bad rate
    let mut text = String::from("x\ty\n");
    for i in 0..200u32 {
        let (x, bad) = match i % 4 {
            0 => (
                if i % 8 == 0 {
                    String::new()
                } else {
                    "NA".into()
                },
                i % 3 != 0,
            ),
            _ => (i.to_string(), i > 120 && i % 2 == 0),
        };
        text.push_str(&format!("{x}\t{}\n", if bad { "bad" } else { "good" }));
    }
    let cfg = TrainConfig {
        min_iv: 0.0,
        ..TrainConfig::default()
    };
    let m = train(
        &Table::from_tsv(text.as_bytes()).expect("reads"),
        &spec(),
        &cfg,
    )
    .expect("fits");
    let a = &m.card().attributes[0];
    assert_eq!(
        a.kind,
        AttributeKind::Numeric,
        "missing tokens do not make x text"
    );
    let missing = &a.bins[a.bins.len() - 2];
    assert_eq!(missing.kind, BinKind::Missing);
    assert_eq!(missing.good + missing.bad, 50);
    assert!(
        missing.woe > 0.0,
        "the risky missing bin has a positive WoE"
    );
    let miss = m.bin_index(0, Value::Missing);
    assert_eq!(miss, a.bins.len() - 2);
    assert_eq!(m.bin_index(0, Value::Text("NA")), miss);
    assert_eq!(m.bin_index(0, Value::Text(" ")), miss);
    assert_eq!(m.bin_index(0, Value::Number(f64::NAN)), miss);
    // text in a numeric attribute at scoring time: the unseen bin, 0 points
    let unseen = m.bin_index(0, Value::Text("abc"));
    assert_eq!(unseen, a.bins.len() - 1);
    assert_eq!(a.bins[unseen].points, 0);
    assert_eq!(m.score(&[Value::Text("abc")]), m.card().base_points);
    // a short row is missing at its end
    assert_eq!(m.score(&[]), m.score(&[Value::Missing]));
}

#[test]
fn a_word_in_a_number_column_makes_it_categorical() {
    let mut text = String::from("x\ty\n");
    for i in 0..100u32 {
        let x = if i == 17 {
            "n/k".to_owned()
        } else {
            (i % 5).to_string()
        };
        text.push_str(&format!(
            "{x}\t{}\n",
            if i % 5 == 4 || i % 7 == 0 {
                "bad"
            } else {
                "good"
            }
        ));
    }
    let cfg = TrainConfig {
        min_iv: 0.0,
        ..TrainConfig::default()
    };
    let m = train(
        &Table::from_tsv(text.as_bytes()).expect("reads"),
        &spec(),
        &cfg,
    )
    .expect("fits");
    assert_eq!(m.card().attributes[0].kind, AttributeKind::Categorical);
    // with many distinct numbers the same stray word is an error naming it
    let text = text.replace("\n", "X\n").replace("X\n", "\n");
    let mut many = String::from("x\ty\n");
    for (i, line) in text.lines().skip(1).enumerate() {
        let (x, y) = line.split_once('\t').expect("two fields");
        let x = if x == "n/k" {
            x.to_owned()
        } else {
            format!("{i}.5")
        };
        many.push_str(&format!("{x}\t{y}\n"));
    }
    let e = fit(&many, &spec()).expect_err("too many categories");
    assert!(
        matches!(
            &e,
            ModelError::TooManyCategories {
                count: 100,
                max: 50,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("\"n/k\""), "{e}");
}

#[test]
fn more_categories_than_configured() {
    let mut text = String::from("c\ty\n");
    for i in 0..60u32 {
        text.push_str(&format!(
            "v{}\t{}\n",
            i % 12,
            if i % 3 == 0 { "bad" } else { "good" }
        ));
    }
    let table = Table::from_tsv(text.as_bytes()).expect("reads");
    let cfg = TrainConfig {
        max_categories: 10,
        ..TrainConfig::default()
    };
    let e = train(&table, &spec(), &cfg).expect_err("12 > 10");
    assert!(
        matches!(
            &e,
            ModelError::TooManyCategories {
                count: 12,
                max: 10,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().contains("--max-categories"), "{e}");
    // ignoring the column instead leaves nothing to fit: a clear error too
    let e = train(
        &table,
        &TrainSpec {
            ignore: vec!["c".into()],
            ..spec()
        },
        &cfg,
    )
    .expect_err("none");
    assert!(matches!(e, ModelError::NoAttributes(_)));
}

#[test]
fn empty_and_ragged_files() {
    assert!(matches!(fit("", &spec()), Err(ModelError::EmptyTable)));
    assert!(matches!(fit("x\ty\n", &spec()), Err(ModelError::NoRows)));
    let e = fit("x\ty\n1\tbad\n2\tgood\textra\n", &spec()).expect_err("ragged");
    assert!(
        matches!(
            e,
            ModelError::RaggedRow {
                line: 3,
                fields: 3,
                expected: 2
            }
        ),
        "{e:?}"
    );
    assert!(e.to_string().starts_with("line 3:"), "{e}");
    let e = Table::from_tsv(b"a\tb\n\xff\t1\n").expect_err("not UTF-8");
    assert!(matches!(e, ModelError::Parse { .. }), "{e:?}");
}

#[test]
fn bad_split_values_and_no_training_rows() {
    let text = "x\ty\ts\n1\tbad\ttrain\n2\tgood\tvalidate\n";
    let spec_s = TrainSpec {
        split: Some("s".into()),
        ..spec()
    };
    let e = fit(text, &spec_s).expect_err("bad split");
    assert!(
        matches!(&e, ModelError::BadSplit { line: 3, value } if value == "validate"),
        "{e:?}"
    );
    let e = fit("x\ty\ts\n1\tbad\ttest\n", &spec_s).expect_err("no train rows");
    assert!(matches!(e, ModelError::NoTrainingRows));
}

#[test]
fn settings_out_of_range() {
    let table = Table::from_tsv(synthetic().as_bytes()).expect("reads");
    for cfg in [
        TrainConfig {
            max_bins: 0,
            ..TrainConfig::default()
        },
        TrainConfig {
            min_bin_share: 0.9,
            ..TrainConfig::default()
        },
        TrainConfig {
            l2: f64::NAN,
            ..TrainConfig::default()
        },
        TrainConfig {
            pdo: 0.0,
            ..TrainConfig::default()
        },
        TrainConfig {
            fine_bins: 1,
            ..TrainConfig::default()
        },
    ] {
        assert!(
            matches!(train(&table, &spec(), &cfg), Err(ModelError::Config(_))),
            "{cfg:?}"
        );
    }
}

fn sha(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Replaces the content of a model file's text and writes the checksum the
/// new content hashes to, so only the schema can refuse it.
fn with_content(text: &str, edit: impl Fn(&str) -> String) -> String {
    let start = text.find("\"content\": ").expect("content") + "\"content\": ".len();
    let end = text.rfind("\n}").expect("end");
    let content = edit(&text[start..end]);
    let old_sha = text
        .split("\"sha256\": \"")
        .nth(1)
        .expect("sha")
        .split('"')
        .next()
        .expect("sha");
    format!("{}{}{}", &text[..start], content, &text[end..]).replace(old_sha, &sha(&content))
}

#[test]
fn a_damaged_model_file_is_refused() {
    let m = fit(&synthetic(), &spec()).expect("fits");
    let text = m.to_file_text().expect("encodes");
    assert!(Model::from_file_text(&text).is_ok());
    // one changed digit of a point
    let pos = text.find("\"points\": ").expect("points") + "\"points\": ".len();
    let mut damaged = text.clone().into_bytes();
    damaged[pos] = if damaged[pos] == b'1' { b'2' } else { b'1' };
    let damaged = String::from_utf8(damaged).expect("utf8");
    let e = Model::from_file_text(&damaged).expect_err("damaged");
    assert!(matches!(e, ModelError::Checksum { .. }), "{e:?}");
    // even white space inside the content
    let spaced = text.replacen("\"label\": ", "\"label\":  ", 1);
    assert!(matches!(
        Model::from_file_text(&spaced),
        Err(ModelError::Checksum { .. })
    ));
    // truncated
    assert!(matches!(
        Model::from_file_text(&text[..text.len() / 2]),
        Err(ModelError::Schema(_))
    ));
    assert!(matches!(
        Model::from_file_text(""),
        Err(ModelError::Schema(_))
    ));
}

#[test]
fn a_model_file_that_fails_its_schema_is_refused() {
    let m = fit(&synthetic(), &spec()).expect("fits");
    let text = m.to_file_text().expect("encodes");
    // the helper alone keeps a valid file valid
    assert!(Model::from_file_text(&with_content(&text, str::to_owned)).is_ok());
    let cases: Vec<(&str, String)> = vec![
        (
            "unknown field",
            with_content(&text, |c| c.replacen("{", "{\"extra\": 1,", 1)),
        ),
        (
            "missing field",
            with_content(&text, |c| c.replacen("\"label\": \"y\",", "", 1)),
        ),
        (
            "points not matching the coefficients",
            with_content(&text, |c| {
                let p = c.find("\"points\": ").expect("points") + "\"points\": ".len();
                let end = p + c[p..].find('\n').expect("eol");
                format!("{}12345{}", &c[..p], &c[end..])
            }),
        ),
        (
            "version",
            text.replace("\"format_version\": 1", "\"format_version\": 2"),
        ),
        (
            "format",
            text.replace("atobarai-scorecard", "something-else"),
        ),
        ("no attributes", {
            let mut card = m.card().clone();
            card.attributes.clear();
            let c = serde_json::to_string_pretty(&card)
                .expect("json")
                .replace('\n', "\n  ");
            with_content(&text, |_| c.clone())
        }),
        ("edges out of order", {
            let mut card = m.card().clone();
            let a = card
                .attributes
                .iter_mut()
                .find(|a| a.edges.len() >= 2)
                .expect("edges");
            a.edges.swap(0, 1);
            let c = serde_json::to_string_pretty(&card)
                .expect("json")
                .replace('\n', "\n  ");
            with_content(&text, |_| c.clone())
        }),
    ];
    for (what, t) in cases {
        match Model::from_file_text(&t) {
            Err(ModelError::Schema(msg)) => assert!(!msg.is_empty(), "{what}"),
            other => panic!("{what}: {other:?}"),
        }
    }
}

#[test]
fn save_and_load_through_a_file() {
    let m = fit(&synthetic(), &spec()).expect("fits");
    let dir = std::env::temp_dir().join(format!("atobarai-model-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("m.json");
    m.save(&path).expect("saves");
    let back = Model::load(&path).expect("loads");
    assert_eq!(back.card(), m.card());
    assert!(matches!(
        Model::load(&dir.join("none.json")),
        Err(ModelError::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).expect("cleanup");
}
