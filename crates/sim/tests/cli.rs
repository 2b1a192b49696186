//! `atobarai simulate` end to end: rules files, --compare, the files written.

use atobarai_sim::cli::{SimulateArgs, load_rules, run_cli};
use std::path::PathBuf;

fn args(dir: &std::path::Path) -> SimulateArgs {
    SimulateArgs {
        customers: 200,
        days: 40,
        seed: 4,
        rules: None,
        personas: None,
        server: None,
        admin_key: None,
        payments_key: None,
        report: Some(dir.to_path_buf()),
        compare: None,
        start: atobarai_sim::DEFAULT_START.into(),
        quiet: true,
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
    assert_eq!(v["market"]["rules"], "shipped");
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
fn compare_runs_one_market_under_two_rule_sets() {
    let dir = tempfile::tempdir().unwrap();
    let a: PathBuf = dir.path().join("shipped.toml");
    let b: PathBuf = dir.path().join("tight.toml");
    std::fs::write(&a, "").unwrap();
    std::fs::write(
        &b,
        "[credit]\nsignup_limit_yen = 10000\nbank_debit_limit_yen = 20000\n",
    )
    .unwrap();
    assert_eq!(
        load_rules(&b).unwrap().credit.signup_limit_yen.get(),
        10_000
    );
    let mut args = args(dir.path());
    args.compare = Some(vec![a, b]);
    run_cli(args).unwrap();
    let json = std::fs::read_to_string(dir.path().join("compare.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["a"]["market"]["rules"], "shipped.toml");
    assert_eq!(v["b"]["market"]["rules"], "tight.toml");
    let volume = |r: &str| v[r]["totals"]["approved_volume_yen"].as_i64().unwrap();
    assert!(volume("b") < volume("a"), "a lower limit approves less");
    self_contained(&std::fs::read_to_string(dir.path().join("compare.html")).unwrap());
}

#[test]
fn bad_files_are_errors_not_panics() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[credit]\nsignup_limit_yen = \"many\"\n").unwrap();
    assert!(load_rules(&bad).is_err());
    std::fs::write(&bad, "[nonsense]\nx = 1\n").unwrap();
    assert!(load_rules(&bad).is_err());
    assert!(load_rules(&dir.path().join("missing.toml")).is_err());
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
