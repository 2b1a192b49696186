//! Personal names: NFKC, spaces removed, old-form kanji to new (the table in
//! [`crate::itaiji`]), voiced marks composed, and a kana name (a reading)
//! unified to full-width katakana whether typed in hiragana, katakana or
//! half-width kana.

use serde::Serialize;

use crate::itaiji::fold_variant;
use crate::text::{compose_voiced_marks, hira_to_kata, is_kana, is_space, nfkc};
use crate::{Flag, KeyName, MatchKey};

/// Longer input is refused: registration forms cap names well below this.
pub const NAME_CHARS_MAX: usize = 64;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Name {
    pub canonical: String,
    /// The name is a reading (kana only), stored as katakana.
    pub is_kana: bool,
}

pub fn normalize_name(input: &str) -> Result<(Name, Vec<MatchKey>, Vec<Flag>), Vec<Flag>> {
    if input.chars().count() > NAME_CHARS_MAX {
        return Err(vec![Flag::TooLong]);
    }
    let composed = compose_voiced_marks(&nfkc(input));
    let mut canonical = String::with_capacity(composed.len());
    let mut converted = false;
    for c in composed.chars() {
        if is_space(c) || c.is_control() || matches!(c, '・' | '･' | '=') {
            continue;
        }
        let f = fold_variant(c);
        converted |= f != c;
        canonical.push(f);
    }
    if canonical.is_empty() {
        return Err(vec![Flag::Empty]);
    }
    // Removing spaces can bring a base and a combining mark together.
    let mut canonical = nfkc(&canonical);
    let is_kana = canonical.chars().all(|c| is_kana(c) || c == 'ー');
    if is_kana {
        canonical = hira_to_kata(&canonical);
    }
    // The key also merges 斉 and 斎 (齊 and 齋), which registries keep apart
    // but people swap freely.
    let key: String = canonical
        .chars()
        .map(|c| if c == '斎' { '斉' } else { c })
        .collect();
    let name = if is_kana {
        KeyName::NameKana
    } else {
        KeyName::Name
    };
    let mut flags = Vec::new();
    if converted || canonical != input {
        flags.push(Flag::Converted);
    }
    Ok((
        Name { canonical, is_kana },
        vec![MatchKey { name, value: key }],
        flags,
    ))
}
