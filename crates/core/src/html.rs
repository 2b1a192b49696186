//! The one HTML escape every page atobarai writes uses (billing documents,
//! the simulation and backtest reports, the model report).

/// Escape `s` for HTML text and attribute values: `& < > " '`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_and_quotes_are_escaped_and_the_rest_kept() {
        assert_eq!(
            super::escape("<a href=\"x\">&'山田'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;山田&#39;&lt;/a&gt;"
        );
        assert_eq!(super::escape("ヨーグルト 400g"), "ヨーグルト 400g");
    }
}
