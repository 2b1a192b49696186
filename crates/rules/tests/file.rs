//! Rules files end to end: loading the example, golden error messages with
//! line and column, evaluation, cases and the stored form.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use atobarai_rules::{
    Action, Evaluation, Mode, Outcome, RuleError, RuleSet, Value, check_file, run_cases,
};
use common::{EXAMPLE, EXAMPLE_CASES, schema};

fn errors(text: &str) -> Vec<String> {
    match check_file(text, &schema()) {
        Ok(_) => vec![],
        Err(es) => es.iter().map(ToString::to_string).collect(),
    }
}

const HEADER: &str = "[set]\nname = \"t\"\nversion = 1\n";

fn rule(id: &str, when: &str, extra: &str) -> String {
    format!(
        "\n[[rule]]\nid = \"{id}\"\nversion = 1\nwhen = {when}\naction = \"review\"\nreason = \"r\"\ntext_ja = \"確認\"\ntext_en = \"check\"\n{extra}"
    )
}

#[test]
fn the_example_loads() {
    let set = check_file(EXAMPLE, &schema()).unwrap();
    assert_eq!(set.name, "example");
    assert_eq!(set.version, 3);
    assert_eq!(set.rules().len(), 6);
    let r = set.rule("liquid_cadence").unwrap();
    assert_eq!(r.action, Action::Cap { cap_yen: 10_000 });
    assert_eq!(r.line, 31);
    let names: Vec<&str> = r
        .features()
        .iter()
        .map(|f| set.schema().name(*f).unwrap())
        .collect();
    assert_eq!(
        names,
        ["velocity.liquid_orders_90d", "velocity.liquid_gap_max_s"]
    );
    assert_eq!(set.rule("repeat_amount_shadow").unwrap().mode, Mode::Shadow);
}

#[test]
fn the_example_cases_pass() {
    let set = check_file(EXAMPLE, &schema()).unwrap();
    let report = run_cases(&set, EXAMPLE_CASES).unwrap();
    assert!(report.all_passed(), "{report}");
    assert_eq!(report.passed(), 6);
}

#[test]
fn failed_cases_say_why() {
    let set = check_file(EXAMPLE, &schema()).unwrap();
    let cases = r#"
[[case]]
name = "wrong"
features = { "cart.total" = 10_000, "cart.liquid_share_bp" = 10_000 }
expect = "review"
reasons = ["x"]
"#;
    let report = run_cases(&set, cases).unwrap();
    assert_eq!(report.failed(), 1);
    assert_eq!(
        report.to_string(),
        "FAILED  line    2  wrong\n        expected review, got decline\n        \
         expected reasons [\"x\"], got [\"cash_equivalent_only_cart\"]\n0 passed, 1 failed\n"
    );
}

#[test]
fn bad_cases_are_located() {
    let set = check_file(EXAMPLE, &schema()).unwrap();
    let cases = "[[case]]\nname = \"a\"\nfeatures = { \"cart.totl\" = 1, \"order.channel\" = 3 }\nexpect = \"hold\"\n";
    let errs: Vec<String> = run_cases(&set, cases)
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        errs,
        [
            "3:14: unknown feature `cart.totl` (did you mean `cart.total`?)",
            "3:49: feature `order.channel` is str, found integer",
            "4:10: unknown outcome `hold` (none, approve, flag, cap, review, decline)",
        ]
    );
}

#[test]
fn golden_errors_with_line_and_column() {
    let text = format!(
        "{HEADER}{}{}{}{}{}{}",
        rule("a", "'cart.totl > 1 && cart.total + true > 2'", ""),
        rule("a", "\"order.channel == 1\"", ""),
        rule("Bad-Id", "'''\ncart.total >\n  (1 +)'''", ""),
        rule("c", "'cart.total'", "mode = \"dark\"\n"),
        rule("d", "\"account.new_device\"", "cap_yen = 5\n"),
        rule("e", "\"cart.total > 1\"", "")
            .replace("\"review\"", "\"cap\"")
            .replace("\"r\"", "\"R\""),
    );
    let got = errors(&text);
    let want = [
        "8:9: unknown feature `cart.totl` (did you mean `cart.total`?)",
        "8:39: `+` needs int, found bool",
        "15:6: duplicate rule id `a` (first at line 6)",
        "17:23: `==` compares str with int",
        "24:6: rule id `Bad-Id` is not snake_case",
        "28:7: expected a value, found `)`",
        "37:9: a condition must be bool, found int",
        "42:8: unknown mode `dark` (live, shadow)",
        "52:11: `cap_yen` is only for action `cap`",
        "58:10: action `cap` needs `cap_yen`",
        "59:10: reason `R` is not a snake_case code",
    ];
    assert_eq!(got, want, "\n{text}");
}

#[test]
fn structural_errors_come_from_toml_with_positions() {
    assert_eq!(
        errors("[set]\nname = \"t\"\nversion = -1\n"),
        ["3:11: invalid value: integer `-1`, expected u32"]
    );
    assert_eq!(
        errors(&format!("{HEADER}{}", rule("a", "'true'", "cap_yne = 1\n"))),
        [
            "13:1: unknown field `cap_yne`, expected one of `id`, `version`, `description`, `when`, `action`, `cap_yen`, `reason`, `text_ja`, `text_en`, `mode`"
        ]
    );
    assert_eq!(errors("[set\n"), ["1:5: unclosed table, expected `]`"]);
}

#[test]
fn escapes_in_when_are_refused() {
    assert_eq!(
        errors(&format!(
            "{HEADER}{}",
            rule("a", r#""order.channel == \"x\"""#, "")
        )),
        ["8:8: `when` cannot contain escapes: write it as a literal string, 'like \"this\"'"]
    );
}

#[test]
fn limits_on_rules() {
    let many: String = (0..501)
        .map(|i| rule(&format!("r{i}"), "'true'", ""))
        .collect();
    let errs = errors(&format!("{HEADER}{many}"));
    assert_eq!(errs.len(), 1);
    assert!(
        errs[0].ends_with("a rule set holds at most 500 rules"),
        "{errs:?}"
    );
}

#[test]
fn errors_serialize_for_the_api() {
    let e = RuleError {
        line: 3,
        column: 7,
        message: "m".into(),
    };
    assert_eq!(
        serde_json::to_string(&e).unwrap(),
        r#"{"line":3,"column":7,"message":"m"}"#
    );
}

fn eval(set: &RuleSet, values: &[(&str, Value<'static>)]) -> Evaluation {
    let schema = set.schema();
    let mut v: Vec<Value<'static>> = schema
        .iter()
        .map(|(_, _, t)| match t {
            atobarai_rules::Type::Int => Value::Int(0),
            atobarai_rules::Type::Bool => Value::Bool(false),
            atobarai_rules::Type::Str => Value::Str(""),
        })
        .collect();
    for (name, value) in values {
        v[schema.id(name).unwrap().index()] = *value;
    }
    set.evaluate(v.as_slice())
}

#[test]
fn precedence() {
    let set = check_file(EXAMPLE, &schema()).unwrap();
    // decline beats the allow-list; the cap is not reported on a decline
    let e = eval(
        &set,
        &[
            ("cart.total", Value::Int(9_000)),
            ("cart.liquid_share_bp", Value::Int(10_000)),
            ("account.allow_listed", Value::Bool(true)),
            ("velocity.liquid_orders_90d", Value::Int(5)),
        ],
    );
    assert_eq!(e.outcome, Outcome::Decline);
    assert_eq!(e.cap_yen, None);
    assert_eq!(e.reasons(&set), ["cash_equivalent_only_cart"]);
    // review + cap: review, with the cap kept
    let e = eval(
        &set,
        &[
            ("cart.liquid_share_bp", Value::Int(5_000)),
            ("velocity.liquid_orders_90d", Value::Int(5)),
        ],
    );
    assert_eq!(e.outcome, Outcome::Review);
    assert_eq!(e.cap_yen, Some(10_000));
    // allow-list suppresses review and flag
    let e = eval(
        &set,
        &[
            ("cart.liquid_share_bp", Value::Int(5_000)),
            ("order.channel", Value::Str("in_store")),
            ("account.new_device", Value::Bool(true)),
            ("account.allow_listed", Value::Bool(true)),
        ],
    );
    assert_eq!(e.outcome, Outcome::Approve);
    assert_eq!(e.suppressed.len(), 2);
    let reads: Vec<(&str, usize)> = e
        .reads(&set)
        .map(|(r, f)| (r.id.as_str(), f.len()))
        .collect();
    assert_eq!(
        reads,
        [
            ("hidden_gift_card", 3),
            ("in_store_new_device", 2),
            ("corporate_allow_list", 1)
        ]
    );
    assert_eq!(e.fired.len(), 3);
    // shadow decline: recorded, outcome unchanged, shadow outcome shows it
    let e = eval(
        &set,
        &[
            ("velocity.same_amount_3d", Value::Int(4)),
            ("account.age_days", Value::Int(99)),
        ],
    );
    assert_eq!(
        (e.outcome, e.shadow_outcome),
        (Outcome::None, Outcome::Decline)
    );
    // a wrong-typed value: the rule is not evaluable, not fired
    let mut v = vec![Value::Int(0); set.schema().len()];
    v[set.schema().id("account.allow_listed").unwrap().index()] = Value::Int(1);
    let e = set.evaluate(v.as_slice());
    assert!(e.errors.contains(&4), "{e:?}");
}

#[test]
fn stored_form_roundtrips() {
    let set = check_file(EXAMPLE, &schema()).unwrap();
    let stored = set.to_stored();
    let json = serde_json::to_string(&stored).unwrap();
    let back: atobarai_rules::StoredRuleSet = serde_json::from_str(&json).unwrap();
    let again = RuleSet::from_stored(&back, &schema()).unwrap();
    assert_eq!(again.digest(), set.digest());
    assert_eq!(again.source(), EXAMPLE);
    assert_eq!(set.digest_hex().len(), 64);
    assert_eq!(serde_json::to_string(&set).unwrap(), json);
    let mut tampered = back.clone();
    tampered.source.push(' ');
    assert!(RuleSet::from_stored(&tampered, &schema()).is_err());
}

#[test]
fn crlf_files_map_positions() {
    let text =
        format!("{HEADER}{}", rule("a", "'''\ncart.total >\n  (1 +)'''", "")).replace('\n', "\r\n");
    assert_eq!(errors(&text), ["10:7: expected a value, found `)`"]);
    let text = format!("{HEADER}{}", rule("a", "'cart.totl > 1'", "")).replace('\n', "\r\n");
    assert_eq!(
        errors(&text),
        ["8:9: unknown feature `cart.totl` (did you mean `cart.total`?)"]
    );
}

#[test]
fn every_structural_error_is_collected() {
    let text = format!(
        "{HEADER}{}{}{}\n[extra]\n",
        rule("a", "'true'", "").replace("reason = \"r\"\n", ""),
        rule("b", "'cart.total +'", ""),
        rule("c", "'true'", "cap_yne = 1\n"),
    );
    assert_eq!(
        errors(&text),
        [
            "5:1: missing field `reason`",
            "16:21: expected a value, found end of expression",
            "30:1: unknown field `cap_yne`, expected one of `id`, `version`, `description`, `when`, `action`, `cap_yen`, `reason`, `text_ja`, `text_en`, `mode`",
            "32:2: unknown key `extra` (a rules file has `[set]` and `[[rule]]`)",
        ],
        "\n{text}"
    );
    // several syntax errors at once
    let errs = errors("[set]\nname = \"t\nversion = 1\n[[rule]\nid = = 3\n");
    assert_eq!(
        errs,
        [
            "2:10: invalid basic string, expected `\"`",
            "4:8: unclosed array table, expected `]`",
            "5:6: extra `=`, expected nothing",
            "5:8: unexpected key or value, expected newline, `#`",
        ]
    );
    assert_eq!(
        errors("version = 1\n"),
        [
            "1:1: unknown key `version` (a rules file has `[set]` and `[[rule]]`)",
            "1:1: missing `[set]` (name, version, description)",
        ]
    );
}

#[test]
fn one_reason_code_one_text() {
    let text = format!(
        "{HEADER}{}{}",
        rule("a", "'true'", ""),
        rule("b", "'true'", "").replace("\"check\"", "\"other\""),
    );
    assert_eq!(
        errors(&text),
        ["19:10: reason `r` has other texts at line 10: one code, one text"]
    );
}
