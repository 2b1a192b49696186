//! Character-level helpers shared by the normalizers: NFKC, hyphen and space
//! classes, kana conversion between hiragana, katakana and half-width forms,
//! kanji numerals, and a text cleaner in the manner of neologdn.
//!
//! Everything here is total: any `&str` in, a `String` out, no panics.

use unicode_normalization::UnicodeNormalization;

/// NFKC, then removal of variation selectors (IVS U+E0100..U+E01EF and
/// U+FE00..U+FE0F): 葛󠄀 and 葛 are the same character for matching.
pub fn nfkc(s: &str) -> String {
    s.nfkc().filter(|c| !is_variation_selector(*c)).collect()
}

pub fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Characters people type where a hyphen is meant (after NFKC). The
/// katakana long vowel mark `ー` is not here: it is a hyphen only next to a
/// digit, which the callers decide.
pub fn is_hyphen_like(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{02D7}' // ˗ modifier letter minus
            | '\u{058A}' // ֊ armenian hyphen
            | '\u{2010}'
            ..='\u{2015}' // ‐ ‑ ‒ – — ―
            | '\u{2043}' // ⁃ hyphen bullet
            | '\u{207B}' // ⁻ superscript minus
            | '\u{208B}' // ₋ subscript minus
            | '\u{2212}' // − minus sign
            | '\u{2500}' // ─ box drawings light horizontal
            | '\u{2501}' // ━ box drawings heavy horizontal
            | '\u{FE58}' // ﹘ small em dash
            | '\u{FE63}' // ﹣ small hyphen-minus
            | '\u{FF0D}' // － full-width hyphen-minus
            | '\u{FF70}' // ｰ half-width long vowel (before NFKC)
    )
}

/// Long-vowel-like characters: `ー` and the half-width `ｰ`.
pub fn is_long_vowel(c: char) -> bool {
    matches!(c, '\u{30FC}' | '\u{FF70}')
}

pub fn is_space(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}' | '\u{FEFF}' | '\u{3000}')
}

pub fn is_hiragana(c: char) -> bool {
    matches!(c, '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}')
}

pub fn is_katakana(c: char) -> bool {
    matches!(
        c,
        '\u{30A1}'..='\u{30FA}' | '\u{30FD}' | '\u{30FE}' | '\u{30FC}'
    )
}

pub fn is_kana(c: char) -> bool {
    is_hiragana(c) || is_katakana(c)
}

pub fn is_kanji(c: char) -> bool {
    matches!(c, '\u{3400}'..='\u{4DBF}' | '\u{4E00}'..='\u{9FFF}' | '\u{F900}'..='\u{FAFF}' | '\u{20000}'..='\u{3134F}' | '々' | '〆' | 'ヶ' | 'ヵ')
}

/// Hiragana → katakana (ぁ..ゖ, ゝゞ). Everything else unchanged.
pub fn hira_to_kata_char(c: char) -> char {
    match c {
        '\u{3041}'..='\u{3096}' | '\u{309D}' | '\u{309E}' => {
            char::from_u32(c as u32 + 0x60).unwrap_or(c)
        }
        _ => c,
    }
}

/// Katakana → hiragana (ァ..ヶ, ヽヾ). ヷヸヹヺ have no hiragana and stay.
pub fn kata_to_hira_char(c: char) -> char {
    match c {
        '\u{30A1}'..='\u{30F6}' | '\u{30FD}' | '\u{30FE}' => {
            char::from_u32(c as u32 - 0x60).unwrap_or(c)
        }
        _ => c,
    }
}

pub fn hira_to_kata(s: &str) -> String {
    s.chars().map(hira_to_kata_char).collect()
}

pub fn kata_to_hira(s: &str) -> String {
    s.chars().map(kata_to_hira_char).collect()
}

/// Full-width katakana → half-width (the JIS X 0201 set). Characters without
/// a half-width form (ヮヰヱヵヶヽヾ) stay full-width, as in jaconv.
pub fn kata_to_halfwidth(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match halfwidth_of(c) {
            Some(h) => out.push_str(h),
            None => out.push(c),
        }
    }
    out
}

fn halfwidth_of(c: char) -> Option<&'static str> {
    Some(match c {
        'ァ' => "ｧ",
        'ア' => "ｱ",
        'ィ' => "ｨ",
        'イ' => "ｲ",
        'ゥ' => "ｩ",
        'ウ' => "ｳ",
        'ェ' => "ｪ",
        'エ' => "ｴ",
        'ォ' => "ｫ",
        'オ' => "ｵ",
        'カ' => "ｶ",
        'ガ' => "ｶﾞ",
        'キ' => "ｷ",
        'ギ' => "ｷﾞ",
        'ク' => "ｸ",
        'グ' => "ｸﾞ",
        'ケ' => "ｹ",
        'ゲ' => "ｹﾞ",
        'コ' => "ｺ",
        'ゴ' => "ｺﾞ",
        'サ' => "ｻ",
        'ザ' => "ｻﾞ",
        'シ' => "ｼ",
        'ジ' => "ｼﾞ",
        'ス' => "ｽ",
        'ズ' => "ｽﾞ",
        'セ' => "ｾ",
        'ゼ' => "ｾﾞ",
        'ソ' => "ｿ",
        'ゾ' => "ｿﾞ",
        'タ' => "ﾀ",
        'ダ' => "ﾀﾞ",
        'チ' => "ﾁ",
        'ヂ' => "ﾁﾞ",
        'ッ' => "ｯ",
        'ツ' => "ﾂ",
        'ヅ' => "ﾂﾞ",
        'テ' => "ﾃ",
        'デ' => "ﾃﾞ",
        'ト' => "ﾄ",
        'ド' => "ﾄﾞ",
        'ナ' => "ﾅ",
        'ニ' => "ﾆ",
        'ヌ' => "ﾇ",
        'ネ' => "ﾈ",
        'ノ' => "ﾉ",
        'ハ' => "ﾊ",
        'バ' => "ﾊﾞ",
        'パ' => "ﾊﾟ",
        'ヒ' => "ﾋ",
        'ビ' => "ﾋﾞ",
        'ピ' => "ﾋﾟ",
        'フ' => "ﾌ",
        'ブ' => "ﾌﾞ",
        'プ' => "ﾌﾟ",
        'ヘ' => "ﾍ",
        'ベ' => "ﾍﾞ",
        'ペ' => "ﾍﾟ",
        'ホ' => "ﾎ",
        'ボ' => "ﾎﾞ",
        'ポ' => "ﾎﾟ",
        'マ' => "ﾏ",
        'ミ' => "ﾐ",
        'ム' => "ﾑ",
        'メ' => "ﾒ",
        'モ' => "ﾓ",
        'ャ' => "ｬ",
        'ヤ' => "ﾔ",
        'ュ' => "ｭ",
        'ユ' => "ﾕ",
        'ョ' => "ｮ",
        'ヨ' => "ﾖ",
        'ラ' => "ﾗ",
        'リ' => "ﾘ",
        'ル' => "ﾙ",
        'レ' => "ﾚ",
        'ロ' => "ﾛ",
        'ワ' => "ﾜ",
        'ヲ' => "ｦ",
        'ン' => "ﾝ",
        'ヴ' => "ｳﾞ",
        'ー' => "ｰ",
        '・' => "･",
        '「' => "｢",
        '」' => "｣",
        '。' => "｡",
        '、' => "､",
        '゛' => "ﾞ",
        '゜' => "ﾟ",
        _ => return None,
    })
}

/// Half-width katakana → full-width, composing a following (semi-)voiced
/// sound mark (ｶﾞ → ガ). Only the half-width kana block is touched.
pub fn halfwidth_kana_to_full(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if ('\u{FF61}'..='\u{FF9F}').contains(&c) {
            let next = chars.get(i + 1).copied();
            let pair: String = match next {
                Some(n @ ('\u{FF9E}' | '\u{FF9F}')) => [c, n].iter().collect(),
                _ => c.to_string(),
            };
            let full = nfkc(&pair);
            // NFKC composes ｶﾞ into ガ; when it cannot (ｱﾞ) it yields two chars.
            if full.chars().count() == 1 && pair.chars().count() == 2 {
                out.push_str(&full);
                i += 2;
                continue;
            }
            out.push_str(&nfkc(&c.to_string()));
            i += 1;
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// A kanji numeral digit or multiplier, with its value.
pub fn kanji_digit(c: char) -> Option<u32> {
    Some(match c {
        '〇' | '零' => 0,
        '一' | '壱' | '壹' => 1,
        '二' | '弐' | '貳' => 2,
        '三' | '参' | '參' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

pub fn kanji_multiplier(c: char) -> Option<u64> {
    Some(match c {
        '十' | '拾' => 10,
        '百' => 100,
        '千' | '阡' => 1000,
        _ => return None,
    })
}

pub fn is_kanji_numeral(c: char) -> bool {
    kanji_digit(c).is_some() || kanji_multiplier(c).is_some()
}

/// Value of a run of kanji numerals. Handles both the multiplier style
/// (千二百三十四) and the positional style (一二三四), and mixes of them
/// (千二三四 = 1234). Returns `None` for an empty run or an absurd value.
pub fn kanji_number_value(run: &[char]) -> Option<u64> {
    if run.is_empty() {
        return None;
    }
    let mut total: u64 = 0;
    let mut current: u64 = 0;
    let mut seen_digit = false;
    for &c in run {
        if let Some(d) = kanji_digit(c) {
            current = current.checked_mul(10)?.checked_add(u64::from(d))?;
            seen_digit = true;
        } else if let Some(m) = kanji_multiplier(c) {
            let factor = if seen_digit { current } else { 1 };
            total = total.checked_add(factor.checked_mul(m)?)?;
            current = 0;
            seen_digit = false;
        } else {
            return None;
        }
    }
    total.checked_add(current)
}

/// neologdn-style cleaning of free text, checked against neologdn 0.5.6's
/// own tests: full-width ASCII to half-width, half-width kana to full-width
/// (with voiced marks composed), hyphens to `-`, long-vowel runs to one `ー`,
/// tildes as `tilde` says, and spaces removed except between two
/// basic-Latin words.
pub fn neologdn(s: &str, remove_space: bool, tilde: Tilde) -> String {
    let widened = compose_voiced_marks(&halfwidth_kana_to_full(s));
    let mut out: Vec<char> = Vec::with_capacity(widened.len());
    // A space kept after a basic-Latin char; dropped again if the next
    // written char belongs to a CJK block.
    let mut latin_space = false;
    for c in widened.chars() {
        let c = match c {
            // Full-width ASCII to ASCII, except '－', which neologdn reads as a long vowel.
            '\u{FF01}'..='\u{FF5E}' if c != '－' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' | '\t' | '\n' | '\r' => ' ',
            _ => c,
        };
        let prev = out.last().copied();
        if c == ' ' {
            if !remove_space {
                out.push(c);
                continue;
            }
            match prev {
                None | Some(' ') => continue,
                Some(p) if is_in_blocks(p) => continue,
                Some(p) if p != '*' && is_basic_latin(p) => {
                    latin_space = true;
                    out.push(' ');
                }
                Some(_) => {}
            }
            continue;
        }
        match c {
            '˗' | '֊' | '‐' | '‑' | '‒' | '–' | '⁃' | '⁻' | '₋' | '−' => {
                if prev != Some('-') {
                    out.push('-');
                }
            }
            '﹣' | '－' | 'ｰ' | '—' | '―' | '─' | '━' | 'ー' => {
                if prev != Some('ー') {
                    out.push('ー');
                }
            }
            '~' | '∼' | '∾' | '〜' | '〰' | '～' => match tilde {
                Tilde::Remove => continue,
                Tilde::Ignore => out.push(c),
                Tilde::Normalize => out.push('~'),
                Tilde::NormalizeZenkaku => out.push('〜'),
            },
            _ => {
                if latin_space && is_in_blocks(c) && out.last() == Some(&' ') {
                    out.pop();
                }
                out.push(c);
            }
        }
        latin_space = false;
    }
    let s: String = out.into_iter().collect();
    s.trim_matches(' ').to_string()
}

fn is_in_blocks(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303F}' | '\u{3040}'..='\u{309F}' | '\u{30A0}'..='\u{30FF}' | '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{FF00}'..='\u{FFEF}' | '\u{F900}'..='\u{FAFF}')
}

/// Composes a kana followed by a (semi-)voiced sound mark, spacing (゛゜) or
/// combining, into one character where Unicode has one (う゛ → ゔ).
pub fn compose_voiced_marks(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last: Option<char> = None;
    for c in s.chars() {
        let mark = match c {
            '゛' | '\u{3099}' | 'ﾞ' => Some('\u{3099}'),
            '゜' | '\u{309A}' | 'ﾟ' => Some('\u{309A}'),
            _ => None,
        };
        if let (Some(m), Some(p)) = (mark, last)
            && is_kana(p)
        {
            let composed: String = [p, m].iter().collect::<String>().nfc().collect();
            if composed.chars().count() == 1 {
                out.pop();
                out.push_str(&composed);
                last = composed.chars().next();
                continue;
            }
        }
        out.push(c);
        last = Some(c);
    }
    out
}

fn is_basic_latin(c: char) -> bool {
    c.is_ascii() && c != ' '
}

/// What [`neologdn`] does with wave dashes and tildes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tilde {
    Remove,
    Ignore,
    Normalize,
    NormalizeZenkaku,
}

/// Small kana to their full-size forms (ぁ→あ, ッ→ツ, ヵ→カ), as banks and
/// some registries store readings.
pub fn enlarge_small_kana_char(c: char) -> char {
    match c {
        'ぁ' | 'ぃ' | 'ぅ' | 'ぇ' | 'ぉ' | 'ァ' | 'ィ' | 'ゥ' | 'ェ' | 'ォ' => {
            char::from_u32(c as u32 + 1).unwrap_or(c)
        }
        'っ' | 'ゃ' | 'ゅ' | 'ょ' | 'ゎ' | 'ッ' | 'ャ' | 'ュ' | 'ョ' | 'ヮ' => {
            char::from_u32(c as u32 + 1).unwrap_or(c)
        }
        'ヵ' => 'カ',
        'ヶ' => 'ケ',
        'ゕ' => 'か',
        'ゖ' => 'け',
        _ => c,
    }
}
