//! Dates and amounts as the document prints them.

use atobarai_core::{JstDate, Yen};

/// `2025年6月15日`.
pub(super) fn date(d: JstDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// A statement's month, `2025-05` → `2025年5月` (anything else as it is).
pub(super) fn month(m: &str) -> String {
    let parsed = m.split_once('-').and_then(|(y, mo)| {
        let y: u16 = y.parse().ok()?;
        let mo: u8 = mo.parse().ok()?;
        (1..=12).contains(&mo).then_some((y, mo))
    });
    match parsed {
        Some((y, mo)) => format!("{y}年{mo}月"),
        None => m.to_owned(),
    }
}

/// `¥12,345` (negative: `-¥12,345`).
pub(super) fn yen(y: Yen) -> String {
    y.to_string()
}

/// An amount taken off, `-¥1,000` (nothing taken off: `¥0`).
pub(super) fn minus(y: Yen) -> String {
    match y.checked_neg() {
        Ok(n) => n.to_string(),
        // Only the lowest yen has no negation: its digits are those of the
        // negation.
        Err(_) => y.to_string().trim_start_matches('-').to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_months_and_amounts_read_the_japanese_way() {
        assert_eq!(date(JstDate::new(2025, 6, 5).unwrap()), "2025年6月5日");
        assert_eq!(month("2025-05"), "2025年5月");
        assert_eq!(month("May"), "May");
        assert_eq!(yen(Yen::new(12_345)), "¥12,345");
        assert_eq!(minus(Yen::new(1_000)), "-¥1,000");
        assert_eq!(minus(Yen::ZERO), "¥0");
        assert_eq!(minus(Yen::new(-5)), "¥5");
        assert_eq!(minus(Yen::new(i64::MIN)), "¥9,223,372,036,854,775,808");
    }
}
