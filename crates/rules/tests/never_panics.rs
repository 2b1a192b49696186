//! Property tests: the parser, checker and evaluator never panic, whatever
//! the rules text, the expression or the feature values (i64::MIN/MAX,
//! values of the wrong type, a feature vector too short).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use atobarai_rules::{Outcome, Schema, Type, Value, check_file, run_cases};
use proptest::prelude::*;

fn rules_with(when: &str) -> String {
    format!(
        "[set]\nname = \"p\"\nversion = 1\n\n[[rule]]\nid = \"a\"\nversion = 1\nwhen = '''{when}'''\naction = \"decline\"\nreason = \"a\"\ntext_ja = \"a\"\ntext_en = \"a\"\n\n[[rule]]\nid = \"b\"\nversion = 1\nwhen = '''!({when})'''\naction = \"review\"\nreason = \"b\"\ntext_ja = \"b\"\ntext_en = \"b\"\nmode = \"shadow\"\n"
    )
}

const TOKENS: &[&str] = &[
    "cart.total",
    "cart.liquid_share_bp",
    "account.age_days",
    "account.new_device",
    "order.channel",
    "velocity.same_amount_3d",
    "cart.totl",
    "true",
    "false",
    "0",
    "1",
    "-1",
    "5_000",
    "9223372036854775807",
    "9_223_372_036_854_775_808",
    "14d",
    "36h",
    "90m",
    "5s",
    "\"in_store\"",
    "\"\"",
    "&&",
    "||",
    "!",
    "-",
    "+",
    "*",
    "/",
    "%",
    "<",
    "<=",
    ">",
    ">=",
    "==",
    "!=",
    "in",
    "[",
    "]",
    ",",
    "(",
    ")",
    "min(",
    "max(",
    "abs(",
    "=",
    "&",
    "|",
    "\\",
    "'",
    "\"",
    "日本",
    "1__0",
    "_",
    ".",
    "x.",
    "14x",
];

fn expression() -> impl Strategy<Value = String> {
    prop_oneof![
        // token soup: mostly well-formed enough to reach the checker and evaluator
        prop::collection::vec(prop::sample::select(TOKENS), 0..40).prop_map(|t| t.join(" ")),
        // arbitrary text
        any::<String>(),
        "[ -~]{0,200}",
    ]
}

fn int() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(0i64),
        Just(-1i64),
        Just(1i64),
        any::<i64>(),
        -100_000i64..100_000,
    ]
}

fn value() -> impl Strategy<Value = Value<'static>> {
    prop_oneof![
        6 => int().prop_map(Value::Int),
        2 => any::<bool>().prop_map(Value::Bool),
        2 => prop::sample::select(&["", "in_store", "online", "日本"][..]).prop_map(Value::Str),
    ]
}

fn schema() -> Schema {
    Schema::new(&[
        ("cart.total", Type::Int),
        ("cart.liquid_share_bp", Type::Int),
        ("account.age_days", Type::Int),
        ("account.new_device", Type::Bool),
        ("order.channel", Type::Str),
        ("velocity.same_amount_3d", Type::Int),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

    #[test]
    fn expressions_never_panic(when in expression(), values in prop::collection::vec(value(), 0..8)) {
        let schema = schema();
        let text = rules_with(&when);
        match check_file(&text, &schema) {
            Ok(set) => {
                let e = set.evaluate(values.as_slice());
                // the rule and its negation: exactly one fires unless not evaluable
                if e.errors.is_empty() {
                    prop_assert_eq!(e.fired.len() + e.shadow_fired.len(), 1, "{}", when);
                    prop_assert!(matches!(e.outcome, Outcome::None | Outcome::Decline));
                }
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in errors {
                    prop_assert!(e.line >= 1 && e.column >= 1);
                    prop_assert!(e.line as usize <= text.lines().count() + 1);
                }
            }
        }
    }

    #[test]
    fn rules_files_never_panic(text in any::<String>()) {
        let _ = check_file(&text, &schema());
    }

    #[test]
    fn mutated_example_never_panics(cut in 0usize..4_000, insert in "[ -~\n]{0,8}") {
        let mut text = common::EXAMPLE.to_owned();
        let mut at = cut.min(text.len());
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.insert_str(at, &insert);
        if let Ok(set) = check_file(&text, &common::schema()) {
            let _ = run_cases(&set, common::EXAMPLE_CASES);
        }
    }

    #[test]
    fn cases_files_never_panic(text in any::<String>(), soup in prop::collection::vec(prop::sample::select(&["[[case]]\n", "name = \"x\"\n", "expect = \"none\"\n", "features = { \"cart.total\" = 1 }\n", "features = { cart = { total = true } }\n", "reasons = []\n", "cap_yen = 1\n"][..]), 0..12)) {
        let set = check_file(common::EXAMPLE, &common::schema()).unwrap();
        let _ = run_cases(&set, &text);
        let _ = run_cases(&set, &soup.concat());
    }
}
