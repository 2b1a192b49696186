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
    if region == "JP"
        && let Some(phone) = fast_mobile_or_voip(&cleaned)
    {
        let mut flags = Vec::new();
        if phone.number_type == "mobile" {
            flags.push(Flag::Mobile);
        }
        if cleaned != input {
            flags.push(Flag::Converted);
        }
        return Ok((phone, flags));
    }
    parse_with_metadata(input, &cleaned, region)
}

/// The common sign-up case without the general parser: a Japanese mobile
/// (`0[6-9]0[1-9]` + 7 digits) or IP phone (`050[1-9]` + 7 digits) number,
/// nationally or as `+81`, with hyphens or spaces. The patterns are
/// libphonenumber's JP `mobile` and `voip` national-number patterns; a
/// property test checks this path against the full parser. Anything else
/// returns `None` and goes the long way.
fn fast_mobile_or_voip(cleaned: &str) -> Option<Phone> {
    let mut digits = [0u8; 16];
    let mut n = 0;
    let rest = match cleaned.strip_prefix("+81") {
        Some(r) => r,
        None => cleaned.strip_prefix('0')?,
    };
    for b in rest.bytes() {
        match b {
            b'0'..=b'9' => {
                if n == digits.len() {
                    return None;
                }
                digits[n] = b;
                n += 1;
            }
            b'-' | b' ' => {}
            _ => return None,
        }
    }
    let national = &digits[..n];
    if n != 10 || national[1] != b'0' || !(b'1'..=b'9').contains(&national[2]) {
        return None;
    }
    let number_type = match national[0] {
        b'6'..=b'9' => "mobile",
        b'5' => "voip",
        _ => return None,
    };
    let mut e164 = String::with_capacity(13);
    e164.push_str("+81");
    e164.extend(national.iter().map(|&b| char::from(b)));
    Some(Phone {
        e164,
        country_code: 81,
        number_type,
    })
}

/// The general path through libphonenumber's metadata.
#[doc(hidden)]
pub fn parse_with_metadata(
    input: &str,
    cleaned: &str,
    region: &str,
) -> Result<(Phone, Vec<Flag>), Vec<Flag>> {
    let id: Id = region.parse().unwrap_or(Id::JP);
    // The parser is third-party code: a panic inside it must not take the
    // engine down, so it is treated as an unparseable number.
    let parsed = std::panic::catch_unwind(|| phonenumber::parse(Some(id), cleaned).ok())
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

/// The cleaning step, exposed for the property test of the fast path.
#[doc(hidden)]
pub fn clean_for_tests(input: &str) -> String {
    clean(input)
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
