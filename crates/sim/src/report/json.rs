//! The report as JSON (pretty, keys in a fixed order: the same market gives
//! the same bytes).

use super::Report;
use serde::Serialize;

/// One report.
pub fn render(report: &Report) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

#[derive(Serialize)]
struct Compared<'a> {
    a: &'a Report,
    b: &'a Report,
}

/// Two reports of one market under two rule sets.
pub fn render_compare(a: &Report, b: &Report) -> String {
    let mut s = serde_json::to_string_pretty(&Compared { a, b })
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
