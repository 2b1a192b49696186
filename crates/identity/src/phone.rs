//! Phone numbers: E.164 through libphonenumber's metadata (the `phonenumber`
//! crate), with Japanese typing habits handled first: full-width digits,
//! the long-vowel mark or a minus sign for a hyphen, ideographic spaces, a
//! `TEL:` label.

use phonenumber::country::Id;
use phonenumber::{Mode, Type};
use serde::Serialize;

use crate::Flag;
use crate::text::{is_hyphen_like, is_long_vowel, is_space, nfkc};

/// Longer input is refused before parsing.
pub const PHONE_CHARS_MAX: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Phone {
    /// `+819012345678`.
    pub e164: String,
    pub country_code: u16,
    /// `mobile`, `fixed_line`, `voip`, `toll_free`, … as libphonenumber says.
    pub number_type: &'static str,
}

/// Normalizes with Japan as the region for numbers written without `+`.
pub fn normalize_phone(input: &str) -> Result<(Phone, Vec<Flag>), Vec<Flag>> {
    normalize_phone_in(input, "JP")
}

/// Normalizes with `region` (ISO 3166 alpha-2) for numbers written without `+`.
pub fn normalize_phone_in(input: &str, region: &str) -> Result<(Phone, Vec<Flag>), Vec<Flag>> {
    if input.chars().count() > PHONE_CHARS_MAX {
        return Err(vec![Flag::TooLong]);
    }
    let cleaned = clean(input);
    if !cleaned.chars().any(|c| c.is_ascii_digit()) {
        return Err(vec![Flag::Empty]);
    }
    let id: Id = region.parse().unwrap_or(Id::JP);
    // The parser is third-party code: a panic inside it must not take the
    // engine down, so it is treated as an unparseable number.
    let parsed = std::panic::catch_unwind(|| phonenumber::parse(Some(id), &cleaned).ok())
        .ok()
        .flatten();
    let Some(number) = parsed else {
        return Err(vec![Flag::InvalidSyntax]);
    };
    if number.extension().is_some() {
        return Err(vec![Flag::InvalidSyntax]);
    }
    if !phonenumber::is_valid(&number) {
        return Err(vec![Flag::ImpossibleNumber]);
    }
    let e164 = number.format().mode(Mode::E164).to_string();
    let country_code = number.code().value();
    let number_type = match number.number_type(&phonenumber::metadata::DATABASE) {
        Type::FixedLine => "fixed_line",
        Type::Mobile => "mobile",
        Type::FixedLineOrMobile => "fixed_line_or_mobile",
        Type::TollFree => "toll_free",
        Type::PremiumRate => "premium_rate",
        Type::SharedCost => "shared_cost",
        Type::PersonalNumber => "personal_number",
        Type::Voip => "voip",
        Type::Pager => "pager",
        Type::Uan => "uan",
        _ => "other",
    };
    let mut flags = Vec::new();
    if country_code != 81 {
        flags.push(Flag::NotJapanese);
    }
    if number_type == "mobile" {
        flags.push(Flag::Mobile);
    }
    if cleaned != input {
        flags.push(Flag::Converted);
    }
    Ok((
        Phone {
            e164,
            country_code,
            number_type,
        },
        flags,
    ))
}

/// NFKC (full-width digits and ＋), hyphen look-alikes to `-`, spaces to
/// ASCII, a leading `TEL`/`電話` label dropped, soft hyphens removed, and
/// digits of other scripts (Mongolian, Arabic-Indic, …) mapped to ASCII.
fn clean(input: &str) -> String {
    let mut s: String = nfkc(input)
        .chars()
        .filter(|&c| c != '\u{00AD}')
        .map(|c| {
            if is_hyphen_like(c) || is_long_vowel(c) {
                '-'
            } else if is_space(c) {
                ' '
            } else if let Some(d) = unicode_digit(c) {
                char::from(b'0' + d)
            } else {
                c
            }
        })
        .collect();
    let trimmed = s.trim();
    for label in ["TEL", "Tel", "tel.", "TEL.", "電話番号", "電話"] {
        if let Some(rest) = trimmed.strip_prefix(label) {
            let rest = rest.trim_start_matches([':', ' ']);
            if rest.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '(') {
                s = rest.to_string();
                return s;
            }
        }
    }
    trimmed.to_string()
}

/// The value of a decimal digit in scripts NFKC leaves alone.
fn unicode_digit(c: char) -> Option<u8> {
    const ZEROS: [u32; 8] = [
        0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0x1810, 0x17E0, 0x1040,
    ];
    let cp = c as u32;
    ZEROS
        .iter()
        .find(|&&z| cp >= z && cp < z + 10)
        .map(|&z| (cp - z) as u8)
}
