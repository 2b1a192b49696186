//! `atobarai model train` and `atobarai model report` on the German credit
//! fixture (crates/model/tests/data, CC BY 4.0) and on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_atobarai")
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../model/tests/data/german_credit.tsv")
}

fn run(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("atobarai runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn train_prints_train_and_test_metrics_and_report_writes_a_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("german.json");
    let data = fixture();
    let out = run(&[
        "model",
        "train",
        "--data",
        data.to_str().expect("path"),
        "--label",
        "creditability",
        "--positive",
        "bad",
        "--split",
        "split",
        "--out",
        model.to_str().expect("path"),
        "--timing",
    ]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let line = |name: &str| {
        stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no {name} line in\n{stdout}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let train = line("train");
    let test = line("test");
    assert_eq!(&train[1..3], ["700", "210"], "{stdout}");
    assert_eq!(&test[1..3], ["300", "90"], "{stdout}");
    let auc: f64 = test[3].parse().expect("AUC");
    let gini: f64 = test[5].parse().expect("Gini");
    assert!(auc >= 0.81, "{stdout}");
    assert!((gini - (2.0 * auc - 1.0)).abs() < 2e-4, "{stdout}");
    assert!(
        stdout.contains("foreign_worker") && stdout.contains("dropped"),
        "{stdout}"
    );
    assert!(stdout.contains("timing: read"), "{stdout}");
    let file = std::fs::read_to_string(&model).expect("model written");
    assert!(file.contains("\"format\": \"atobarai-scorecard\"") && file.contains("\"sha256\""));

    let out = run(&["model", "report", model.to_str().expect("path")]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let page = std::fs::read_to_string(dir.path().join("german.html")).expect("page written");
    assert!(
        page.contains("<svg") && page.contains("ROC"),
        "charts inline"
    );
    assert!(page.contains("status_of_existing_checking_account"));
    assert!(
        !page.contains("<script") && !page.contains("src=\"http"),
        "self-contained"
    );
    let custom = dir.path().join("custom.html");
    let out = run(&[
        "model",
        "report",
        model.to_str().expect("path"),
        "--out",
        custom.to_str().expect("path"),
    ]);
    assert!(out.status.success());
    assert!(custom.exists());

    // a damaged model is refused by report
    std::fs::write(&model, file.replacen("\"good\": ", "\"good\": 1", 1)).expect("write");
    let out = run(&["model", "report", model.to_str().expect("path")]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success());
    assert!(
        stderr.contains("model file refused") && stderr.contains("hashes to"),
        "{stderr}"
    );
}

#[test]
fn bad_input_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let model = dir.path().join("m.json");
    let m = model.to_str().expect("path");
    let cases: [(&str, &str, &str); 4] = [
        ("", "creditability", "empty"),
        (
            "x\ty\n1\tbad\n2\n",
            "y",
            "line 3: 1 fields where the header has 2",
        ),
        ("x\ty\n1\tgood\n2\tgood\n", "y", "single class"),
        ("x\ty\n1\tbad\n2\tgood\n", "label", "no column \"label\""),
    ];
    for (content, label, expected) in cases {
        let data = dir.path().join("d.tsv");
        std::fs::write(&data, content).expect("write");
        let out = run(&[
            "model",
            "train",
            "--data",
            data.to_str().expect("path"),
            "--label",
            label,
            "--positive",
            "bad",
            "--out",
            m,
        ]);
        let (stdout, stderr) = text(&out);
        assert!(!out.status.success(), "{content:?}: {stdout}");
        assert!(stderr.contains(expected), "{content:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!model.exists());
    }
    let out = run(&[
        "model",
        "train",
        "--data",
        "/nonexistent.tsv",
        "--label",
        "y",
        "--positive",
        "bad",
        "--out",
        m,
    ]);
    assert!(!out.status.success());
    assert!(text(&out).1.contains("/nonexistent.tsv"));
}
