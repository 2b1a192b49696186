//! The HTML rendering: golden pages per document kind (byte for byte:
//! the HTML is text, so any change shows in review), and what a customer
//! and an accountant must find on it. When a deliberate change makes the
//! goldens differ, run `UPDATE_GOLDEN=1 cargo test -p atobarai-documents
//! --test html` and read the diff before committing.

mod common;

use atobarai_documents::html;
use std::path::PathBuf;

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn check_golden(name: &str, page: &str) {
    let path = golden(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, page).unwrap();
        eprintln!("UPDATE_GOLDEN: wrote {}", path.display());
        return;
    }
    let want = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    if want != page {
        let out = std::env::temp_dir().join(name);
        std::fs::write(&out, page).unwrap();
        panic!(
            "{name} differs from its golden page; this rendering is at {}",
            out.display()
        );
    }
}

#[test]
fn html_invoice_matches_its_golden_page() {
    check_golden("invoice.html", &html::render(&common::sample_invoice()));
}

#[test]
fn html_statement_matches_its_golden_page() {
    check_golden("statement.html", &html::render(&common::sample_statement()));
}

/// What the qualified-invoice rules ask for is on the page: the issuer's
/// registration number, the transaction dates, the reduced-rate lines
/// marked, the totals and the tax per rate; and what a customer needs to
/// pay: the amount, the barcode with its digits, the transfer details.
#[test]
fn html_invoice_carries_what_a_qualified_invoice_needs() {
    let doc = common::sample_invoice();
    let page = html::render(&doc);
    assert!(
        page.contains(&doc.issuer.registration),
        "registration number"
    );
    assert!(page.contains("※は軽減税率（8%）対象品目です。"));
    assert!(page.contains("※ "), "a reduced-rate line is marked");
    for r in &doc.by_rate {
        let line = format!(
            "{}対象</th><td>{}（うち消費税 {}）",
            r.rate,
            html::yen(r.total),
            html::yen(r.tax)
        );
        assert!(page.contains(&line), "{line}");
    }
    assert!(page.contains(&format!("{} 様", doc.addressee.name)));
    let code = doc.payment.convenience.as_ref().expect("a barcode");
    assert!(page.contains(&format!("data-digits=\"{}\"", code.digits())));
    assert!(page.contains("<svg"), "the barcode is drawn inline");
    assert!(page.contains(&html::yen(doc.to_pay)));
    for p in &doc.purchases {
        assert!(page.contains(&html::date_ja(p.date)), "transaction date");
    }
    for n in &doc.credit_notes {
        assert!(page.contains(&n.number), "credit note");
    }
    for c in &doc.charges {
        assert!(page.contains(&c.label_ja), "{}", c.label_ja);
    }
}

/// Text from merchants and customers is escaped, never markup.
#[test]
fn html_escapes_what_merchants_and_customers_wrote() {
    let mut doc = common::sample_invoice();
    doc.purchases[0].lines[0].name = "<script>alert(1)</script>".into();
    doc.addressee.name = "\"><img src=x>".into();
    let page = html::render(&doc);
    assert!(!page.contains("<script>alert"));
    assert!(!page.contains("<img src=x>"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
}
