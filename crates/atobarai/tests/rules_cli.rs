//! `atobarai rules check` and `atobarai rules test`: a rules file checked
//! against the engine's features (no store needed), cases run against it.

use std::path::Path;
use std::process::Command;

const RULES: &str = r#"
[set]
name = "cli"
version = 2

[[rule]]
id = "gift_cards_only"
version = 1
when = 'cart.cash_equivalent_share_bp >= 10_000 && cart.total >= 10_000'
action = "review"
reason = "cash_equivalent_only_cart"
text_ja = "確認が必要です。"
text_en = "Held for review."

[[rule]]
id = "night_owl"
version = 3
when = 'order.hour_jst < 5'
action = "flag"
reason = "night_order"
text_ja = "深夜のご注文です。"
text_en = "A night order."
mode = "shadow"
"#;

/// Three errors: an unknown feature (line 8), an id not in snake_case
/// (line 15) and an unknown action (line 18).
const BAD: &str = r#"[set]
name = "bad"
version = 1

[[rule]]
id = "typo"
version = 1
when = 'cart.totl >= 10'
action = "review"
reason = "x"
text_ja = "x"
text_en = "x"

[[rule]]
id = "BadId"
version = 1
when = 'cart.total >= 10'
action = "explode"
reason = "y"
text_ja = "y"
text_en = "y"
"#;

const CASES: &str = r#"
[[case]]
name = "gift cards only"
features = { "cart.cash_equivalent_share_bp" = 10_000, "cart.total" = 12_000, "order.hour_jst" = 12 }
expect = "review"
reasons = ["cash_equivalent_only_cart"]

[[case]]
name = "an ordinary basket at night"
features = { "cart.total" = 3_000, "order.hour_jst" = 2 }
expect = "none"
shadow = ["night_owl"]
"#;

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn atobarai(dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_atobarai"))
        .args(args)
        .current_dir(dir)
        .env_remove("RUST_BACKTRACE")
        .env_remove("RUST_LIB_BACKTRACE")
        .output()
        .unwrap();
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

fn files(list: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in list {
        std::fs::write(dir.path().join(name), text).unwrap();
    }
    dir
}

#[test]
fn check_lists_the_rules_of_a_good_file() {
    let dir = files(&[("rules.toml", RULES)]);
    let r = atobarai(dir.path(), &["rules", "check", "rules.toml"]);
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert!(
        lines[0].starts_with("cli version 2: 2 rules, sha256 "),
        "{}",
        r.stdout
    );
    let cells = |l: &str| l.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(cells(lines[1]), ["id", "action", "mode", "reason"]);
    assert_eq!(
        cells(lines[2]),
        [
            "gift_cards_only",
            "review",
            "live",
            "cash_equivalent_only_cart"
        ]
    );
    assert_eq!(
        cells(lines[3]),
        ["night_owl", "flag", "shadow", "night_order"]
    );
    assert_eq!(lines.len(), 4);
    // Nothing written: no store is needed.
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(names.len(), 1);
}

#[test]
fn check_prints_every_error_with_file_line_and_column() {
    let dir = files(&[("bad.toml", BAD)]);
    let r = atobarai(dir.path(), &["rules", "check", "bad.toml"]);
    assert!(!r.ok, "{}", r.stdout);
    assert!(r.stdout.is_empty(), "{}", r.stdout);
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("bad.toml:"))
        .collect();
    assert_eq!(errors.len(), 3, "{}", r.stderr);
    assert!(
        errors[0].starts_with("bad.toml:8:9: unknown feature `cart.totl`"),
        "{}",
        errors[0]
    );
    assert!(
        errors[0].contains("did you mean `cart.total`"),
        "{}",
        errors[0]
    );
    assert!(errors[1].starts_with("bad.toml:15:"), "{}", errors[1]);
    assert!(errors[1].contains("BadId"), "{}", errors[1]);
    assert!(errors[2].starts_with("bad.toml:18:"), "{}", errors[2]);
    assert!(errors[2].contains("explode"), "{}", errors[2]);
    assert!(r.stderr.contains("3 errors"), "{}", r.stderr);
}

#[test]
fn the_shipped_rules_check() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules/default.toml");
    let dir = tempfile::tempdir().unwrap();
    let r = atobarai(dir.path(), &["rules", "check", shipped.to_str().unwrap()]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.starts_with("default version "), "{}", r.stdout);
    assert!(
        r.stdout.contains("cash_equivalent_only_large"),
        "{}",
        r.stdout
    );
}

#[test]
fn test_passes_when_every_case_does() {
    let dir = files(&[("rules.toml", RULES), ("cases.toml", CASES)]);
    let r = atobarai(dir.path(), &["rules", "test", "rules.toml", "cases.toml"]);
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["result", "line", "case", "expected", "actual"]
    );
    assert!(lines[1].starts_with("ok "), "{}", r.stdout);
    assert!(lines[1].contains("gift cards only"), "{}", r.stdout);
    // Expected and actual side by side, reasons included.
    assert_eq!(
        lines[1]
            .matches("review [cash_equivalent_only_cart]")
            .count(),
        2,
        "{}",
        r.stdout
    );
    assert!(lines[2].starts_with("ok "), "{}", r.stdout);
    assert_eq!(lines.last(), Some(&"2 passed, 0 failed"));
}

#[test]
fn test_fails_with_expected_and_actual() {
    let wrong = CASES.replace("expect = \"none\"", "expect = \"decline\"");
    let dir = files(&[("rules.toml", RULES), ("cases.toml", &wrong)]);
    let r = atobarai(dir.path(), &["rules", "test", "rules.toml", "cases.toml"]);
    assert!(!r.ok, "{}", r.stdout);
    let failed = r
        .stdout
        .lines()
        .find(|l| l.starts_with("FAILED"))
        .unwrap_or_else(|| panic!("{}", r.stdout));
    let cells: Vec<&str> = failed
        .split("  ")
        .filter(|c| !c.trim().is_empty())
        .collect();
    assert_eq!(
        cells.iter().map(|c| c.trim()).collect::<Vec<_>>(),
        [
            "FAILED",
            "8",
            "an ordinary basket at night",
            "decline",
            "none"
        ],
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("- expected decline, got none"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("1 passed, 1 failed"), "{}", r.stdout);
    assert!(r.stderr.contains("1 of 2 cases failed"), "{}", r.stderr);
}

#[test]
fn test_reports_errors_in_the_cases_file_and_the_rules_file() {
    let bad_cases = "[[case]]\nname = \"x\"\nfeatures = { \"cart.nope\" = 1 }\nexpect = \"none\"\n";
    let dir = files(&[
        ("rules.toml", RULES),
        ("bad.toml", BAD),
        ("cases.toml", bad_cases),
    ]);
    let r = atobarai(dir.path(), &["rules", "test", "rules.toml", "cases.toml"]);
    assert!(!r.ok);
    assert!(
        r.stderr.contains("cases.toml:3:") && r.stderr.contains("cart.nope"),
        "{}",
        r.stderr
    );
    let r = atobarai(dir.path(), &["rules", "test", "bad.toml", "cases.toml"]);
    assert!(!r.ok);
    assert!(r.stderr.contains("bad.toml:8:9:"), "{}", r.stderr);
    let r = atobarai(dir.path(), &["rules", "check", "missing.toml"]);
    assert!(!r.ok);
    assert!(r.stderr.contains("missing.toml"), "{}", r.stderr);
}
