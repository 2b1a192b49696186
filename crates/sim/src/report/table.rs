//! The report as terminal tables.

use super::{HonestRow, PersonaRow, Report, RuleRow};
use std::fmt::Write;

/// `¥1,234,567`.
pub fn yen(v: i64) -> String {
    let digits = v.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    format!("{}¥{out}", if v < 0 { "-" } else { "" })
}

/// `12.3%`.
pub fn pct(v: f64) -> String {
    format!("{:.1}%", v * 100.0)
}

/// `0.12%`.
pub fn pct2(v: f64) -> String {
    format!("{:.2}%", v * 100.0)
}

fn reasons(r: &std::collections::BTreeMap<String, u64>) -> String {
    if r.is_empty() {
        return "-".into();
    }
    r.iter()
        .map(|(k, v)| format!("{k} {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn persona_lines(out: &mut String, rows: &[PersonaRow]) {
    let _ = writeln!(
        out,
        "{:<22} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>6} {:>13} {:>7} {:>13}",
        "persona",
        "persons",
        "targets",
        "caught",
        "liquid",
        "by 1st",
        "by 2nd",
        "by 3rd",
        "risk@3",
        "never",
        "ok<1st",
        "yen<1st",
        "joined",
        "credit loss"
    );
    for r in rows {
        let joined = if r.multi_account_persons > 0 {
            format!("{}/{}", r.accounts_joined, r.multi_account_persons)
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "{:<22} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>6} {:>6} {:>13} {:>7} {:>13}",
            r.persona,
            r.persons,
            r.target_orders,
            pct(r.target_caught_share),
            r.liquid_buyers,
            pct(r.caught_by_1st),
            pct(r.caught_by_2nd),
            pct(r.caught_by_3rd),
            pct(r.risk_caught_by_3rd),
            r.never_caught,
            r.approved_orders_before_first_catch,
            yen(r.approved_yen_before_first_catch),
            joined,
            yen(r.credit_loss_yen),
        );
    }
}

fn honest_lines(out: &mut String, rows: &[HonestRow]) {
    let _ = writeln!(
        out,
        "{:<24} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>13}",
        "group",
        "persons",
        "orders",
        "decl.",
        "held",
        "decl %",
        "held %",
        "credit",
        "risk",
        "risk %",
        "linked",
        "credit loss"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<24} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>13}",
            if r.honest_group {
                r.group.to_string()
            } else {
                format!("({} own)", r.group)
            },
            r.persons,
            r.orders,
            r.declined,
            r.reviewed,
            pct(r.decline_rate),
            pct(r.review_rate),
            r.declined_credit + r.reviewed_credit,
            r.declined_risk + r.reviewed_risk,
            pct2(r.risk_rate),
            r.linked_to_other_persons,
            yen(r.credit_loss_yen),
        );
    }
}

/// The personas a rule fired on most (abusive personas first), `name n`.
pub fn top_personas(r: &RuleRow, n: usize) -> String {
    let mut v: Vec<(&String, &u64)> = r.by_persona.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let s: Vec<String> = v.iter().take(n).map(|(k, c)| format!("{k} {c}")).collect();
    if s.is_empty() {
        "-".into()
    } else {
        s.join(", ")
    }
}

fn rule_lines(out: &mut String, rows: &[RuleRow]) {
    let _ = writeln!(
        out,
        "{:<36} {:<6} {:<7} {:>7} {:>7} {:>6} {:>7} {:>7} {:>6} {:>6}  most hits",
        "rule",
        "mode",
        "action",
        "fired",
        "honest",
        "alone",
        "hh/dorm",
        "targets",
        "alone",
        "other",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:<36} {:<6} {:<7} {:>7} {:>7} {:>6} {:>7} {:>7} {:>6} {:>6}  {}",
            r.id,
            if r.shadow { "shadow" } else { "live" },
            r.action,
            r.fired,
            r.honest,
            r.honest_alone,
            r.household_dormitory,
            r.targets,
            r.targets_alone,
            r.other,
            top_personas(r, 3)
        );
    }
}

/// One report as text.
pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let m = &r.market;
    let _ = writeln!(
        out,
        "market: {} persons, {} days from {}, seed {}, rules: {}, analyst: {:?}",
        m.customers, m.days, m.start, m.seed, m.rules, m.analyst
    );
    let t = &r.totals;
    let _ = writeln!(
        out,
        "orders {}  approved {}  held {}  declined {}  refused {}  approved volume {}  credit loss {}  payments {} ({})\n",
        t.orders,
        t.approved,
        t.reviewed,
        t.declined,
        t.refused,
        yen(t.approved_volume_yen),
        yen(t.credit_loss_yen),
        t.payments,
        yen(t.paid_yen)
    );
    let _ = writeln!(
        out,
        "Detection (caught = target orders declined or held; by k-th = persons caught by the k-th liquid purchase; risk@3 = caught for a risk reason by the 3rd;\n\
         ok<1st / yen<1st = target orders approved before the first catch; joined = persons whose accounts the engine joined into one cluster)"
    );
    persona_lines(&mut out, &r.personas);
    let _ = writeln!(
        out,
        "\nFalse declines and reviews (non-target orders; credit / risk = declined or held for a credit / risk reason;\n\
         linked = persons the engine put in one identity cluster with another person)"
    );
    honest_lines(&mut out, &r.honest);
    if !r.rules.is_empty() {
        let _ = writeln!(
            out,
            "\nRisk rules (orders each rule fired on: honest = the honest groups' orders, hh/dorm = of which households'\n\
             and dormitories', targets = target orders, other = abusers' other orders; alone = decided by this rule alone:\n\
             live, no other live rule fired; shadow, nothing live fired and the order was approved)"
        );
        rule_lines(&mut out, &r.rules);
    }
    let _ = writeln!(out, "\nReason codes");
    for h in r.honest.iter().filter(|h| h.honest_group) {
        let _ = writeln!(out, "  {:<22} {}", h.group, reasons(&h.reasons));
    }
    for p in &r.personas {
        let _ = writeln!(out, "  {:<22} {}", p.persona, reasons(&p.reasons));
    }
    out
}

/// Two reports side by side: the figures that move, A → B.
pub fn render_compare(a: &Report, b: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "market: {} persons, {} days, seed {}\nA = {}\nB = {}\n",
        a.market.customers, a.market.days, a.market.seed, a.market.rules, b.market.rules
    );
    let _ = writeln!(
        out,
        "{:<22} {:>15} {:>15} {:>15} {:>15}",
        "persona", "by 3rd A", "by 3rd B", "yen before A", "yen before B"
    );
    for (x, y) in a.personas.iter().zip(&b.personas) {
        let _ = writeln!(
            out,
            "{:<22} {:>15} {:>15} {:>15} {:>15}",
            x.persona,
            pct(x.caught_by_3rd),
            pct(y.caught_by_3rd),
            yen(x.approved_yen_before_first_catch),
            yen(y.approved_yen_before_first_catch)
        );
    }
    let _ = writeln!(
        out,
        "\n{:<22} {:>15} {:>15} {:>15} {:>15}",
        "group", "decl % A", "decl % B", "held % A", "held % B"
    );
    for (x, y) in a.honest.iter().zip(&b.honest) {
        let _ = writeln!(
            out,
            "{:<22} {:>15} {:>15} {:>15} {:>15}",
            x.group,
            pct(x.decline_rate),
            pct(y.decline_rate),
            pct(x.review_rate),
            pct(y.review_rate)
        );
    }
    let _ = writeln!(
        out,
        "\n{:<22} {:>15} {:>15}\n{:<22} {:>15} {:>15}\n{:<22} {:>15} {:>15}",
        "",
        "A",
        "B",
        "approved volume",
        yen(a.totals.approved_volume_yen),
        yen(b.totals.approved_volume_yen),
        "credit loss",
        yen(a.totals.credit_loss_yen),
        yen(b.totals.credit_loss_yen)
    );
    if !a.rules.is_empty() || !b.rules.is_empty() {
        let _ = writeln!(
            out,
            "\n{:<36} {:>9} {:>9} {:>9} {:>9}",
            "rule (- = not in the set)", "honest A", "honest B", "targets A", "targets B"
        );
        let mut ids: Vec<&str> = a.rules.iter().map(|r| r.id.as_str()).collect();
        for r in &b.rules {
            if !ids.contains(&r.id.as_str()) {
                ids.push(&r.id);
            }
        }
        let find = |rep: &'_ Report, id: &str| -> (String, String) {
            rep.rules.iter().find(|r| r.id == id).map_or_else(
                || ("-".into(), "-".into()),
                |r| (r.honest.to_string(), r.targets.to_string()),
            )
        };
        for id in ids {
            let (ha, ta) = find(a, id);
            let (hb, tb) = find(b, id);
            let _ = writeln!(out, "{id:<36} {ha:>9} {hb:>9} {ta:>9} {tb:>9}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(yen(0), "¥0");
        assert_eq!(yen(1_234_567), "¥1,234,567");
        assert_eq!(yen(-1_000), "-¥1,000");
        assert_eq!(pct(0.1234), "12.3%");
    }
}
