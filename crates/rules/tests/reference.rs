//! Differential property test: well-typed random expressions, compiled by
//! the crate, agree with a small tree-walking reference interpreter written
//! here from the documented semantics (saturating arithmetic, division and
//! remainder by zero are 0, short-circuit).
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use atobarai_rules::{Schema, Type, Value, check_file};
use proptest::prelude::*;

// feature ids: 0..3 int, 3..5 bool, 5 str
const NAMES: &[(&str, Type)] = &[
    ("a.x", Type::Int),
    ("a.y", Type::Int),
    ("b.z", Type::Int),
    ("f.p", Type::Bool),
    ("f.q", Type::Bool),
    ("s.c", Type::Str),
];
const STRS: &[&str] = &["", "online", "in_store", "日本"];

#[derive(Clone, Debug)]
enum E {
    Int(i64),
    Bool(bool),
    Str(&'static str),
    Feat(usize),
    Neg(Box<E>),
    Abs(Box<E>),
    Not(Box<E>),
    Bin(&'static str, Box<E>, Box<E>),
    InInt(Box<E>, Vec<i64>),
    InStr(Box<E>, Vec<&'static str>),
}

fn render(e: &E) -> String {
    match e {
        E::Int(i) if *i < 0 => format!("(-{})", i.unsigned_abs()),
        E::Int(i) => i.to_string(),
        E::Bool(b) => b.to_string(),
        E::Str(s) => format!("\"{s}\""),
        E::Feat(i) => NAMES[*i].0.to_owned(),
        E::Neg(a) => format!("(-{})", render(a)),
        E::Abs(a) => format!("abs({})", render(a)),
        E::Not(a) => format!("(!{})", render(a)),
        E::Bin(op @ ("min" | "max"), a, b) => format!("{op}({}, {})", render(a), render(b)),
        E::Bin(op, a, b) => format!("({} {op} {})", render(a), render(b)),
        E::InInt(a, l) => {
            let l: Vec<String> = l.iter().map(i64::to_string).collect();
            format!("({} in [{}])", render(a), l.join(", "))
        }
        E::InStr(a, l) => {
            let l: Vec<String> = l.iter().map(|s| format!("\"{s}\"")).collect();
            format!("({} in [{}])", render(a), l.join(", "))
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum V {
    I(i64),
    B(bool),
    S(&'static str),
}

fn eval(e: &E, f: &[V]) -> V {
    let int = |e: &E| match eval(e, f) {
        V::I(i) => i,
        v => panic!("not int: {v:?}"),
    };
    let boolean = |e: &E| match eval(e, f) {
        V::B(b) => b,
        v => panic!("not bool: {v:?}"),
    };
    match e {
        E::Int(i) => V::I(*i),
        E::Bool(b) => V::B(*b),
        E::Str(s) => V::S(s),
        E::Feat(i) => f[*i],
        E::Neg(a) => V::I(int(a).saturating_neg()),
        E::Abs(a) => V::I(int(a).saturating_abs()),
        E::Not(a) => V::B(!boolean(a)),
        E::Bin("&&", a, b) => V::B(boolean(a) && boolean(b)),
        E::Bin("||", a, b) => V::B(boolean(a) || boolean(b)),
        E::Bin("==", a, b) => V::B(eval(a, f) == eval(b, f)),
        E::Bin("!=", a, b) => V::B(eval(a, f) != eval(b, f)),
        E::Bin(op, a, b) => {
            let (x, y) = (int(a), int(b));
            // wide arithmetic, then clamp: an independent route to saturation
            let clamp = |v: i128| v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64;
            let (wx, wy) = (i128::from(x), i128::from(y));
            match *op {
                "+" => V::I(clamp(wx + wy)),
                "-" => V::I(clamp(wx - wy)),
                "*" => V::I(clamp(wx * wy)),
                "/" => V::I(if y == 0 { 0 } else { clamp(wx / wy) }),
                "%" => V::I(if y == 0 { 0 } else { clamp(wx % wy) }),
                "min" => V::I(x.min(y)),
                "max" => V::I(x.max(y)),
                "<" => V::B(x < y),
                "<=" => V::B(x <= y),
                ">" => V::B(x > y),
                ">=" => V::B(x >= y),
                other => panic!("op {other}"),
            }
        }
        E::InInt(a, l) => V::B(l.contains(&int(a))),
        E::InStr(a, l) => V::B(match eval(a, f) {
            V::S(s) => l.contains(&s),
            v => panic!("not str: {v:?}"),
        }),
    }
}

fn edge_int() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MAX),
        Just(i64::MIN + 1),
        Just(0i64),
        Just(-1i64),
        Just(1i64),
        -1_000i64..1_000,
        any::<i64>().prop_filter("MIN is not a literal", |i| *i != i64::MIN),
    ]
}

fn int_expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![edge_int().prop_map(E::Int), (0usize..3).prop_map(E::Feat)];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (
                prop::sample::select(&["+", "-", "*", "/", "%", "min", "max"][..]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, a, b)| E::Bin(op, Box::new(a), Box::new(b))),
            inner.clone().prop_map(|a| E::Neg(Box::new(a))),
            inner.prop_map(|a| E::Abs(Box::new(a))),
        ]
    })
}

fn bool_expr() -> impl Strategy<Value = E> {
    let leaf = prop_oneof![
        any::<bool>().prop_map(E::Bool),
        (3usize..5).prop_map(E::Feat),
        (
            prop::sample::select(&["<", "<=", ">", ">=", "==", "!="][..]),
            int_expr(),
            int_expr()
        )
            .prop_map(|(op, a, b)| E::Bin(op, Box::new(a), Box::new(b))),
        (
            prop::sample::select(STRS),
            prop::sample::select(&["==", "!="][..])
        )
            .prop_map(|(s, op)| E::Bin(op, Box::new(E::Feat(5)), Box::new(E::Str(s)))),
        (int_expr(), prop::collection::vec(edge_int(), 0..5))
            .prop_map(|(a, l)| E::InInt(Box::new(a), l)),
        prop::collection::vec(prop::sample::select(STRS), 0..4)
            .prop_map(|l| E::InStr(Box::new(E::Feat(5)), l)),
    ];
    leaf.prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            (
                prop::sample::select(&["&&", "||", "==", "!="][..]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, a, b)| E::Bin(op, Box::new(a), Box::new(b))),
            inner.prop_map(|a| E::Not(Box::new(a))),
        ]
    })
}

fn features() -> impl Strategy<Value = Vec<V>> {
    (
        prop::collection::vec(edge_int(), 3),
        prop::collection::vec(any::<bool>(), 2),
        prop::sample::select(STRS),
    )
        .prop_map(|(i, b, s)| {
            let mut v: Vec<V> = i.into_iter().map(V::I).collect();
            v.extend(b.into_iter().map(V::B));
            v.push(V::S(s));
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3_000, ..ProptestConfig::default() })]

    #[test]
    fn compiled_agrees_with_reference(e in bool_expr(), f in features()) {
        let when = render(&e);
        let text = format!(
            "[set]\nname = \"r\"\nversion = 1\n[[rule]]\nid = \"r\"\nversion = 1\nwhen = '{when}'\naction = \"flag\"\nreason = \"r\"\ntext_ja = \"r\"\ntext_en = \"r\"\n"
        );
        let schema = Schema::new(NAMES);
        let set = match check_file(&text, &schema) {
            Ok(set) => set,
            Err(errors) => {
                // only the documented limits may refuse a well-typed expression
                prop_assert!(
                    errors.iter().all(|e| e.message.contains("nested deeper")
                        || e.message.contains("too complex")),
                    "{when}: {errors:?}"
                );
                return Ok(());
            }
        };
        let values: Vec<Value<'static>> = f
            .iter()
            .map(|v| match v {
                V::I(i) => Value::Int(*i),
                V::B(b) => Value::Bool(*b),
                V::S(s) => Value::Str(s),
            })
            .collect();
        let got = set.evaluate(values.as_slice());
        prop_assert!(got.errors.is_empty());
        let want = eval(&e, &f) == V::B(true);
        prop_assert_eq!(!got.fired.is_empty(), want, "{}", when);
    }
}
