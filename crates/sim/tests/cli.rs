//! `atobarai simulate` end to end: rules files, --compare, the files written.

use atobarai_sim::cli::{RiskRules, SimulateArgs, load_config, load_rules, run_cli};
use std::path::{Path, PathBuf};

fn args(dir: &std::path::Path) -> SimulateArgs {
    SimulateArgs {
        customers: 200,
        days: 40,
        seed: 4,
        rules: None,
        baseline: false,
        config: None,
        personas: None,
        server: None,
        admin_key: None,
        payments_key: None,
        report: Some(dir.to_path_buf()),
        compare: None,
        start: atobarai_sim::DEFAULT_START.into(),
        quiet: true,
        dataset: None,
    }
}

fn self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    for banned in ["<script", "src=", "<link", "@import", "url("] {
        assert!(!html.contains(banned), "the page refers to {banned}");
    }
    assert!(html.contains("<svg"), "charts are inline SVG");
}

#[test]
fn one_market_writes_json_and_a_self_contained_page() {
    let dir = tempfile::tempdir().unwrap();
    run_cli(args(dir.path())).unwrap();
    let json = std::fs::read_to_string(dir.path().join("report.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["market"]["rules"], "default.toml (shipped)");
    let rules = v["rules"].as_array().unwrap();
    assert!(
        !rules.is_empty(),
        "the per-rule table lists the shipped rules"
    );
    assert_eq!(
        rules[0]["id"],
        atobarai_engine::risk::rules::compile(atobarai_engine::risk::rules::DEFAULT_RULES)
            .unwrap()
            .rules()[0]
            .id
    );
    assert!(v["totals"]["orders"].as_u64().unwrap() > 0);
    self_contained(&std::fs::read_to_string(dir.path().join("report.html")).unwrap());
    // Same seed, same bytes.
    let again = tempfile::tempdir().unwrap();
    run_cli(args(again.path())).unwrap();
    assert_eq!(
        json,
        std::fs::read_to_string(again.path().join("report.json")).unwrap()
    );
}

#[test]
fn a_configuration_file_applies_to_the_market() {
    let dir = tempfile::tempdir().unwrap();
    let tight = dir.path().join("tight.toml");
    std::fs::write(
        &tight,
        "[credit]\nsignup_limit_yen = 10000\nbank_debit_limit_yen = 20000\n",
    )
    .unwrap();
    assert_eq!(
        load_config(&tight).unwrap().credit.signup_limit_yen.get(),
        10_000
    );
    let plain = tempfile::tempdir().unwrap();
    run_cli(args(plain.path())).unwrap();
    let mut a = args(dir.path());
    a.config = Some(tight);
    run_cli(a).unwrap();
    let volume = |d: &std::path::Path| {
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).unwrap()).unwrap();
        v["totals"]["approved_volume_yen"].as_i64().unwrap()
    };
    assert!(
        volume(dir.path()) < volume(plain.path()),
        "a lower limit approves less"
    );
}

#[test]
fn compare_runs_one_market_under_two_risk_rule_sets() {
    let dir = tempfile::tempdir().unwrap();
    let a: PathBuf = dir.path().join("loose.toml");
    let b: PathBuf = dir.path().join("strict.toml");
    let rule = |id: &str, when: &str| {
        format!(
            "[[rule]]\nid = \"{id}\"\nversion = 1\ndescription = \"d\"\nwhen = '{when}'\naction = \"review\"\nreason = \"{id}\"\ntext_ja = \"確認\"\ntext_en = \"held\"\n"
        )
    };
    let head = "[set]\nname = \"t\"\nversion = 1\ndescription = \"t\"\n";
    std::fs::write(
        &a,
        format!("{head}{}", rule("huge", "cart.total >= 10_000_000")),
    )
    .unwrap();
    std::fs::write(
        &b,
        format!(
            "{head}{}{}",
            rule("huge", "cart.total >= 10_000_000"),
            rule("any_gift_card", "cart.gift_card_yen > 0")
        ),
    )
    .unwrap();
    assert!(matches!(load_rules(&b).unwrap(), RiskRules::Set { .. }));
    assert_eq!(
        load_rules(Path::new("@baseline")).unwrap(),
        RiskRules::Baseline
    );
    let mut args = args(dir.path());
    args.compare = Some(vec![a, b]);
    run_cli(args).unwrap();
    let json = std::fs::read_to_string(dir.path().join("compare.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["a"]["market"]["rules"], "loose.toml");
    assert_eq!(v["b"]["market"]["rules"], "strict.toml");
    assert_eq!(v["a"]["rules"].as_array().unwrap().len(), 1);
    let strict = v["b"]["rules"].as_array().unwrap();
    assert_eq!(strict.len(), 2);
    assert_eq!(strict[0]["fired"], 0, "no cart is that large");
    assert_eq!(strict[1]["id"], "any_gift_card");
    let hits = strict[1]["fired"].as_u64().unwrap();
    assert!(hits > 0);
    assert_eq!(
        hits,
        strict[1]["honest"].as_u64().unwrap()
            + strict[1]["targets"].as_u64().unwrap()
            + strict[1]["other"].as_u64().unwrap()
    );
    let held = |r: &str| v[r]["totals"]["reviewed"].as_u64().unwrap();
    assert!(held("b") > held("a"), "every gift card held");
    let compared = std::fs::read_to_string(dir.path().join("compare.html")).unwrap();
    self_contained(&compared);
    assert!(compared.contains("any_gift_card"));
}

#[test]
fn compare_the_shipped_rules_with_the_baseline_policy() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = args(dir.path());
    args.compare = Some(vec!["@default".into(), "@baseline".into()]);
    run_cli(args).unwrap();
    let json = std::fs::read_to_string(dir.path().join("compare.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["a"]["market"]["rules"], "default.toml (shipped)");
    assert_eq!(v["b"]["market"]["rules"], "baseline (no rule set)");
    assert!(!v["a"]["rules"].as_array().unwrap().is_empty());
    assert!(
        v["b"]["rules"].as_array().unwrap().is_empty(),
        "no rule set, no per-rule table"
    );
    let orders = |r: &str| v[r]["totals"]["orders"].as_u64().unwrap();
    assert!(orders("a") > 0 && orders("b") > 0);
    self_contained(&std::fs::read_to_string(dir.path().join("compare.html")).unwrap());
}

#[test]
fn bad_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[credit]\nsignup_limit_yen = \"many\"\n").unwrap();
    assert!(load_config(&bad).is_err());
    assert!(
        load_rules(&bad).is_err(),
        "a configuration is no rules file"
    );
    std::fs::write(&bad, "[nonsense]\nx = 1\n").unwrap();
    assert!(load_config(&bad).is_err());
    assert!(load_config(&dir.path().join("missing.toml")).is_err());
    assert!(load_rules(&dir.path().join("missing.toml")).is_err());
    // A rules file with an unknown feature: the error names its line.
    let rules = dir.path().join("rules.toml");
    std::fs::write(
        &rules,
        "[set]\nname = \"x\"\nversion = 1\ndescription = \"x\"\n\n[[rule]]\nid = \"a\"\nversion = 1\ndescription = \"a\"\nwhen = 'cart.nope > 1'\naction = \"review\"\nreason = \"a\"\ntext_ja = \"a\"\ntext_en = \"a\"\n",
    )
    .unwrap();
    let err = format!("{:#}", load_rules(&rules).unwrap_err());
    assert!(err.contains("cart.nope") && err.contains("9:"), "{err}");
    let mut a = args(dir.path());
    a.rules = Some(rules);
    assert!(run_cli(a).is_err());
    let mut a = args(dir.path());
    a.personas = Some(bad.clone());
    assert!(run_cli(a).is_err());
    let mut a = args(dir.path());
    a.start = "April".into();
    assert!(run_cli(a).is_err());
    let mut a = args(dir.path());
    a.customers = 0;
    assert!(run_cli(a).is_err());
}

#[test]
fn a_market_writes_a_training_dataset_with_its_own_labels() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("market.tsv");
    let mut a = args(dir.path());
    a.dataset = Some(path.clone());
    run_cli(a).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let header: Vec<&str> = text.lines().next().unwrap().split('\t').collect();
    assert_eq!(&header[..2], ["order", "at"]);
    assert_eq!(
        &header[header.len() - 6..],
        [
            "decision", "outcome", "split", "persona", "target", "abuser"
        ]
    );
    let rows: Vec<Vec<&str>> = text
        .lines()
        .skip(1)
        .map(|l| l.split('\t').collect())
        .collect();
    assert!(rows.len() > 300, "{}", rows.len());
    for r in &rows {
        assert_eq!(r.len(), header.len(), "{r:?}");
    }
    let targets = rows
        .iter()
        .filter(|r| r[header.len() - 2] == "true")
        .count();
    assert!(targets > 0 && targets < rows.len(), "{targets}");
    // The file trains as it is: the market's own label against the
    // features at decision time.
    let table = atobarai_model::Table::from_tsv(text.as_bytes()).unwrap();
    let spec = atobarai_model::TrainSpec {
        label: "target".into(),
        positive: "true".into(),
        split: Some("split".into()),
        ignore: ["order", "at", "decision", "outcome", "persona", "abuser"]
            .map(String::from)
            .to_vec(),
    };
    let model = atobarai_model::train(&table, &spec, &Default::default()).unwrap();
    let test = model.card().training.test.as_ref().unwrap();
    assert!(test.auc > 0.7, "test AUC {}", test.auc);
}
