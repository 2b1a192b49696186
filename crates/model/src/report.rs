//! A self-contained HTML page of a scorecard: metrics, ROC curves, the score
//! distribution by class, and every attribute's bins (counts, bad rate, WoE,
//! IV, points). Charts are inline SVG; the page loads nothing.

use std::fmt::Write as _;

use crate::model::{Model, Scorecard};

const TRAIN: &str = "#1f77b4";
const TEST: &str = "#ff7f0e";
const GOOD: &str = "#2ca02c";
const BAD: &str = "#d62728";

use atobarai_core::html::escape as esc;

/// The page for `model`.
#[must_use]
pub fn html(model: &Model) -> String {
    let card = model.card();
    let mut h = String::new();
    let t = &card.training;
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Scorecard: {label}</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}}\
table{{border-collapse:collapse;margin:.5em 0 1.5em}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}\
th{{background:#f3f3f3}}td.l,th.l{{text-align:left}}h2{{margin-top:1.6em}}.bar{{display:inline-block;height:10px;background:{BAD}}}\
.charts{{display:flex;gap:2em;flex-wrap:wrap}}figure{{margin:0}}figcaption{{font-size:.9em;color:#555}}\
</style></head><body>\n<h1>Scorecard: {label} = {positive}</h1>\n",
        label = esc(&card.label),
        positive = esc(&card.positive),
    );
    let _ = writeln!(
        h,
        "<p>{n} attributes; base {base} points; scaling: {bs} points at good:bad odds {bo}, {pdo} points to double the odds. Higher scores are safer.</p>",
        n = card.attributes.len(),
        base = card.base_points,
        bs = card.scaling.base_score,
        bo = card.scaling.base_odds,
        pdo = card.scaling.pdo,
    );
    h.push_str("<h2>Discrimination</h2>\n<table><tr><th class=\"l\">rows</th><th>count</th><th>positives</th><th>AUC</th><th>KS</th><th>Gini</th></tr>\n");
    let mut row = |name: &str, m: &crate::Metrics| {
        let _ = writeln!(
            h,
            "<tr><td class=\"l\">{name}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td></tr>",
            m.rows, m.positives, m.auc, m.ks, m.gini
        );
    };
    row("train", &t.train);
    if let Some(m) = &t.test {
        row("test", m);
    }
    h.push_str("</table>\n<div class=\"charts\">\n");
    h.push_str(&roc_svg(card));
    h.push_str(&histogram_svg(card, false));
    if !t.histogram.test_good.is_empty() {
        h.push_str(&histogram_svg(card, true));
    }
    h.push_str("</div>\n<h2>Attributes</h2>\n<table><tr><th class=\"l\">attribute</th><th class=\"l\">kind</th><th>bins</th><th>IV</th><th>coefficient</th><th>points range</th></tr>\n");
    let mut order: Vec<usize> = (0..card.attributes.len()).collect();
    order.sort_by(|&a, &b| {
        card.attributes[b]
            .iv
            .total_cmp(&card.attributes[a].iv)
            .then(a.cmp(&b))
    });
    for &i in &order {
        let a = &card.attributes[i];
        let lo = a.bins.iter().map(|b| b.points).min().unwrap_or(0);
        let hi = a.bins.iter().map(|b| b.points).max().unwrap_or(0);
        let _ = writeln!(
            h,
            "<tr><td class=\"l\"><a href=\"#a{i}\">{}</a></td><td class=\"l\">{:?}</td><td>{}</td><td>{:.4}</td><td>{:.4}</td><td>{lo} … {hi}</td></tr>",
            esc(&a.name),
            a.kind,
            a.bins.len() - 2,
            a.iv,
            a.coefficient
        );
    }
    h.push_str("</table>\n");
    if !card.dropped.is_empty() {
        h.push_str("<h3>Left out</h3>\n<table><tr><th class=\"l\">attribute</th><th>IV</th><th class=\"l\">reason</th></tr>\n");
        for d in &card.dropped {
            let iv = d.iv.map_or_else(|| "—".to_owned(), |v| format!("{v:.4}"));
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td>{iv}</td><td class=\"l\">{}</td></tr>",
                esc(&d.name),
                esc(&d.reason)
            );
        }
        h.push_str("</table>\n");
    }
    for &i in &order {
        let a = &card.attributes[i];
        let total: u64 = a.bins.iter().map(|b| b.good + b.bad).sum();
        let _ = write!(
            h,
            "<h3 id=\"a{i}\">{} <small>(IV {:.4}, coefficient {:.4})</small></h3>\n<table><tr><th class=\"l\">bin</th><th>rows</th><th>share</th><th>good</th><th>bad</th><th class=\"l\">bad rate</th><th>WoE</th><th>IV term</th><th>points</th></tr>\n",
            esc(&a.name),
            a.iv,
            a.coefficient
        );
        let totals = crate::binning::Counts {
            good: a.bins.iter().map(|b| b.good).sum(),
            bad: a.bins.iter().map(|b| b.bad).sum(),
        };
        for b in &a.bins {
            let n = b.good + b.bad;
            #[allow(clippy::cast_precision_loss)]
            let share = if total == 0 {
                0.0
            } else {
                n as f64 / total as f64
            };
            let rate = b.bad_rate();
            let term = crate::woe::iv_term(
                crate::binning::Counts {
                    good: b.good,
                    bad: b.bad,
                },
                totals,
            );
            let _ = writeln!(
                h,
                "<tr><td class=\"l\">{}</td><td>{n}</td><td>{:.1} %</td><td>{}</td><td>{}</td><td class=\"l\"><span class=\"bar\" style=\"width:{:.0}px\"></span> {:.1} %</td><td>{:.4}</td><td>{:.4}</td><td>{}</td></tr>",
                esc(&b.label()),
                share * 100.0,
                b.good,
                b.bad,
                rate * 120.0,
                rate * 100.0,
                b.woe,
                term,
                b.points
            );
        }
        h.push_str("</table>\n");
    }
    let c = &t.config;
    let _ = write!(
        h,
        "<h2>Training settings</h2>\n<p>fine bins {}, at most {} bins, at least {:.1} % of rows a bin, at most {} categories, IV threshold {}, L2 λ {}; split column: {}.</p>\n</body></html>\n",
        c.fine_bins,
        c.max_bins,
        c.min_bin_share * 100.0,
        c.max_categories,
        c.min_iv,
        c.l2,
        t.split.as_deref().map_or_else(|| "none".to_owned(), esc)
    );
    h
}

fn roc_svg(card: &Scorecard) -> String {
    let t = &card.training;
    let (w, m) = (300.0, 40.0);
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{W}\" viewBox=\"0 0 {W} {W}\" role=\"img\" aria-label=\"ROC curves\">\
<rect x=\"{m}\" y=\"{m2}\" width=\"{w}\" height=\"{w}\" fill=\"none\" stroke=\"#888\"/>\
<line x1=\"{m}\" y1=\"{b}\" x2=\"{r}\" y2=\"{m2}\" stroke=\"#bbb\" stroke-dasharray=\"4 4\"/>\
<text x=\"{cx}\" y=\"{ty}\" font-size=\"12\" text-anchor=\"middle\">false positive rate (goods)</text>\
<text x=\"12\" y=\"{cy}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 12 {cy})\">true positive rate (bads)</text>",
        W = w + m + 10.0,
        m2 = 10.0,
        b = 10.0 + w,
        r = m + w,
        cx = m + w / 2.0,
        ty = w + 10.0 + 28.0,
        cy = 10.0 + w / 2.0,
    );
    let mut curve = |pts: &[[f64; 2]], colour: &str, name: &str, auc: f64, k: f64| {
        if pts.is_empty() {
            return;
        }
        let mut d = String::new();
        for p in pts {
            let _ = write!(d, "{:.1},{:.1} ", m + p[0] * w, 10.0 + (1.0 - p[1]) * w);
        }
        let _ = write!(
            s,
            "<polyline points=\"{d}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>\
<text x=\"{x}\" y=\"{y}\" font-size=\"12\" fill=\"{colour}\">{name} AUC {auc:.3}</text>",
            x = m + w * 0.45,
            y = 10.0 + w * 0.8 + k * 16.0,
        );
    };
    curve(&t.roc_train, TRAIN, "train", t.train.auc, 0.0);
    if let Some(test) = &t.test {
        curve(&t.roc_test, TEST, "test", test.auc, 1.0);
    }
    s.push_str("</svg><figcaption>ROC: bads detected by low scores</figcaption></figure>\n");
    s
}

#[allow(clippy::cast_precision_loss)]
fn histogram_svg(card: &Scorecard, test: bool) -> String {
    let hist = &card.training.histogram;
    let (good, bad) = if test {
        (&hist.test_good, &hist.test_bad)
    } else {
        (&hist.train_good, &hist.train_bad)
    };
    let n = good.len().max(1);
    let tg: u64 = good.iter().sum::<u64>().max(1);
    let tb: u64 = bad.iter().sum::<u64>().max(1);
    let shares_g: Vec<f64> = good.iter().map(|&c| c as f64 / tg as f64).collect();
    let shares_b: Vec<f64> = bad.iter().map(|&c| c as f64 / tb as f64).collect();
    let top = shares_g
        .iter()
        .chain(&shares_b)
        .copied()
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let (w, h, m) = (360.0, 220.0, 40.0);
    let bw = w / n as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"score distribution\">\
<line x1=\"{m}\" y1=\"{base}\" x2=\"{r}\" y2=\"{base}\" stroke=\"#888\"/>",
        W = w + m + 10.0,
        H = h + 50.0,
        base = 10.0 + h,
        r = m + w,
    );
    for k in 0..good.len().min(bad.len()) {
        let x = m + k as f64 * bw;
        let hg = shares_g[k] / top * h;
        let hb = shares_b[k] / top * h;
        let _ = write!(
            s,
            "<rect x=\"{x:.1}\" y=\"{yg:.1}\" width=\"{bw2:.1}\" height=\"{hg:.1}\" fill=\"{GOOD}\" opacity=\"0.8\"><title>good {cg}</title></rect>\
<rect x=\"{xb:.1}\" y=\"{yb:.1}\" width=\"{bw2:.1}\" height=\"{hb:.1}\" fill=\"{BAD}\" opacity=\"0.8\"><title>bad {cb}</title></rect>",
            yg = 10.0 + h - hg,
            bw2 = bw / 2.0 - 0.5,
            xb = x + bw / 2.0,
            yb = 10.0 + h - hb,
            cg = good[k],
            cb = bad[k],
        );
    }
    if let (Some(first), Some(last)) = (hist.edges.first(), hist.edges.last()) {
        let _ = write!(
            s,
            "<text x=\"{m}\" y=\"{y}\" font-size=\"11\">{first}</text><text x=\"{r}\" y=\"{y}\" font-size=\"11\" text-anchor=\"end\">{last}</text>\
<text x=\"{cx}\" y=\"{y2}\" font-size=\"12\" text-anchor=\"middle\">score (share of each class; <tspan fill=\"{GOOD}\">good</tspan>, <tspan fill=\"{BAD}\">bad</tspan>)</text>",
            y = h + 24.0,
            r = m + w,
            cx = m + w / 2.0,
            y2 = h + 42.0,
        );
    }
    let which = if test { "test" } else { "train" };
    let _ = writeln!(
        s,
        "</svg><figcaption>Score distribution by class, {which} rows</figcaption></figure>"
    );
    s
}
