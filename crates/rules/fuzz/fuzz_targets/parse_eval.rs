//! Whatever the bytes: parsing, checking, compiling, evaluating and running
//! cases never panic. The first byte picks what the rest is:
//! 0 = a whole rules file; 1 = a `when` expression (then feature values);
//! 2 = a cases file run against the example rule set.
#![no_main]

use atobarai_rules::{Schema, Type, Value, check_file, run_cases};
use libfuzzer_sys::fuzz_target;

const EXAMPLE: &str = include_str!("../../tests/data/example.toml");

fn schema() -> Schema {
    Schema::new(&[
        ("cart.total", Type::Int),
        ("cart.liquid_share_bp", Type::Int),
        ("cart.items", Type::Int),
        ("account.age_days", Type::Int),
        ("account.bank_debit", Type::Bool),
        ("account.new_device", Type::Bool),
        ("account.allow_listed", Type::Bool),
        ("order.channel", Type::Str),
        ("order.category", Type::Str),
        ("velocity.liquid_orders_90d", Type::Int),
        ("velocity.liquid_gap_max_s", Type::Int),
        ("velocity.same_amount_3d", Type::Int),
    ])
}

/// Feature values from bytes: 9 bytes each (a type tag and 8 bytes).
fn values(bytes: &[u8]) -> Vec<Value<'static>> {
    const STRS: [&str; 4] = ["", "online", "in_store", "日本"];
    bytes
        .chunks(9)
        .map(|c| {
            let mut n = [0u8; 8];
            for (d, s) in n.iter_mut().zip(c.iter().skip(1)) {
                *d = *s;
            }
            let n = i64::from_le_bytes(n);
            match c.first().copied().unwrap_or(0) % 3 {
                0 => Value::Int(n),
                1 => Value::Bool(n & 1 == 1),
                _ => Value::Str(STRS[(n & 3) as usize]),
            }
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let schema = schema();
    match mode % 3 {
        0 => {
            if let Ok(text) = std::str::from_utf8(rest) {
                if let Ok(set) = check_file(text, &schema) {
                    let _ = set.evaluate(values(&[]).as_slice());
                }
            }
        }
        1 => {
            // expression, a 0xFF byte, then feature values
            let split = rest.iter().position(|b| *b == 0xFF).unwrap_or(rest.len());
            let Ok(when) = std::str::from_utf8(&rest[..split]) else {
                return;
            };
            if when.contains("'''") {
                return;
            }
            let text = format!(
                "[set]\nname = \"f\"\nversion = 1\n[[rule]]\nid = \"f\"\nversion = 1\nwhen = '''{when}'''\naction = \"decline\"\nreason = \"f\"\ntext_ja = \"f\"\ntext_en = \"f\"\n"
            );
            if let Ok(set) = check_file(&text, &schema) {
                let v = values(rest.get(split + 1..).unwrap_or(&[]));
                let _ = set.evaluate(v.as_slice());
            }
        }
        _ => {
            if let (Ok(text), Ok(set)) = (std::str::from_utf8(rest), check_file(EXAMPLE, &schema)) {
                let _ = run_cases(&set, text);
            }
        }
    }
});
