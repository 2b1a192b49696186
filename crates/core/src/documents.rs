//! Billing documents (`[documents]`): the issuer a qualified invoice
//! (適格請求書) names, the tax rates the provider bills, the
//! convenience-store payment slip, and the envelope window. Shell
//! settings, never journaled: a document is rendered from the journaled
//! facts with the settings in force when it is rendered.

use crate::Yen;
use serde::{Deserialize, Serialize};

/// `[documents]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DocumentsConfig {
    /// The provider's registered name, as printed on every document.
    pub issuer_name: String,
    /// The provider's postal code, `NNN-NNNN`.
    pub issuer_postal_code: String,
    /// The provider's address.
    pub issuer_address: String,
    /// The customer desk's phone number.
    pub issuer_phone: String,
    /// The qualified-invoice registration number: `T` and 13 digits, the
    /// first of them the check digit of the other twelve (the corporate
    /// number's rule, [`registration_number_ok`]). The default is a
    /// well-formed number that belongs to no one: production sets its own.
    pub registration_number: String,
    /// The standard consumption-tax rate, percent.
    pub standard_rate: u8,
    /// The reduced rate (food and drink except alcohol and eating out;
    /// newspapers by subscription), percent.
    pub reduced_rate: u8,
    /// The convenience-store payment agency's company code (収納企業コード,
    /// 6 digits) printed in the GS1-128 barcode. The default is a
    /// placeholder no agency issued.
    pub convenience_company_code: String,
    /// The highest amount a convenience-store counter takes; above it the
    /// document prints no barcode, only the transfer details.
    pub convenience_max_yen: Yen,
    /// A revenue stamp applies to the counter's receipt from this amount
    /// (the barcode's stamp flag).
    pub stamp_from_yen: Yen,
    /// A document re-issued after its due date is payable for this many
    /// days more (the barcode's due date; the re-issue digit counts up).
    pub reissue_days: u32,
    /// The bank account for transfers, as printed.
    pub bank_account: String,
    /// The post-office (ゆうちょ) account for transfers, as printed.
    pub post_office_account: String,
    /// Characters per line of the envelope window's address block.
    pub window_line_chars: u32,
    /// Lines of address the window shows (the name has its own line).
    pub window_lines: u32,
}

impl Default for DocumentsConfig {
    fn default() -> Self {
        DocumentsConfig {
            issuer_name: "アトバライ株式会社".into(),
            issuer_postal_code: "100-0013".into(),
            issuer_address: "東京都千代田区霞が関一丁目1番1号".into(),
            issuer_phone: "0120-000-000".into(),
            registration_number: "T7123456789012".into(),
            standard_rate: 10,
            reduced_rate: 8,
            convenience_company_code: "900000".into(),
            convenience_max_yen: Yen::new(300_000),
            stamp_from_yen: Yen::new(50_000),
            reissue_days: 14,
            bank_account: "アトバライ銀行 本店営業部 普通 1234567 アトバライ（カ".into(),
            post_office_account: "ゆうちょ銀行 00100-0-000000 アトバライ（カ".into(),
            window_line_chars: 24,
            window_lines: 3,
        }
    }
}

impl DocumentsConfig {
    /// Every problem, as `(field, message)`.
    pub fn problems(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = Vec::new();
        if self.issuer_name.trim().is_empty() {
            out.push(("documents.issuer_name", "must not be empty"));
        }
        if self.issuer_address.trim().is_empty() {
            out.push(("documents.issuer_address", "must not be empty"));
        }
        if !registration_number_ok(&self.registration_number) {
            out.push((
                "documents.registration_number",
                "must be T followed by 13 digits, the first the check digit of the other twelve",
            ));
        }
        for (field, rate) in [
            ("documents.standard_rate", self.standard_rate),
            ("documents.reduced_rate", self.reduced_rate),
        ] {
            if !(1..=99).contains(&rate) {
                out.push((field, "must be a whole percent from 1 to 99"));
            }
        }
        if self.reduced_rate >= self.standard_rate {
            out.push((
                "documents.reduced_rate",
                "must be below documents.standard_rate",
            ));
        }
        if self.convenience_company_code.len() != 6
            || !self
                .convenience_company_code
                .bytes()
                .all(|b| b.is_ascii_digit())
        {
            out.push(("documents.convenience_company_code", "must be 6 digits"));
        }
        if !self.convenience_max_yen.is_positive() || self.convenience_max_yen > Yen::new(999_999) {
            out.push((
                "documents.convenience_max_yen",
                "must be from 1 to 999,999 (the barcode's amount has six digits)",
            ));
        }
        if !self.stamp_from_yen.is_positive() {
            out.push(("documents.stamp_from_yen", "must be positive"));
        }
        if !(1..=60).contains(&self.reissue_days) {
            out.push(("documents.reissue_days", "must be from 1 to 60"));
        }
        if !(8..=60).contains(&self.window_line_chars) {
            out.push(("documents.window_line_chars", "must be from 8 to 60"));
        }
        if !(1..=6).contains(&self.window_lines) {
            out.push(("documents.window_lines", "must be from 1 to 6"));
        }
        out
    }

    /// Is `percent` one of the rates the provider bills?
    pub fn rate_configured(&self, percent: u8) -> bool {
        percent == self.standard_rate || percent == self.reduced_rate
    }
}

/// A qualified-invoice registration number: `T` then 13 digits whose first
/// is the check digit of the other twelve, by the corporate number's rule
/// (法人番号の指定を行う際の基準を定める命令): with the twelve digits
/// numbered from the right, `P₁ … P₁₂`, and weights `Q = 1` for odd and
/// `2` for even positions, the check digit is `9 − (Σ Pₙ × Qₙ mod 9)`.
/// Individuals' registration numbers follow the same rule.
pub fn registration_number_ok(number: &str) -> bool {
    let Some(digits) = number.strip_prefix('T') else {
        return false;
    };
    let bytes = digits.as_bytes();
    if bytes.len() != 13 || !bytes.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let value = |b: u8| u32::from(b.wrapping_sub(b'0'));
    let sum: u32 = bytes[1..]
        .iter()
        .rev()
        .zip(1u32..)
        .map(|(&b, n)| value(b) * if n % 2 == 1 { 1 } else { 2 })
        .sum();
    value(bytes[0]) == 9 - sum % 9
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_numbers_follow_the_corporate_number_check_digit() {
        // The National Tax Agency's own registration number.
        assert!(registration_number_ok("T7000012050002"));
        // Worked: 123456789012 → Σ = 74, 74 mod 9 = 2, check digit 9 − 2 = 7.
        assert!(registration_number_ok("T7123456789012"));
        assert!(
            !registration_number_ok("T8123456789012"),
            "wrong check digit"
        );
        assert!(!registration_number_ok("9123456789012"), "no T");
        assert!(!registration_number_ok("T912345678901"), "12 digits");
        assert!(!registration_number_ok("T71234567890123"), "14 digits");
        assert!(!registration_number_ok("T912345678901X"));
        assert!(
            !registration_number_ok("T９123456789012"),
            "full-width digit"
        );
        assert!(!registration_number_ok(""));
    }

    #[test]
    fn the_defaults_are_valid_and_each_bad_value_names_its_field() {
        assert!(DocumentsConfig::default().problems().is_empty());
        let bad = DocumentsConfig {
            registration_number: "T1234567890123".into(),
            reduced_rate: 12,
            convenience_company_code: "12345".into(),
            convenience_max_yen: Yen::new(1_000_000),
            window_lines: 0,
            ..DocumentsConfig::default()
        };
        let fields: Vec<&str> = bad.problems().into_iter().map(|p| p.0).collect();
        assert_eq!(
            fields,
            [
                "documents.registration_number",
                "documents.reduced_rate",
                "documents.convenience_company_code",
                "documents.convenience_max_yen",
                "documents.window_lines",
            ]
        );
    }
}
