//! The 44 digits of a convenience-store payment slip (AI 91).
//!
//! # The data, 44 digits
//!
//! | # | Field (guideline name)       | Digits | Here                                  |
//! |---|------------------------------|-------:|---------------------------------------|
//! | 1 | AI                           |      2 | always `91`                           |
//! | 2 | 収納企業コード               |      6 | [`ConvenienceLayout::company_code`]   |
//! | 3 | 自由使用欄                   |     21 | [`SlipData::reference`], right-padded |
//! | 4 | 再発行区分                   |      1 | [`SlipData::reissue`]                 |
//! | 5 | 支払期限日 `YYMMDD`          |      6 | [`SlipData::due`]                     |
//! | 6 | 印紙フラグ                   |      1 | `1` from [`ConvenienceLayout::stamp_from`] |
//! | 7 | 支払金額                     |      6 | [`SlipData::amount`], zero-padded     |
//! | 8 | チェックデジット             |      1 | modulus 10, weights 3 and 1           |
//!
//! - The company code is the GS1 company prefix's seven digits without the
//!   leading `4`, or `9` and the old five-digit code: six ASCII digits.
//! - The free field is the provider's own: the customer reference is
//!   written from the left and padded with `0` on the right to 21 digits.
//!   Right padding cannot tell `12` from `120`, so a reference must be a
//!   **fixed-width** value the provider chooses (we always pass the same
//!   width); leading zeros are kept.
//! - The due date is in the years 2000–2099 (the field has two digits for
//!   the year).
//! - The stamp flag tells the counter that the receipt needs a revenue
//!   stamp (印紙): `1` when the amount is at least the configured
//!   threshold (¥50,000 under the stamp-tax rules for receipts), else `0`.
//! - The amount is 1 to 999,999 yen (six digits) and at most the amount
//!   a counter takes as the provider configured it.
//! - The check digit is the GS1 one over the 43 digits before it, the
//!   AI `91` included: weights 3 and 1 alternating from the right (the
//!   rightmost of the 43 digits weighs 3), `cd = (10 − sum mod 10) mod 10`.
//!   See the worked example in the tests.

use super::code128;
use atobarai_core::{JstDate, Yen};
use serde::Serialize;
use std::fmt::Write as _;

/// The application identifier of convenience-store payment data.
const AI: &str = "91";
/// Digits of the whole data string, check digit included.
pub const DIGITS: usize = 44;
/// Digits of the company code.
const COMPANY_DIGITS: usize = 6;
/// Digits of the free field that carries the customer reference.
pub const REFERENCE_DIGITS: usize = 21;
/// The largest amount the six-digit field holds.
pub const FIELD_MAX_AMOUNT: Yen = Yen::new(999_999);
/// The stamp threshold for receipts (印紙税: ¥50,000 and above).
pub const DEFAULT_STAMP_FROM: Yen = Yen::new(50_000);
/// A common counter limit per slip.
pub const DEFAULT_MAX_AMOUNT: Yen = Yen::new(300_000);

// Offsets of the fields in the 44 digits.
const COMPANY_AT: usize = 2;
const REFERENCE_AT: usize = 8;
const REISSUE_AT: usize = 29;
const DUE_AT: usize = 30;
const STAMP_AT: usize = 36;
const AMOUNT_AT: usize = 37;
const CHECK_AT: usize = 43;

/// Configured layout (from the provider's configuration).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConvenienceLayout {
    /// 収納企業コード: 6 digits (the GS1 company prefix's 7 digits without
    /// the leading "4", or "9" + the old 5-digit code).
    pub company_code: String,
    /// A revenue stamp (印紙) applies from this amount: the stamp flag
    /// digit is 1 at or above it (default ¥50,000, [`DEFAULT_STAMP_FROM`]).
    pub stamp_from: Yen,
    /// The highest amount a counter takes (the 6-digit field allows
    /// 999,999; providers configure e.g. ¥300,000, [`DEFAULT_MAX_AMOUNT`]).
    pub max_amount: Yen,
}

impl ConvenienceLayout {
    /// A layout for `company_code` with the default stamp threshold
    /// (¥50,000) and counter limit (¥300,000). The code is checked when a
    /// barcode is made ([`ConvenienceCode::new`]).
    pub fn new(company_code: impl Into<String>) -> ConvenienceLayout {
        ConvenienceLayout {
            company_code: company_code.into(),
            stamp_from: DEFAULT_STAMP_FROM,
            max_amount: DEFAULT_MAX_AMOUNT,
        }
    }
}

/// What one slip asks to be paid.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlipData {
    /// The customer reference, 1 to 21 ASCII digits, of a fixed width the
    /// provider chooses (it is right-padded with `0` to 21 digits).
    pub reference: String,
    /// How many times the slip was re-issued, 0 to 9 (再発行区分).
    pub reissue: u8,
    /// The last day the counter takes the payment (支払期限日), in
    /// 2000–2099.
    pub due: JstDate,
    /// Yen to pay, 1 to the layout's limit (at most 999,999).
    pub amount: Yen,
}

/// The fields of a barcode, as encoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SlipFields {
    /// 収納企業コード, 6 digits.
    pub company_code: String,
    /// The free field, 21 digits as printed (the reference and its
    /// right padding).
    pub reference: String,
    /// 再発行区分, 0 to 9.
    pub reissue: u8,
    /// 支払期限日.
    pub due: JstDate,
    /// 印紙フラグ: a revenue stamp applies.
    pub stamp: bool,
    /// 支払金額.
    pub amount: Yen,
    /// The check digit, 0 to 9.
    pub check_digit: u8,
}

/// A valid convenience-store payment barcode: the 44 digits (AI 91) with a
/// correct check digit. Serialized as the 44-digit string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ConvenienceCode {
    /// 44 ASCII digits, valid as [`ConvenienceCode::parse`] checks them.
    digits: String,
    /// The due-date field, as a date (kept: a date is only ever made
    /// fallibly).
    #[serde(skip)]
    due: JstDate,
}

/// Why no barcode was made or parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BarcodeError {
    /// The company code is not 6 ASCII digits.
    #[error("company code must be exactly 6 ASCII digits, got {found:?}")]
    CompanyCode {
        /// The code as configured (at most 32 characters of it).
        found: String,
    },
    /// The customer reference is not 1 to 21 ASCII digits.
    #[error("customer reference must be 1 to 21 ASCII digits, got {found:?}")]
    Reference {
        /// The reference as given (at most 32 characters of it).
        found: String,
    },
    /// The re-issue count is above 9.
    #[error("re-issue count must be 0 to 9, got {found}")]
    Reissue {
        /// The count given.
        found: u8,
    },
    /// The amount is zero or negative.
    #[error("amount must be positive, got {amount} yen")]
    AmountNotPositive {
        /// The amount given (yen).
        amount: i64,
    },
    /// The amount does not fit the six-digit amount field.
    #[error("amount {amount} yen exceeds the 6-digit amount field (999,999 yen)")]
    AmountAboveField {
        /// The amount given (yen).
        amount: i64,
    },
    /// The amount is above what the configured counter limit allows.
    #[error("amount {amount} yen exceeds the counter limit of {max} yen")]
    AmountAboveMax {
        /// The amount given (yen).
        amount: i64,
        /// The configured limit (yen).
        max: i64,
    },
    /// The due date's year has no two-digit form in 2000–2099.
    #[error("due date year must be 2000 to 2099, got {year}")]
    DueDate {
        /// The year given.
        year: i16,
    },
    /// Parsing: the data is not 44 characters.
    #[error("barcode data must be 44 digits, got {found} characters")]
    Length {
        /// Characters found.
        found: usize,
    },
    /// Parsing: a character is not an ASCII digit.
    #[error(
        "barcode data must be ASCII digits only, found another character at position {position}"
    )]
    NotDigit {
        /// Position of the first offending character (0-based).
        position: usize,
    },
    /// Parsing: the data does not start with the application identifier 91.
    #[error("barcode data must start with the application identifier 91, got {found}")]
    ApplicationIdentifier {
        /// The first two digits.
        found: String,
    },
    /// Parsing: the due-date field is not a calendar date.
    #[error("due date field must be a calendar date YYMMDD, got {found}")]
    DueDateField {
        /// The six digits.
        found: String,
    },
    /// Parsing: the stamp flag is not 0 or 1.
    #[error("stamp flag must be 0 or 1, got {found}")]
    StampFlag {
        /// The digit found.
        found: u8,
    },
    /// Parsing: the check digit does not match the 43 digits before it.
    #[error("check digit is {found}, expected {expected}")]
    CheckDigit {
        /// The check digit of the 43 digits.
        expected: u8,
        /// The check digit in the data.
        found: u8,
    },
}

impl ConvenienceCode {
    /// The barcode of `data` under `layout`: validates every field (see the
    /// module docs), sets the stamp flag and appends the check digit.
    pub fn new(
        layout: &ConvenienceLayout,
        data: &SlipData,
    ) -> Result<ConvenienceCode, BarcodeError> {
        let company = &layout.company_code;
        if company.len() != COMPANY_DIGITS || !all_digits(company) {
            return Err(BarcodeError::CompanyCode {
                found: clip(company),
            });
        }
        let reference = &data.reference;
        if reference.is_empty() || reference.len() > REFERENCE_DIGITS || !all_digits(reference) {
            return Err(BarcodeError::Reference {
                found: clip(reference),
            });
        }
        if data.reissue > 9 {
            return Err(BarcodeError::Reissue {
                found: data.reissue,
            });
        }
        let year = data.due.year();
        if !(2000..=2099).contains(&year) {
            return Err(BarcodeError::DueDate { year });
        }
        let amount = data.amount.get();
        if amount <= 0 {
            return Err(BarcodeError::AmountNotPositive { amount });
        }
        if data.amount > FIELD_MAX_AMOUNT {
            return Err(BarcodeError::AmountAboveField { amount });
        }
        if data.amount > layout.max_amount {
            return Err(BarcodeError::AmountAboveMax {
                amount,
                max: layout.max_amount.get(),
            });
        }
        let stamp = data.amount >= layout.stamp_from;
        // The year is 2000..=2099, so `year % 100` is its two digits.
        let yy = year.checked_rem(100).unwrap_or_default();

        let mut digits = String::with_capacity(DIGITS);
        digits.push_str(AI);
        digits.push_str(company);
        // Writing to a String cannot fail.
        let _ = write!(
            digits,
            "{reference:0<21}{reissue}{yy:02}{mm:02}{dd:02}{stamp}{amount:06}",
            reissue = data.reissue,
            mm = data.due.month(),
            dd = data.due.day(),
            stamp = u8::from(stamp),
        );
        // The 43 characters are digits, so there is a check digit; the
        // error is unreachable.
        let check = check_digit(digits.as_bytes()).ok_or(BarcodeError::Length {
            found: digits.len(),
        })?;
        let _ = write!(digits, "{check}");
        // Built from validated fields: parse accepts it (checked in tests);
        // parsing again keeps one definition of a valid barcode.
        ConvenienceCode::parse(&digits)
    }

    /// Parse 44 digits back: checks the length and the characters, the
    /// check digit, the AI `91`, and the fields (a real calendar date, a
    /// stamp flag of 0 or 1, an amount of 1 to 999,999). The counter limit
    /// and the stamp threshold are configuration and are not checked.
    pub fn parse(digits: &str) -> Result<ConvenienceCode, BarcodeError> {
        if let Some(position) = digits.chars().position(|c| !c.is_ascii_digit()) {
            return Err(BarcodeError::NotDigit { position });
        }
        if digits.len() != DIGITS {
            return Err(BarcodeError::Length {
                found: digits.len(),
            });
        }
        let bytes = digits.as_bytes();
        let (data, check) = bytes.split_at(CHECK_AT);
        // All digits (checked above): the error is unreachable.
        let expected = check_digit(data).ok_or(BarcodeError::Length {
            found: digits.len(),
        })?;
        let found = number(check)
            .and_then(|n| u8::try_from(n).ok())
            .unwrap_or(u8::MAX);
        if expected != found {
            return Err(BarcodeError::CheckDigit { expected, found });
        }
        let ai = digits.get(..COMPANY_AT).unwrap_or_default();
        if ai != AI {
            return Err(BarcodeError::ApplicationIdentifier {
                found: ai.to_string(),
            });
        }
        let due = due_field(bytes)?;
        let code = ConvenienceCode {
            digits: digits.to_string(),
            due,
        };
        let stamp = code.number_at(STAMP_AT, AMOUNT_AT);
        if stamp > 1 {
            return Err(BarcodeError::StampFlag {
                found: u8::try_from(stamp).unwrap_or(u8::MAX),
            });
        }
        let amount = code.number_at(AMOUNT_AT, CHECK_AT);
        if amount == 0 {
            return Err(BarcodeError::AmountNotPositive { amount: 0 });
        }
        Ok(code)
    }

    /// The 44 digits, as encoded (no parentheses, no separators).
    pub fn digits(&self) -> &str {
        &self.digits
    }

    /// The fields, decoded.
    pub fn fields(&self) -> SlipFields {
        let small = |from, to| u8::try_from(self.number_at(from, to)).unwrap_or(u8::MAX);
        SlipFields {
            company_code: self.slice(COMPANY_AT, REFERENCE_AT).to_string(),
            reference: self.slice(REFERENCE_AT, REISSUE_AT).to_string(),
            reissue: small(REISSUE_AT, DUE_AT),
            due: self.due,
            stamp: self.number_at(STAMP_AT, AMOUNT_AT) == 1,
            amount: Yen::new(self.number_at(AMOUNT_AT, CHECK_AT)),
            check_digit: small(CHECK_AT, DIGITS),
        }
    }

    /// The text printed under the bars, grouped for the eye: the AI in
    /// parentheses, then the fields separated by `-` in data order —
    /// company code, free field (21), re-issue, due date `YYMMDD`, stamp
    /// flag, amount (6), check digit:
    /// `(91)912345-202600012340000000000-0-261210-0-012000-3`.
    pub fn human_readable(&self) -> String {
        self.human_readable_lines().join("-")
    }

    /// [`ConvenienceCode::human_readable`] on two lines, as slips print it
    /// under the bars (one line of 52 characters under a symbol of about
    /// 50 mm would be too small to read): the AI, company code and free
    /// field; then re-issue, due date, stamp flag, amount and check digit.
    /// Joined with `-` they make [`ConvenienceCode::human_readable`].
    pub fn human_readable_lines(&self) -> [String; 2] {
        let s = |from, to| self.slice(from, to);
        [
            format!(
                "({}){}-{}",
                s(0, COMPANY_AT),
                s(COMPANY_AT, REFERENCE_AT),
                s(REFERENCE_AT, REISSUE_AT)
            ),
            format!(
                "{}-{}-{}-{}-{}",
                s(REISSUE_AT, DUE_AT),
                s(DUE_AT, STAMP_AT),
                s(STAMP_AT, AMOUNT_AT),
                s(AMOUNT_AT, CHECK_AT),
                s(CHECK_AT, DIGITS)
            ),
        ]
    }

    /// The Code 128 symbol as module widths: alternating bar/space runs
    /// starting with a bar (each run 1..=4 modules), without quiet zones.
    /// Start C, FNC1, the 22 digit pairs, the symbol check character and
    /// the stop: 25 characters of 11 modules and the 13-module stop, 157
    /// runs, 288 modules (see the `code128` module's docs).
    pub fn bars(&self) -> Vec<u8> {
        // The digits are 44 ASCII digits, so both steps succeed.
        code128::gs1_numeric_values(&self.digits)
            .and_then(|values| code128::runs(&values))
            .unwrap_or_default()
    }

    /// Total width in modules of [`ConvenienceCode::bars`] (288).
    pub fn width_modules(&self) -> u32 {
        // 11 modules per symbol character and 13 for the stop.
        code128::gs1_numeric_values(&self.digits)
            .and_then(|values| code128::symbol_modules(values.len()))
            .unwrap_or_default()
    }

    /// The digits `from..to` (on char boundaries: all ASCII).
    fn slice(&self, from: usize, to: usize) -> &str {
        self.digits.get(from..to).unwrap_or_default()
    }

    /// The digits `from..to` (a field of at most 6 digits) as a number.
    fn number_at(&self, from: usize, to: usize) -> i64 {
        self.digits
            .as_bytes()
            .get(from..to)
            .and_then(number)
            .unwrap_or_default()
    }
}

/// The GS1 check digit of `digits` (ASCII digits, the data before the
/// check digit): weights 3, 1, 3, … from the rightmost digit leftwards;
/// `(10 − sum mod 10) mod 10`. `None` if a byte is not a digit.
pub(crate) fn check_digit(digits: &[u8]) -> Option<u8> {
    let mut sum: u32 = 0;
    for (i, byte) in digits.iter().rev().enumerate() {
        let value = u32::from(digit(*byte)?);
        let weight = if i.is_multiple_of(2) { 3 } else { 1 };
        sum = sum.checked_add(value.checked_mul(weight)?)?;
    }
    let rest = sum.checked_rem(10)?;
    u8::try_from(10u32.checked_sub(rest)?.checked_rem(10)?).ok()
}

/// The due-date field (`YYMMDD`, 20YY) of the 44 digits `bytes` as a
/// date.
fn due_field(bytes: &[u8]) -> Result<JstDate, BarcodeError> {
    let field = || BarcodeError::DueDateField {
        found: String::from_utf8_lossy(bytes.get(DUE_AT..STAMP_AT).unwrap_or_default())
            .into_owned(),
    };
    let part = |at: usize| {
        bytes
            .get(at..at.saturating_add(2))
            .and_then(number)
            .and_then(|n| i8::try_from(n).ok())
            .ok_or_else(field)
    };
    let year = i16::from(part(DUE_AT)?)
        .checked_add(2000)
        .ok_or_else(field)?;
    let month = part(DUE_AT.saturating_add(2))?;
    let day = part(DUE_AT.saturating_add(4))?;
    JstDate::new(year, month, day).map_err(|_| field())
}

/// The value of an ASCII digit.
fn digit(byte: u8) -> Option<u8> {
    byte.is_ascii_digit()
        .then(|| byte.checked_sub(b'0'))
        .flatten()
}

/// ASCII digits (at most 18 of them) as a number.
fn number(digits: &[u8]) -> Option<i64> {
    if digits.len() > 18 {
        return None;
    }
    digits.iter().try_fold(0i64, |n, b| {
        n.checked_mul(10)?.checked_add(i64::from(digit(*b)?))
    })
}

/// Every character is an ASCII digit.
fn all_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

/// At most 32 characters of `s`, for an error message.
fn clip(s: &str) -> String {
    s.chars().take(32).collect()
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i16, m: i8, d: i8) -> JstDate {
        JstDate::new(y, m, d).unwrap()
    }

    fn layout() -> ConvenienceLayout {
        ConvenienceLayout::new("912345")
    }

    fn slip(amount: i64) -> SlipData {
        SlipData {
            reference: "20260001234".into(),
            reissue: 0,
            due: date(2026, 12, 10),
            amount: Yen::new(amount),
        }
    }

    /// Replace the digits at `at` and recompute the check digit.
    fn with(digits: &str, at: usize, replacement: &str) -> String {
        let mut s = digits[..CHECK_AT].to_string();
        s.replace_range(at..at + replacement.len(), replacement);
        let cd = check_digit(s.as_bytes()).unwrap();
        format!("{s}{cd}")
    }

    /// The worked example of the check digit. The 43 digits
    /// `91 912345 202600012340000000000 0 261210 0 012000`: the digits in
    /// odd positions from the left (1st, 3rd, …, 43rd — the rightmost is
    /// one of them, so they weigh 3) add up to 39, the others to 30.
    /// 3 × 39 + 30 = 147; 147 mod 10 = 7; (10 − 7) mod 10 = 3.
    #[test]
    fn worked_example_check_digit() {
        let data = "9191234520260001234000000000002612100012000";
        assert_eq!(data.len(), 43);
        let odd: u32 = data.bytes().step_by(2).map(|b| u32::from(b - b'0')).sum();
        let even: u32 = data
            .bytes()
            .skip(1)
            .step_by(2)
            .map(|b| u32::from(b - b'0'))
            .sum();
        assert_eq!((odd, even), (39, 30));
        assert_eq!(check_digit(data.as_bytes()), Some(3));
        let code = ConvenienceCode::new(&layout(), &slip(12_000)).unwrap();
        assert_eq!(code.digits(), format!("{data}3"));
    }

    /// A second example, with the stamp flag and a re-issue: the 43 digits
    /// `91 912345 202600012340000000000 1 270110 1 055000`; odd positions
    /// 43, even 34: 3 × 43 + 34 = 163 → (10 − 3) mod 10 = 7.
    /// A third, where the sum is a multiple of 10 plus 8:
    /// `91 900001 100000000000000000000 0 260301 0 000001`: 3 × 22 + 12 = 78
    /// → 2. And a sum that is a multiple of 10 gives 0, not 10.
    #[test]
    fn worked_examples_check_digit_more() {
        assert_eq!(
            check_digit(b"9191234520260001234000000000012701101055000"),
            Some(7)
        );
        assert_eq!(
            check_digit(b"9190000110000000000000000000002603010000001"),
            Some(2)
        );
        // 3 × 5 + 5 = 20 → 0.
        assert_eq!(check_digit(b"55"), Some(0));
        // The GS1 rule on a GTIN-13 (4 9 0 1 2 3 4 5 6 7 8 9 | 4): sums
        // odd-from-right 9+7+5+3+1+9 = 34 (× 3 = 102), the others
        // 8+6+4+2+0+4 = 24; 126 → 4.
        assert_eq!(check_digit(b"490123456789"), Some(4));
        assert_eq!(check_digit(b"9a"), None);

        let layout = layout();
        let data = SlipData {
            reference: "20260001234".into(),
            reissue: 1,
            due: date(2027, 1, 10),
            amount: Yen::new(55_000),
        };
        let code = ConvenienceCode::new(&layout, &data).unwrap();
        assert_eq!(
            code.digits(),
            "91912345202600012340000000000127011010550007"
        );
        assert!(code.fields().stamp);
    }

    #[test]
    fn new_then_parse_gives_the_fields_back() {
        let code = ConvenienceCode::new(&layout(), &slip(12_000)).unwrap();
        assert_eq!(code.digits().len(), DIGITS);
        assert_eq!(ConvenienceCode::parse(code.digits()), Ok(code.clone()));
        assert_eq!(
            code.fields(),
            SlipFields {
                company_code: "912345".into(),
                reference: "202600012340000000000".into(),
                reissue: 0,
                due: date(2026, 12, 10),
                stamp: false,
                amount: Yen::new(12_000),
                check_digit: 3,
            }
        );
        assert_eq!(
            code.human_readable(),
            "(91)912345-202600012340000000000-0-261210-0-012000-3"
        );
        assert_eq!(
            code.human_readable_lines(),
            [
                "(91)912345-202600012340000000000".to_string(),
                "0-261210-0-012000-3".to_string()
            ]
        );
        // Serialized as the 44 digits.
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(json, format!("\"{}\"", code.digits()));
    }

    #[test]
    fn the_stamp_flag_is_set_from_the_threshold() {
        let at = |yen| {
            ConvenienceCode::new(&layout(), &slip(yen))
                .unwrap()
                .fields()
                .stamp
        };
        assert!(!at(49_999));
        assert!(at(50_000));
        assert!(at(300_000));
        let mut low = layout();
        low.stamp_from = Yen::new(30_000);
        assert!(
            ConvenienceCode::new(&low, &slip(30_000))
                .unwrap()
                .fields()
                .stamp
        );
    }

    #[test]
    fn the_reference_is_right_padded_and_keeps_leading_zeros() {
        let mut data = slip(1);
        data.reference = "0000000042".into();
        let code = ConvenienceCode::new(&layout(), &data).unwrap();
        assert_eq!(code.fields().reference, "000000004200000000000");
        data.reference = "123456789012345678901".into();
        let code = ConvenienceCode::new(&layout(), &data).unwrap();
        assert_eq!(code.fields().reference, "123456789012345678901");
        assert_eq!(code.fields().amount, Yen::new(1));
        assert_eq!(&code.digits()[37..43], "000001");
    }

    #[test]
    fn each_bad_input_gives_its_error() {
        let good = slip(12_000);
        let bad_company = |c: &str| ConvenienceCode::new(&ConvenienceLayout::new(c), &good);
        for c in ["", "91234", "9123456", "91234a", "９１２３４５", "912 45"] {
            assert_eq!(
                bad_company(c),
                Err(BarcodeError::CompanyCode { found: c.into() }),
                "{c:?}"
            );
        }
        let new = |data: &SlipData| ConvenienceCode::new(&layout(), data);
        for r in ["", "1234567890123456789012", "12-34", "１２"] {
            let data = SlipData {
                reference: r.into(),
                ..good.clone()
            };
            assert_eq!(
                new(&data),
                Err(BarcodeError::Reference { found: r.into() }),
                "{r:?}"
            );
        }
        let data = SlipData {
            reissue: 10,
            ..good.clone()
        };
        assert_eq!(new(&data), Err(BarcodeError::Reissue { found: 10 }));
        for (y, m, d) in [(1999, 12, 31), (2100, 1, 1)] {
            let data = SlipData {
                due: date(y, m, d),
                ..good.clone()
            };
            assert_eq!(new(&data), Err(BarcodeError::DueDate { year: y }));
        }
        assert!(
            new(&SlipData {
                due: date(2000, 1, 1),
                ..good.clone()
            })
            .is_ok()
        );
        assert!(
            new(&SlipData {
                due: date(2099, 12, 31),
                ..good.clone()
            })
            .is_ok()
        );
        for yen in [0, -1, i64::MIN] {
            let data = SlipData {
                amount: Yen::new(yen),
                ..good.clone()
            };
            assert_eq!(
                new(&data),
                Err(BarcodeError::AmountNotPositive { amount: yen })
            );
        }
        let data = SlipData {
            amount: Yen::new(300_001),
            ..good.clone()
        };
        assert_eq!(
            new(&data),
            Err(BarcodeError::AmountAboveMax {
                amount: 300_001,
                max: 300_000
            })
        );
        let mut roomy = layout();
        roomy.max_amount = Yen::new(5_000_000);
        let at = |yen| {
            ConvenienceCode::new(
                &roomy,
                &SlipData {
                    amount: Yen::new(yen),
                    ..good.clone()
                },
            )
        };
        assert!(at(999_999).is_ok());
        assert_eq!(
            at(1_000_000),
            Err(BarcodeError::AmountAboveField { amount: 1_000_000 })
        );
        assert_eq!(
            at(i64::MAX),
            Err(BarcodeError::AmountAboveField { amount: i64::MAX })
        );
        // The messages name the field.
        assert_eq!(
            BarcodeError::AmountAboveMax {
                amount: 300_001,
                max: 300_000
            }
            .to_string(),
            "amount 300001 yen exceeds the counter limit of 300000 yen"
        );
        assert_eq!(
            BarcodeError::CheckDigit {
                expected: 3,
                found: 4
            }
            .to_string(),
            "check digit is 4, expected 3"
        );
    }

    #[test]
    fn parse_refuses_what_is_not_a_barcode() {
        let good = ConvenienceCode::new(&layout(), &slip(12_000)).unwrap();
        let digits = good.digits();
        assert_eq!(
            ConvenienceCode::parse(""),
            Err(BarcodeError::Length { found: 0 })
        );
        assert_eq!(
            ConvenienceCode::parse(&digits[1..]),
            Err(BarcodeError::Length { found: 43 })
        );
        assert_eq!(
            ConvenienceCode::parse(&format!("{digits}0")),
            Err(BarcodeError::Length { found: 45 })
        );
        assert_eq!(
            ConvenienceCode::parse(&format!("(91){}", &digits[2..])),
            Err(BarcodeError::NotDigit { position: 0 })
        );
        assert_eq!(
            ConvenienceCode::parse(&digits.replacen('2', "２", 1)),
            Err(BarcodeError::NotDigit { position: 4 })
        );
        // One digit changed (the 11th, weight 3: 2 → 8 adds 18 to the sum
        // of 147, 165 → 5): the check digit catches it.
        let typo = format!("{}8{}", &digits[..10], &digits[11..]);
        assert_eq!(
            ConvenienceCode::parse(&typo),
            Err(BarcodeError::CheckDigit {
                expected: 5,
                found: 3
            })
        );
        let wrong_cd = format!("{}4", &digits[..43]);
        assert_eq!(
            ConvenienceCode::parse(&wrong_cd),
            Err(BarcodeError::CheckDigit {
                expected: 3,
                found: 4
            })
        );
        // Well-formed check digit, bad fields.
        assert_eq!(
            ConvenienceCode::parse(&with(digits, 0, "90")),
            Err(BarcodeError::ApplicationIdentifier { found: "90".into() })
        );
        for bad in ["260230", "261301", "261200", "270229", "991232"] {
            assert_eq!(
                ConvenienceCode::parse(&with(digits, DUE_AT, bad)),
                Err(BarcodeError::DueDateField { found: bad.into() }),
                "{bad}"
            );
        }
        // 2028 is a leap year.
        assert!(ConvenienceCode::parse(&with(digits, DUE_AT, "280229")).is_ok());
        assert_eq!(
            ConvenienceCode::parse(&with(digits, STAMP_AT, "2")),
            Err(BarcodeError::StampFlag { found: 2 })
        );
        assert_eq!(
            ConvenienceCode::parse(&with(digits, AMOUNT_AT, "000000")),
            Err(BarcodeError::AmountNotPositive { amount: 0 })
        );
        // Any digits in the company, free and re-issue fields are accepted.
        let other = with(digits, COMPANY_AT, "0000009999999999999999999999");
        assert_eq!(ConvenienceCode::parse(&other).unwrap().fields().reissue, 9);
    }

    #[test]
    fn the_symbol_is_25_characters_and_the_stop() {
        let code = ConvenienceCode::new(&layout(), &slip(12_000)).unwrap();
        let bars = code.bars();
        assert_eq!(bars.len(), 25 * 6 + 7);
        assert_eq!(code.width_modules(), 11 * 25 + 13);
        assert_eq!(code.width_modules(), 288);
        // Start C, then FNC1.
        assert_eq!(bars[..12], [2, 1, 1, 2, 3, 2, 4, 1, 1, 1, 3, 1]);
        // The digit pairs: 91 91 23 45 …
        assert_eq!(bars[12..18], [4, 1, 2, 1, 2, 1]);
        assert_eq!(bars[bars.len() - 7..], [2, 3, 3, 1, 1, 1, 2]);
    }

    fn valid_slip() -> impl Strategy<Value = (ConvenienceLayout, SlipData)> {
        (
            "[0-9]{6}",
            1i64..=999_999,
            1i64..=999_999,
            "[0-9]{1,21}",
            0u8..=9,
            (2000i16..=2099, 1i8..=12, 1i8..=31),
            1i64..=1_200_000,
        )
            .prop_filter_map(
                "a calendar date",
                |(company, stamp, max, reference, reissue, (y, m, d), amount)| {
                    let due = JstDate::new(y, m, d).ok()?;
                    let layout = ConvenienceLayout {
                        company_code: company,
                        stamp_from: Yen::new(stamp),
                        max_amount: Yen::new(max),
                    };
                    let amount = Yen::new(1 + (amount - 1) % max);
                    Some((
                        layout,
                        SlipData {
                            reference,
                            reissue,
                            due,
                            amount,
                        },
                    ))
                },
            )
    }

    proptest! {
        /// Any valid slip makes a barcode whose digits parse back to the
        /// same fields.
        #[test]
        fn any_valid_slip_round_trips((layout, data) in valid_slip()) {
            let code = ConvenienceCode::new(&layout, &data).unwrap();
            prop_assert_eq!(code.digits().len(), DIGITS);
            prop_assert!(code.digits().bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(&ConvenienceCode::parse(code.digits()).unwrap(), &code);
            let f = code.fields();
            prop_assert_eq!(&f.company_code, &layout.company_code);
            prop_assert_eq!(f.reference.len(), REFERENCE_DIGITS);
            prop_assert!(f.reference.starts_with(&data.reference));
            prop_assert!(f.reference[data.reference.len()..].bytes().all(|b| b == b'0'));
            prop_assert_eq!(f.reissue, data.reissue);
            prop_assert_eq!(f.due, data.due);
            prop_assert_eq!(f.amount, data.amount);
            prop_assert_eq!(f.stamp, data.amount >= layout.stamp_from);
            prop_assert_eq!(
                code.human_readable().replace(['(', ')', '-'], ""),
                code.digits()
            );
        }

        /// The bars: every run 1..=4 modules, bar first and last (an odd
        /// number of runs), adding up to `width_modules` = 11 × 25 + 13.
        #[test]
        fn bar_widths_add_up((layout, data) in valid_slip()) {
            let code = ConvenienceCode::new(&layout, &data).unwrap();
            let bars = code.bars();
            prop_assert!(bars.iter().all(|r| (1..=4).contains(r)));
            prop_assert_eq!(bars.len() % 2, 1);
            let sum: u32 = bars.iter().map(|r| u32::from(*r)).sum();
            prop_assert_eq!(sum, code.width_modules());
            prop_assert_eq!(Some(sum), code128::symbol_modules(25));
        }

        /// Any single-digit change is caught by the check digit (or by a
        /// field rule).
        #[test]
        fn a_single_digit_change_is_refused((layout, data) in valid_slip(), at in 0usize..DIGITS, delta in 1u8..=9) {
            let code = ConvenienceCode::new(&layout, &data).unwrap();
            let mut bytes = code.digits().as_bytes().to_vec();
            bytes[at] = b'0' + (bytes[at] - b'0' + delta) % 10;
            let changed = String::from_utf8(bytes).unwrap();
            prop_assert!(ConvenienceCode::parse(&changed).is_err());
        }

        /// Parsing never panics, whatever the input.
        #[test]
        fn parse_never_panics(s in "\\PC{0,50}", digits in "[0-9]{44}") {
            let _ = ConvenienceCode::parse(&s);
            if let Ok(code) = ConvenienceCode::parse(&digits) {
                prop_assert_eq!(code.digits(), digits.as_str());
                let _ = code.fields();
            }
        }
    }
}
