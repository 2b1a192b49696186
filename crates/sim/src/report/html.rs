//! The report as one self-contained HTML page: inline CSS, charts as inline
//! SVG, no script and nothing fetched from elsewhere.

use super::table::{pct, yen};
use super::{HonestRow, PersonaRow, Report, RuleRow};
use std::fmt::Write;

pub use atobarai_core::html::escape as esc;

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1200px}\
table{border-collapse:collapse;margin:1rem 0;font-size:.85rem}\
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}\
th:first-child,td:first-child{text-align:left}\
th{background:#f3f3f3}h2{margin-top:2rem}.note{color:#555;font-size:.85rem}\
svg text{font-size:11px;font-family:system-ui,sans-serif}";

const COLOURS: &[&str] = &["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728"];

/// Grouped horizontal bars: one row per label, one bar per series (0–1).
fn bars(title: &str, series: &[&str], rows: &[(String, Vec<f64>)]) -> String {
    let label_w = 190.0;
    let bar_w = 520.0;
    let bar_h = 10.0;
    let row_h = bar_h * series.len() as f64 + 8.0;
    let height = 40.0 + row_h * rows.len() as f64 + 20.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"{}\">",
        label_w + bar_w + 80.0,
        esc(title)
    );
    let _ = write!(
        s,
        "<text x=\"0\" y=\"14\" font-weight=\"bold\">{}</text>",
        esc(title)
    );
    for (i, name) in series.iter().enumerate() {
        let x = label_w + 130.0 * i as f64;
        let c = COLOURS[i % COLOURS.len()];
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"22\" width=\"10\" height=\"10\" fill=\"{c}\"/><text x=\"{}\" y=\"31\">{}</text>",
            x + 14.0,
            esc(name)
        );
    }
    for (r, (label, values)) in rows.iter().enumerate() {
        let y0 = 40.0 + row_h * r as f64;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\">{}</text>",
            y0 + row_h / 2.0,
            esc(label)
        );
        for (i, v) in values.iter().enumerate() {
            let y = y0 + bar_h * i as f64;
            let w = (v.clamp(0.0, 1.0) * bar_w).max(0.5);
            let c = COLOURS[i % COLOURS.len()];
            let _ = write!(
                s,
                "<rect x=\"{label_w}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{c}\"/><text x=\"{:.1}\" y=\"{}\">{}</text>",
                bar_h - 1.0,
                label_w + w + 4.0,
                y + bar_h - 2.0,
                pct(*v)
            );
        }
    }
    s.push_str("</svg>");
    s
}

fn detection_table(s: &mut String, rows: &[PersonaRow]) {
    s.push_str("<table><tr><th>persona</th><th>persons</th><th>target orders</th><th>target orders caught</th><th>liquid buyers</th><th>caught by 1st</th><th>by 2nd</th><th>by 3rd</th><th>risk by 3rd</th><th>never caught</th><th>approved before 1st catch</th><th>yen before 1st catch</th><th>target yen approved</th><th>accounts joined</th><th>linked to others</th><th>credit loss</th></tr>");
    for r in rows {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
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
            yen(r.target_yen_approved),
            if r.multi_account_persons > 0 {
                format!("{}/{}", r.accounts_joined, r.multi_account_persons)
            } else {
                "-".into()
            },
            r.linked_to_other_persons,
            yen(r.credit_loss_yen)
        );
    }
    s.push_str("</table>");
}

fn honest_table(s: &mut String, rows: &[HonestRow]) {
    s.push_str("<table><tr><th>group</th><th>persons</th><th>accounts</th><th>orders</th><th>declined</th><th>held</th><th>decline rate</th><th>review rate</th><th>risk rate</th><th>credit declined</th><th>credit held</th><th>risk declined</th><th>risk held</th><th>linked to others</th><th>credit loss</th><th>reason codes</th></tr>");
    for r in rows {
        let reasons: Vec<String> = r
            .reasons
            .iter()
            .map(|(k, v)| format!("{} {v}", esc(k)))
            .collect();
        let group = if r.honest_group {
            r.group.to_string()
        } else {
            format!("({} own orders)", r.group)
        };
        let _ = write!(
            s,
            "<tr><td>{group}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            r.persons,
            r.accounts,
            r.orders,
            r.declined,
            r.reviewed,
            pct(r.decline_rate),
            pct(r.review_rate),
            super::table::pct2(r.risk_rate),
            r.declined_credit,
            r.reviewed_credit,
            r.declined_risk,
            r.reviewed_risk,
            r.linked_to_other_persons,
            yen(r.credit_loss_yen),
            reasons.join(", ")
        );
    }
    s.push_str("</table>");
}

fn section(s: &mut String, r: &Report, heading: &str) {
    let m = &r.market;
    let t = &r.totals;
    let _ = write!(
        s,
        "<h2>{}</h2><p>{} persons, {} days from {}, seed {}, rules <b>{}</b>, analyst verdict on held orders: {:?}.</p>",
        esc(heading),
        m.customers,
        m.days,
        esc(&m.start),
        m.seed,
        esc(&m.rules),
        m.analyst
    );
    let _ = write!(
        s,
        "<p>Orders {} — approved {}, held {}, declined {}, refused {}. Approved volume <b>{}</b>; credit loss <b>{}</b>; {} payments ({}).</p>",
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
    s.push_str("<h3>Detection per persona</h3>");
    let rows: Vec<(String, Vec<f64>)> = r
        .personas
        .iter()
        .map(|p| {
            (
                p.persona.to_string(),
                vec![
                    p.caught_by_1st,
                    p.caught_by_2nd,
                    p.caught_by_3rd,
                    p.risk_caught_by_3rd,
                ],
            )
        })
        .collect();
    s.push_str(&bars(
        "Share caught by the k-th liquid purchase",
        &["by 1st", "by 2nd", "by 3rd", "risk reason by 3rd"],
        &rows,
    ));
    detection_table(s, &r.personas);
    s.push_str("<h3>False declines and reviews</h3>");
    let rows: Vec<(String, Vec<f64>)> = r
        .honest
        .iter()
        .filter(|h| h.honest_group)
        .map(|h| (h.group.to_string(), vec![h.decline_rate, h.review_rate]))
        .collect();
    s.push_str(&bars(
        "Honest orders declined / held",
        &["declined", "held for review"],
        &rows,
    ));
    honest_table(s, &r.honest);
    if !r.rules.is_empty() {
        s.push_str("<h3>Risk rules: what each catches and what it costs</h3>");
        rules_table(s, &r.rules);
    }
}

fn rules_table(s: &mut String, rows: &[RuleRow]) {
    s.push_str("<table><tr><th>rule</th><th>version</th><th>mode</th><th>action</th><th>reason</th><th>fired</th><th>honest orders</th><th>honest, alone</th><th>households + dormitories</th><th>target orders</th><th>targets, alone</th><th>abusers' other orders</th><th>per persona</th></tr>");
    for r in rows {
        let _ = write!(
            s,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&r.id),
            r.version,
            if r.shadow { "shadow" } else { "live" },
            esc(r.action),
            esc(&r.reason),
            r.fired,
            r.honest,
            r.honest_alone,
            r.household_dormitory,
            r.targets,
            r.targets_alone,
            r.other,
            esc(&super::table::top_personas(r, usize::MAX))
        );
    }
    s.push_str("</table><p class=\"note\">Alone: a live rule that was the only live rule to fire on the order; a shadow rule that fired on an order nothing live caught (what making it live would add).</p>");
}

const DEFINITIONS: &str = "<p class=\"note\">Caught = declined or held for review at authorization. \
A liquid purchase is an order holding a gift card, prepaid / e-money or resellable electronics. \
Caught by the k-th liquid purchase: among persons with at least one liquid target order, the share whose first \
caught liquid target order is among their first k. Credit reasons: limit, product and in-store caps, overdue, \
suspended account; every other reason is a risk reason. Credit loss: principal owed at the close by accounts \
overdue then. Labels live only in the simulator.</p>";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{CSS}</style></head><body><h1>{}</h1>{DEFINITIONS}{body}</body></html>\n",
        esc(title),
        esc(title)
    )
}

/// One report.
pub fn render(r: &Report) -> String {
    let mut body = String::new();
    section(&mut body, r, "The market");
    page("atobarai: the synthetic market", &body)
}

/// Two reports of one market, side by side in one chart, then each in full.
pub fn render_compare(a: &Report, b: &Report) -> String {
    let mut body = String::new();
    let rows: Vec<(String, Vec<f64>)> = a
        .personas
        .iter()
        .zip(&b.personas)
        .map(|(x, y)| {
            (
                x.persona.to_string(),
                vec![x.caught_by_3rd, y.caught_by_3rd],
            )
        })
        .collect();
    let _ = write!(
        body,
        "<h2>A vs B</h2><p>A = <b>{}</b>, B = <b>{}</b></p>",
        esc(&a.market.rules),
        esc(&b.market.rules)
    );
    body.push_str(&bars(
        "Caught by the 3rd liquid purchase",
        &["A", "B"],
        &rows,
    ));
    let rows: Vec<(String, Vec<f64>)> = a
        .honest
        .iter()
        .zip(&b.honest)
        .filter(|(x, _)| x.honest_group)
        .map(|(x, y)| {
            (
                x.group.to_string(),
                vec![
                    x.decline_rate + x.review_rate,
                    y.decline_rate + y.review_rate,
                ],
            )
        })
        .collect();
    body.push_str(&bars("Honest orders declined or held", &["A", "B"], &rows));
    section(&mut body, a, &format!("A: {}", a.market.rules));
    section(&mut body, b, &format!("B: {}", b.market.rules));
    page("atobarai: the synthetic market, A vs B", &body)
}
