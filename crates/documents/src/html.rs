//! HTML rendering of a [`Document`]: one self-contained page (inline CSS,
//! the barcode as inline SVG), A4 when printed, in Japanese. The layout is
//! the PDF's: addressee in the envelope window, issuer with its
//! registration number, the purchases with reduced-rate lines marked ※,
//! totals and tax by rate, then the payment slip.
//!
//! Every text from outside (item names, merchant names, the addressee) is
//! escaped; nothing here can fail, since the [`Document`] is complete.

use crate::Document;
use crate::barcode::{DEFAULT_BAR_HEIGHT_MM, DEFAULT_MODULE_MM};
use crate::model::Kind;
use atobarai_core::{JstDate, Yen};
use std::fmt::Write;

pub use atobarai_core::html::escape;

/// `¥12,345` (a negative amount as `−¥1,000`).
pub fn yen(y: Yen) -> String {
    let v = y.get();
    let digits = v.unsigned_abs().to_string();
    let mut grouped = String::with_capacity(digits.len().saturating_add(8));
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len().saturating_sub(i)) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    if v < 0 {
        format!("−¥{grouped}")
    } else {
        format!("¥{grouped}")
    }
}

/// `2026年7月10日`.
pub fn date_ja(d: JstDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// The document's title.
pub fn title(kind: Kind) -> &'static str {
    match kind {
        Kind::Invoice => "請求書",
        Kind::Statement => "ご利用明細兼請求書",
    }
}

const STYLE: &str = "\
@page{size:A4;margin:12mm 15mm}\
body{font-family:'IPAexGothic','Noto Sans CJK JP',sans-serif;font-size:9.5pt;color:#111;max-width:180mm;margin:0 auto}\
header{display:flex;justify-content:space-between;min-height:52mm}\
.window{width:90mm;padding-top:2mm}.window .name{font-size:12pt;margin-top:2mm}\
.issuer{text-align:right;font-size:8.5pt;line-height:1.5}\
h1{font-size:16pt;letter-spacing:.3em;margin:2mm 0;border-bottom:2px solid #111}\
table{border-collapse:collapse;width:100%}th,td{padding:1mm 1.5mm;vertical-align:top}\
.meta th{text-align:left;font-weight:normal;color:#444;width:28mm}\
.headline{border:2px solid #111;padding:2mm 4mm;margin:3mm 0;display:flex;justify-content:space-between;font-size:13pt}\
.items thead th{border-bottom:1px solid #111;text-align:left;font-weight:normal;color:#444}\
.items td.n{text-align:right;white-space:nowrap}.items tr.purchase td{border-top:1px solid #bbb;background:#f4f4f4}\
.items tr.minus td{color:#333}.totals{width:95mm;margin-left:auto;margin-top:3mm}\
.totals th{text-align:left;font-weight:normal}.totals td{text-align:right}\
.totals tr.grand th,.totals tr.grand td{border-top:2px solid #111;font-size:12pt;font-weight:bold}\
.note{font-size:8pt;color:#333}\
.slip{border-top:1px dashed #111;margin-top:6mm;padding-top:3mm;page-break-inside:avoid}\
.slip .barcode{margin:2mm 0}\
@media print{body{margin:0}}";

/// The document as one HTML page.
pub fn render(doc: &Document) -> String {
    let mut h = String::with_capacity(16 * 1024);
    let t = title(doc.kind);
    // `write!` into a String cannot fail.
    let _ = writeln!(
        h,
        "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\
<title>{t} {number}</title><style>{STYLE}</style></head><body>",
        number = escape(&doc.number)
    );
    header(&mut h, doc);
    purchases(&mut h, doc);
    totals(&mut h, doc);
    slip(&mut h, doc);
    h.push_str("</body></html>\n");
    h
}

fn header(h: &mut String, doc: &Document) {
    let a = &doc.addressee;
    h.push_str("<header><div class=\"window\">");
    if let Some(pc) = &a.postal_code {
        let _ = write!(h, "<div>〒{}</div>", escape(pc));
    }
    for line in &a.address_lines {
        let _ = write!(h, "<div>{}</div>", escape(line));
    }
    let _ = write!(h, "<div class=\"name\">{} 様</div></div>", escape(&a.name));
    let i = &doc.issuer;
    let _ = writeln!(
        h,
        "<div class=\"issuer\"><strong>{}</strong><br>〒{}<br>{}<br>TEL {}<br>登録番号 {}</div></header>",
        escape(&i.name),
        escape(&i.postal_code),
        escape(&i.address),
        escape(&i.phone),
        escape(&i.registration)
    );
    let _ = write!(h, "<h1>{}</h1>\n<table class=\"meta\">", title(doc.kind));
    let mut row = |k: &str, v: String| {
        let _ = write!(h, "<tr><th>{k}</th><td>{v}</td></tr>");
    };
    row("請求番号", escape(&doc.number));
    row("お客様番号", escape(&doc.customer));
    if let Some(m) = &doc.month {
        row("ご利用月", escape(m));
    }
    row("発行日", date_ja(doc.issued_on));
    row("お支払期限", date_ja(doc.due_on));
    if doc.as_of > doc.due_on && doc.to_pay.is_positive() {
        row("再発行日", date_ja(doc.as_of));
    }
    h.push_str("</table>\n");
    let _ = writeln!(
        h,
        "<div class=\"headline\"><span>今回ご請求金額</span><strong>{}</strong></div>",
        yen(doc.to_pay)
    );
}

fn purchases(h: &mut String, doc: &Document) {
    h.push_str(
        "<table class=\"items\"><thead><tr><th>品名</th><th class=\"n\">数量</th>\
<th class=\"n\">単価</th><th class=\"n\">金額（税込）</th><th>税率</th></tr></thead><tbody>\n",
    );
    for p in &doc.purchases {
        let _ = writeln!(
            h,
            "<tr class=\"purchase\"><td colspan=\"5\">{} {} <span class=\"note\">{} / ご注文番号 {}</span></td></tr>",
            date_ja(p.date),
            escape(&p.merchant),
            escape(&p.order),
            escape(&p.merchant_order_id)
        );
        for l in &p.lines {
            let _ = writeln!(
                h,
                "<tr><td>{mark}{name}</td><td class=\"n\">{q}</td><td class=\"n\">{u}</td><td class=\"n\">{a}</td><td>{r}</td></tr>",
                mark = if l.reduced { "※ " } else { "" },
                name = escape(&l.name),
                q = l.quantity,
                u = yen(l.unit_price),
                a = yen(l.amount),
                r = l.rate
            );
        }
        for a in &p.adjustments {
            let _ = writeln!(
                h,
                "<tr class=\"minus\"><td>{}</td><td></td><td></td><td class=\"n\">{}</td><td>{}</td></tr>",
                escape(&a.label_ja),
                yen(Yen::new(a.amount.get().saturating_neg())),
                by_rate_text(&a.by_rate)
            );
        }
    }
    for c in &doc.charges {
        let _ = writeln!(
            h,
            "<tr class=\"purchase\"><td>{}</td><td></td><td></td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&c.label_ja),
            yen(c.amount),
            c.rate
                .map_or_else(|| "不課税".to_string(), |r| r.to_string())
        );
    }
    for n in &doc.credit_notes {
        let _ = writeln!(
            h,
            "<tr class=\"minus\"><td>返品・減額（{} {} {}）</td><td></td><td></td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(&n.number),
            date_ja(n.issued_on),
            escape(&n.order),
            yen(Yen::new(n.amount.get().saturating_neg())),
            by_rate_text(&n.by_rate)
        );
    }
    h.push_str("</tbody></table>\n<p class=\"note\">※は軽減税率（8%）対象品目です。</p>\n");
}

fn by_rate_text(parts: &[(crate::tax::TaxRate, Yen)]) -> String {
    parts
        .iter()
        .filter(|p| p.1.is_positive())
        .map(|(r, y)| format!("{r} {}", yen(*y)))
        .collect::<Vec<_>>()
        .join(" / ")
}

fn totals(h: &mut String, doc: &Document) {
    h.push_str("<table class=\"totals\">");
    for r in &doc.by_rate {
        let _ = write!(
            h,
            "<tr><th>{}対象</th><td>{}（うち消費税 {}）</td></tr>",
            r.rate,
            yen(r.total),
            yen(r.tax)
        );
    }
    if doc.non_taxable.is_positive() {
        let _ = write!(
            h,
            "<tr><th>不課税</th><td>{}</td></tr>",
            yen(doc.non_taxable)
        );
    }
    let _ = writeln!(
        h,
        "<tr><th>ご請求額</th><td>{}</td></tr><tr><th>返品・減額</th><td>{}</td></tr>\
<tr><th>お支払済</th><td>{}</td></tr><tr class=\"grand\"><th>今回お支払額</th><td>{}</td></tr></table>",
        yen(doc.total),
        yen(Yen::new(doc.credited.get().saturating_neg())),
        yen(Yen::new(doc.paid.get().saturating_neg())),
        yen(doc.to_pay)
    );
}

fn slip(h: &mut String, doc: &Document) {
    let p = &doc.payment;
    let _ = write!(
        h,
        "<section class=\"slip\"><div><strong>お支払方法：{}</strong></div><p>{}</p>",
        escape(&p.method_ja),
        escape(&p.note_ja)
    );
    if let Some(code) = &p.convenience {
        let _ = write!(
            h,
            "<div class=\"barcode\" data-digits=\"{}\">{}</div>",
            code.digits(),
            code.svg(DEFAULT_MODULE_MM, DEFAULT_BAR_HEIGHT_MM)
        );
    }
    if let Some(t) = &p.transfer {
        let _ = write!(
            h,
            "<table class=\"meta\"><tr><th>お振込先（銀行）</th><td>{}</td></tr>\
<tr><th>お振込先（郵便局）</th><td>{}</td></tr>\
<tr><th>お客様番号</th><td>{}（ご依頼人名の前にご入力ください）</td></tr>\
<tr><th>お振込金額</th><td>{}</td></tr></table>",
            escape(&t.bank_account),
            escape(&t.post_office_account),
            escape(&t.reference),
            yen(t.amount)
        );
    }
    h.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yen_groups_thousands_and_signs_negatives() {
        assert_eq!(yen(Yen::new(0)), "¥0");
        assert_eq!(yen(Yen::new(999)), "¥999");
        assert_eq!(yen(Yen::new(1_000)), "¥1,000");
        assert_eq!(yen(Yen::new(1_234_567)), "¥1,234,567");
        assert_eq!(yen(Yen::new(-209)), "−¥209");
        assert_eq!(yen(Yen::new(i64::MIN)), "−¥9,223,372,036,854,775,808");
    }
}
