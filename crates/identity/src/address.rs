//! Japanese postal addresses: one canonical form and match keys at three
//! levels (unit with room, building, block).
//!
//! The pipeline: NFKC and hyphens → postal code → prefecture and municipality
//! (gazetteer, inferred when left out) → town (gazetteer spelling) → block
//! numbers (丁目/番地/番/号/の and kanji numerals to `1-3-1`) → building and room.
//! The canonical string is built from the parts, and parsing it again gives
//! the same parts. The match keys are built from the canonical street by a
//! stricter skeleton (every kanji numeral a digit, every variant folded) so
//! that spellings the canonical keeps apart (七番丁19 / 7番町19) still match.

use serde::Serialize;
use unicode_normalization::char::is_combining_mark;

use crate::gazetteer::{self, CITY_CHARS_MAX, CityId, Gazetteer, TOWN_CHARS_MAX, TownId};
use crate::itaiji::fold_address_key;
use crate::text::{
    is_hyphen_like, is_kana, is_kanji_numeral, is_long_vowel, is_space, kanji_number_value, nfkc,
};
use crate::{Flag, KeyName, MatchKey};

/// Longer input is refused: no real address comes near it.
pub const ADDRESS_CHARS_MAX: usize = 256;
/// At most this many numbers in one block chain (1-3-1-101 is four).
const BLOCK_NUMBERS_MAX: usize = 6;

/// A parsed address. `None` parts were absent and could not be inferred.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Address {
    pub postal_code: Option<String>,
    pub prefecture: Option<String>,
    pub city: Option<String>,
    /// The town as the gazetteer spells it, when it was recognised.
    pub town: Option<String>,
    /// Everything after the municipality up to the block numbers, included.
    pub street: String,
    /// The block numbers, `1-3-1` form.
    pub block: Option<String>,
    pub building: Option<String>,
    pub room: Option<String>,
}

impl Address {
    /// The canonical one-line form: `〒100-0013 東京都千代田区霞が関1-3-1 ビル 101`.
    pub fn canonical(&self) -> String {
        let mut out = String::new();
        if let Some(p) = &self.postal_code {
            out.push('〒');
            out.push_str(&p[..3.min(p.len())]);
            out.push('-');
            out.push_str(p.get(3..).unwrap_or(""));
            out.push(' ');
        }
        out.push_str(self.prefecture.as_deref().unwrap_or(""));
        out.push_str(self.city.as_deref().unwrap_or(""));
        out.push_str(&self.street);
        if let Some(b) = &self.building {
            out.push(' ');
            out.push_str(b);
        }
        if let Some(r) = &self.room {
            out.push(' ');
            out.push_str(r);
        }
        out
    }
}

pub struct AddressResult {
    pub address: Address,
    pub flags: Vec<Flag>,
    pub keys: Vec<MatchKey>,
    /// Gazetteer ids, for the postal-code check.
    pub city_id: Option<CityId>,
    pub town_id: Option<TownId>,
}

pub fn normalize_address(input: &str) -> AddressResult {
    let mut flags = Vec::new();
    let mut address = Address::default();
    let empty = |address, flags| AddressResult {
        address,
        flags,
        keys: Vec::new(),
        city_id: None,
        town_id: None,
    };
    if input.chars().count() > ADDRESS_CHARS_MAX {
        flags.push(Flag::TooLong);
        return empty(address, flags);
    }
    let chars = clean(input);
    let (postal, mut pos) = take_postal_code(&chars, &mut flags);
    address.postal_code = postal;
    while pos < chars.len() && chars[pos] == ' ' {
        pos += 1;
    }
    let chars = remove_spaces(&chars[pos..]);
    if chars.is_empty() {
        flags.push(Flag::Empty);
        return empty(address, flags);
    }
    let g = gazetteer::get();
    let admin = parse_admin(g, &chars, &mut flags);
    let mut city_id = admin.city;
    let mut pref = admin.pref;
    let mut town_id = admin.town.map(|t| t.0);
    // The postal code fills in a municipality the text left out, and is
    // checked against one the text gave.
    if let Some(code) = address
        .postal_code
        .as_deref()
        .and_then(|p| p.parse::<u32>().ok())
    {
        let rows = g.postal_rows(code);
        if rows.is_empty() {
            flags.push(Flag::PostalCodeUnknown);
        } else if let Some(c) = city_id {
            if !rows.iter().any(|r| r.1 == c) {
                flags.push(Flag::PostalCodeMismatch);
            }
        } else {
            let first = rows[0].1;
            if rows.iter().all(|r| r.1 == first)
                && pref.is_none_or(|p| g.city(first).is_some_and(|c| c.pref == p))
            {
                city_id = Some(first);
                pref = g.city(first).map(|c| c.pref);
                flags.push(Flag::CityFromPostalCode);
            }
        }
    }
    address.prefecture = pref.map(|p| g.pref_name(p).to_string());
    address.city = city_id.and_then(|c| g.city(c)).map(|c| c.name.clone());

    // The street: from the end of the municipality on.
    let mut rest: Vec<char> = chars[admin.consumed..].to_vec();
    let kyoto = address.prefecture.as_deref() == Some("京都府");
    if kyoto {
        rest = strip_kyoto_directions(&rest);
    }
    let skip = aza_prefix_len(&rest);
    let rest = &rest[skip..];
    let mut protected: Vec<char> = Vec::new();
    let mut tail: &[char] = rest;
    if let (Some(c), Some(_)) = (city_id, pref) {
        // The municipality reading already matched the town at this very
        // position, unless Kyoto's directions moved it or the postal code
        // supplied the municipality.
        let found = if !kyoto && admin.city == Some(c) {
            admin.town.map(|(t, len)| (t, len.saturating_sub(skip)))
        } else {
            match_town(g, c, rest)
        };
        if let Some((tid, len)) = found
            && let Some(t) = g.town(tid)
        {
            protected = gazetteer::strip_aza(&t.name).chars().collect();
            tail = &rest[len.min(rest.len())..];
            town_id = Some(tid);
        }
    } else {
        town_id = None;
    }
    address.town = if protected.is_empty() {
        None
    } else {
        Some(protected.iter().collect())
    };
    let converted = convert_numbers(tail, false);
    let split = split_block(&converted, protected.is_empty());
    let mut street: String = protected.iter().collect();
    street.extend(split.town_text.iter());
    if let Some(b) = &split.block {
        street.push_str(b);
    }
    address.street = street;
    address.block = split.block.clone();
    address.building = split.building;
    address.room = split.room;

    let keys = if let (Some(p), Some(c)) = (&address.prefecture, city_id.and_then(|c| g.city(c))) {
        address_keys(p, &c.short, &address)
    } else {
        flags.push(Flag::CityUnresolved);
        Vec::new()
    };
    AddressResult {
        address,
        flags,
        keys,
        city_id,
        town_id,
    }
}

/// Match keys: block ⊂ building ⊂ unit, each a plain string (hash it with
/// [`crate::key_hash`] before it leaves the process).
fn address_keys(pref: &str, city_short: &str, a: &Address) -> Vec<MatchKey> {
    let city: String = city_short.chars().map(fold_address_key).collect();
    let block = format!("{}|{}|{}", pref, city, skeleton(&a.street));
    let building = format!(
        "{}|{}",
        block,
        a.building.as_deref().map(building_key).unwrap_or_default()
    );
    let unit = format!("{}|{}", building, a.room.as_deref().unwrap_or(""));
    vec![
        MatchKey {
            name: KeyName::AddressUnit,
            value: unit,
        },
        MatchKey {
            name: KeyName::AddressBuilding,
            value: building,
        },
        MatchKey {
            name: KeyName::AddressBlock,
            value: block,
        },
    ]
}

fn building_key(b: &str) -> String {
    b.chars()
        .filter(|c| !is_space(*c) && !matches!(c, '-' | '・' | '、' | ','))
        .map(|c| crate::text::hira_to_kata_char(fold_address_key(c.to_ascii_lowercase())))
        .collect()
}

/// NFKC, control characters dropped, hyphen-like characters to `-` (the
/// long-vowel mark only next to a digit), whitespace runs to one space.
fn clean(input: &str) -> Vec<char> {
    let mut n: Vec<char> = Vec::with_capacity(input.len());
    for c in nfkc(input).chars() {
        if c.is_control() && !is_space(c) {
            continue;
        }
        // A combining mark with nothing to combine with (NFKC turns ´ into a
        // space and U+0301) would compose with whatever a removed space
        // brings next to it.
        if is_combining_mark(c) && n.last().is_none_or(|p: &char| is_space(*p)) {
            continue;
        }
        n.push(c);
    }
    let mut out: Vec<char> = Vec::with_capacity(n.len());
    for (i, &c) in n.iter().enumerate() {
        let prev = if i > 0 { n.get(i - 1).copied() } else { None };
        let next = n.get(i + 1).copied();
        let digitish =
            |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || is_kanji_numeral(c));
        let long_vowel_as_hyphen =
            is_long_vowel(c) && (digitish(prev) || (digitish(next) && !prev.is_some_and(is_kana)));
        let mapped = if is_hyphen_like(c) || long_vowel_as_hyphen {
            '-'
        } else if is_space(c) {
            ' '
        } else {
            c
        };
        if mapped == ' ' && (out.is_empty() || out.last() == Some(&' ')) {
            continue;
        }
        out.push(mapped);
    }
    while out.last() == Some(&' ') {
        out.pop();
    }
    out
}

/// `〒100-0013`, `100-0013`, `1000013` at the start. With a `〒` any digits
/// that follow are the code (and flagged when malformed); without one only
/// the two exact shapes count, so a street-only input like `12-45` survives.
fn take_postal_code(chars: &[char], flags: &mut Vec<Flag>) -> (Option<String>, usize) {
    let mut i = 0;
    let mut marked = false;
    if chars.first() == Some(&'〒') {
        marked = true;
        i = 1;
    } else if chars.starts_with(&['郵', '便', '番', '号']) {
        marked = true;
        i = 4;
        if matches!(chars.get(i), Some(':')) {
            i += 1;
        }
    }
    while chars.get(i) == Some(&' ') {
        i += 1;
    }
    let start = i;
    while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '-') {
        i += 1;
    }
    let run: Vec<char> = chars[start..i].to_vec();
    let digits: String = run.iter().filter(|c| c.is_ascii_digit()).collect();
    let shape_ok = (run.len() == 7 && digits.len() == 7)
        || (run.len() == 8 && run[3] == '-' && digits.len() == 7);
    let boundary = chars.get(i).is_none_or(|c| !c.is_ascii_alphanumeric());
    if shape_ok && boundary {
        return (Some(digits), i);
    }
    if marked {
        flags.push(Flag::PostalCodeInvalid);
        return (None, i);
    }
    (None, 0)
}

/// Spaces go, except one between two digits (`1-2-3 101`: block, then room).
fn remove_spaces(chars: &[char]) -> Vec<char> {
    let mut out = Vec::with_capacity(chars.len());
    for (i, &c) in chars.iter().enumerate() {
        if c == ' ' {
            // After a number a space ends the block (`1-3 東京ガーデンテラス`,
            // `1-2-3 101`) unless a block marker follows (`1 丁目`).
            let prev = out.last().copied();
            let next = chars.get(i + 1).copied();
            let marker_next = next.is_some_and(|n| {
                matches!(
                    n,
                    '丁' | '番' | '号' | '町' | '-' | 'の' | 'ノ' | '之' | '条' | '線'
                )
            });
            if prev.is_some_and(|p: char| p.is_ascii_digit()) && next.is_some() && !marker_next {
                out.push(' ');
            }
            continue;
        }
        out.push(c);
    }
    out
}

struct Admin {
    pref: Option<u8>,
    city: Option<CityId>,
    town: Option<(TownId, usize)>,
    consumed: usize,
}

/// A reading of the leading text: score, prefecture, municipality, town
/// match, and where the municipality ends.
type Reading = (
    Score,
    Option<u8>,
    Option<CityId>,
    Option<(TownId, usize)>,
    usize,
);

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Score {
    city_resolved: bool,
    town_matched: bool,
    pref_rank: u8,
    town_len: usize,
    city_len: usize,
}

/// Chooses the reading of the leading text as (prefecture, municipality)
/// that the gazetteer supports best; ties between different places leave
/// the municipality unresolved rather than guessing.
fn parse_admin(g: &Gazetteer, chars: &[char], flags: &mut Vec<Flag>) -> Admin {
    let folded: Vec<char> = chars.iter().map(|&c| gazetteer::fold_char(c)).collect();
    let fs: String = folded.iter().collect();
    let mut offsets: Vec<usize> = Vec::with_capacity(folded.len() + 1);
    let mut o = 0;
    for c in &folded {
        offsets.push(o);
        o += c.len_utf8();
    }
    offsets.push(o);
    let slice = |a: usize, b: usize| -> &str { &fs[offsets[a]..offsets[b]] };
    let n = folded.len();

    let mut pref_opts: Vec<(Option<u8>, usize, u8)> = Vec::with_capacity(3);
    for k in 2..=4.min(n) {
        if let Some(p) = g.pref_by_folded(slice(0, k)) {
            let full = g.is_full_pref_len(p, k);
            pref_opts.push((Some(p), k, if full { 2 } else { 1 }));
        }
    }
    // With a full prefecture name written, reading it as something else is
    // not worth the lookups.
    if !pref_opts.iter().any(|o| o.2 == 2) {
        pref_opts.push((None, 0, 0));
    }

    let mut best: Option<Reading> = None;
    let mut tie = false;
    let mut consider = |score: Score,
                        pref: Option<u8>,
                        city: Option<CityId>,
                        town: Option<(TownId, usize)>,
                        end: usize| {
        match &best {
            Some((s, p, c, _, _)) if *s == score => {
                if (*p, *c) != (pref, city) {
                    tie = true;
                }
            }
            Some((s, ..)) if *s > score => {}
            _ => {
                best = Some((score, pref, city, town, end));
                tie = false;
            }
        }
    };
    for &(pref, pref_end, pref_rank) in &pref_opts {
        let mut any_city = false;
        for k in 1..=CITY_CHARS_MAX.min(n - pref_end) {
            let s = slice(pref_end, pref_end + k);
            if !g.is_city_prefix(s) {
                break;
            }
            for &cid in g.cities_by_folded(s) {
                let Some(city) = g.city(cid) else { continue };
                if pref.is_some_and(|p| p != city.pref) {
                    continue;
                }
                any_city = true;
                let end = pref_end + k;
                let town = match_town_folded(g, cid, &folded[end..], &fs, &offsets, end);
                let score = Score {
                    city_resolved: true,
                    town_matched: town.is_some(),
                    pref_rank,
                    town_len: town.map_or(0, |t| t.1),
                    city_len: k,
                };
                consider(score, Some(city.pref), Some(cid), town, end);
            }
        }
        if !any_city {
            // No municipality: a town name alone may still place it.
            if let Some((cid, town, len)) =
                town_only(g, pref, &folded[pref_end..], &fs, &offsets, pref_end)
            {
                let Some(city) = g.city(cid) else { continue };
                let score = Score {
                    city_resolved: true,
                    town_matched: true,
                    pref_rank,
                    town_len: len,
                    city_len: 0,
                };
                consider(
                    score,
                    Some(city.pref),
                    Some(cid),
                    Some((town, len)),
                    pref_end,
                );
            } else if pref.is_some() {
                let score = Score {
                    city_resolved: false,
                    town_matched: false,
                    pref_rank,
                    town_len: 0,
                    city_len: 0,
                };
                consider(score, pref, None, None, pref_end);
            }
        }
    }
    let Some((score, pref, city, town, end)) = best else {
        return Admin {
            pref: None,
            city: None,
            town: None,
            consumed: 0,
        };
    };
    if tie {
        flags.push(Flag::CityAmbiguous);
        // Keep the prefecture only if every tied reading agreed on it.
        return Admin {
            pref: None,
            city: None,
            town: None,
            consumed: 0,
        };
    }
    if score.pref_rank == 0 && pref.is_some() {
        flags.push(Flag::PrefectureInferred);
    }
    if score.city_resolved && score.city_len == 0 {
        flags.push(Flag::CityInferred);
    }
    Admin {
        pref,
        city,
        town,
        consumed: end,
    }
}

/// Longest town of `city` that starts the (folded) text at `start`, after a
/// leading 大字/字. Returns the town and how many chars of the original text
/// it covers (the 大字 included).
fn match_town_folded(
    g: &Gazetteer,
    city: CityId,
    folded: &[char],
    fs: &str,
    offsets: &[usize],
    start: usize,
) -> Option<(TownId, usize)> {
    let skip = aza_prefix_len(folded);
    let from = start + skip;
    let avail = folded.len().saturating_sub(skip);
    let mut found = None;
    for k in 1..=TOWN_CHARS_MAX.min(avail) {
        let s = &fs[offsets[from]..offsets[from + k]];
        if !g.is_town_prefix(s) {
            break;
        }
        for &t in g.towns_by_folded(s) {
            if g.town(t).is_some_and(|t| t.city == city) {
                found = Some((t, skip + k));
            }
        }
    }
    found
}

/// Town match used after the municipality is settled (on the unfolded street).
fn match_town(g: &Gazetteer, city: CityId, rest: &[char]) -> Option<(TownId, usize)> {
    let folded: Vec<char> = rest.iter().map(|&c| gazetteer::fold_char(c)).collect();
    let fs: String = folded.iter().collect();
    let mut offsets = Vec::with_capacity(folded.len() + 1);
    let mut o = 0;
    for c in &folded {
        offsets.push(o);
        o += c.len_utf8();
    }
    offsets.push(o);
    // `rest` has had its 大字 removed already; the skip below finds nothing.
    match_town_folded(g, city, &folded, &fs, &offsets, 0)
}

/// A town name with no municipality before it (紀尾井町1-3). Accepted only
/// when the longest match names towns of a single municipality, and the
/// match is followed by a number or nothing (so 本町 does not claim 本町田).
fn town_only(
    g: &Gazetteer,
    pref: Option<u8>,
    folded: &[char],
    fs: &str,
    offsets: &[usize],
    start: usize,
) -> Option<(CityId, TownId, usize)> {
    let skip = aza_prefix_len(folded);
    let from = start + skip;
    let avail = folded.len().saturating_sub(skip);
    let mut best: Option<(usize, Vec<TownId>)> = None;
    for k in 1..=TOWN_CHARS_MAX.min(avail) {
        let s = &fs[offsets[from]..offsets[from + k]];
        if !g.is_town_prefix(s) {
            break;
        }
        if k < 2 {
            continue;
        }
        let towns: Vec<TownId> = g
            .towns_by_folded(s)
            .iter()
            .copied()
            .filter(|&t| {
                pref.is_none_or(|p| {
                    g.town(t)
                        .and_then(|t| g.city(t.city))
                        .is_some_and(|c| c.pref == p)
                })
            })
            .collect();
        if !towns.is_empty() {
            best = Some((k, towns));
        }
    }
    let (k, towns) = best?;
    let after = folded.get(skip + k).copied();
    if after.is_some_and(|c| !(c.is_ascii_digit() || c == '-' || is_kanji_numeral(c))) {
        return None;
    }
    let first_city = g.town(towns[0])?.city;
    if towns
        .iter()
        .all(|&t| g.town(t).is_some_and(|t| t.city == first_city))
    {
        Some((first_city, towns[0], skip + k))
    } else {
        None
    }
}

fn aza_prefix_len(folded: &[char]) -> usize {
    if folded.starts_with(&['大', '字']) {
        2
    } else if folded.first() == Some(&'字') {
        1
    } else {
        0
    }
}

/// Kyoto's street directions (寺町通御池上る上本能寺前町): the town follows the
/// last direction word, and the directions before it are dropped.
fn strip_kyoto_directions(rest: &[char]) -> Vec<char> {
    const MARKERS: [&str; 10] = [
        "東入る",
        "東入ル",
        "西入る",
        "西入ル",
        "上る",
        "上ル",
        "下る",
        "下ル",
        "東入",
        "西入",
    ];
    let s: String = rest.iter().collect();
    let mut cut: Option<usize> = None;
    for m in MARKERS {
        if let Some(i) = s.rfind(m) {
            let end = i + m.len();
            if cut.is_none_or(|c| end > c) {
                cut = Some(end);
            }
        }
    }
    match cut {
        Some(end) if end < s.len() => s[end..].chars().collect(),
        _ => rest.to_vec(),
    }
}

fn is_no(c: char) -> bool {
    matches!(c, 'の' | 'ノ' | '之' | '丿')
}

fn digitish(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_ascii_digit() || is_kanji_numeral(c))
}

/// Kanji numerals to digits where they are numbers (before 丁目/番/号/の+digit,
/// after a hyphen, at the end), then 丁目/番地/番/号/の to `-`.
///
/// With `aggressive` (match keys only) every kanji numeral becomes a digit
/// and a の between a number and a word is dropped.
fn convert_numbers(chars: &[char], aggressive: bool) -> Vec<char> {
    // Pass 1: kanji numeral runs.
    let mut out: Vec<char> = Vec::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_kanji_numeral(chars[i]) {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let mut j = i;
        while j < chars.len() && is_kanji_numeral(chars[j]) {
            j += 1;
        }
        let next = chars.get(j).copied();
        let next2 = chars.get(j + 1).copied();
        let prev = out.last().copied();
        let prev2 = if out.len() >= 2 {
            out.get(out.len() - 2).copied()
        } else {
            None
        };
        let convert = aggressive
            || matches!(next, None | Some('丁' | '番' | '号' | '-' | ' '))
            || (next == Some('町') && next2 == Some('目'))
            || (next.is_some_and(is_no) && (digitish(next2) || next2 == Some('町')))
            || prev.is_some_and(|p| p == '-' || p.is_ascii_alphanumeric())
            || (prev.is_some_and(is_no) && prev2.is_some_and(|p| p.is_ascii_digit()));
        match (convert, kanji_number_value(&chars[i..j])) {
            (true, Some(v)) => out.extend(v.to_string().chars()),
            _ => out.extend_from_slice(&chars[i..j]),
        }
        i = j;
    }
    // Pass 2: markers after a digit.
    const MARKERS: [&[char]; 9] = [
        &['丁', '目'],
        &['町', '目'],
        &['番', '町'],
        &['番', '丁'],
        &['番', '地'],
        &['地', '番'],
        &['丁'],
        &['番'],
        &['号'],
    ];
    let src = out;
    let mut out: Vec<char> = Vec::with_capacity(src.len());
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        let after_digit = out.last().is_some_and(|p: &char| p.is_ascii_digit());
        if after_digit {
            if let Some(m) = MARKERS.iter().find(|m| src[i..].starts_with(m)) {
                // 号室 is a room, not a lot number.
                let is_room = m == &&['号'][..] && src.get(i + 1) == Some(&'室');
                if !is_room {
                    out.push('-');
                    i += m.len();
                    if src.get(i).copied().is_some_and(is_no)
                        && src.get(i + 1).is_some_and(|c| c.is_ascii_digit())
                    {
                        i += 1;
                    }
                    continue;
                }
            }
            if is_no(c) {
                let n1 = src.get(i + 1).copied();
                let n2 = src.get(i + 2).copied();
                if n1.is_some_and(|c| c.is_ascii_digit()) {
                    out.push('-');
                    i += 1;
                    continue;
                }
                if n1 == Some('町') {
                    out.push('-');
                    i += 2;
                    continue;
                }
                if n1.is_some_and(|c| !c.is_ascii_digit() && c != ' ')
                    && n2.is_some_and(|c| c.is_ascii_digit())
                {
                    out.push('-');
                    i += 1;
                    continue;
                }
                if aggressive {
                    i += 1;
                    continue;
                }
            }
        }
        if c == '-' && out.last() == Some(&'-') {
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

struct Split {
    town_text: Vec<char>,
    block: Option<String>,
    building: Option<String>,
    room: Option<String>,
}

/// Splits the converted street into town text, the block chain
/// (`NUM(-NUM)*`, also `-イ22`, `14-北1`, `1条西2`) and what follows
/// (building, room).
fn split_block(chars: &[char], _town_unknown: bool) -> Split {
    let Some(start) = chars.iter().position(|c| c.is_ascii_digit()) else {
        let town_text: String = chars.iter().collect();
        let town_text = town_text.trim_matches([' ', '-']).chars().collect();
        return Split {
            town_text,
            block: None,
            building: None,
            room: None,
        };
    };
    let mut numbers: Vec<(usize, usize)> = Vec::new();
    let mut i = start;
    loop {
        let ns = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        numbers.push((ns, i));
        if numbers.len() >= BLOCK_NUMBERS_MAX {
            break;
        }
        let c0 = chars.get(i).copied();
        let c1 = chars.get(i + 1).copied();
        let c2 = chars.get(i + 2).copied();
        let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
        let word = |c: Option<char>| c.is_some_and(|c| c != ' ' && c != '-' && !c.is_ascii_digit());
        if c0 == Some('-') && digit(c1) {
            i += 1;
        } else if c0 == Some('-') && word(c1) && digit(c2) {
            i += 2;
        } else if matches!(c0, Some('条' | '線')) && digit(c1) {
            i += 1;
        } else if matches!(c0, Some('条' | '線'))
            && matches!(c1, Some('東' | '西' | '南' | '北'))
            && digit(c2)
        {
            i += 2;
        } else {
            break;
        }
    }
    let end = numbers.last().map_or(start, |n| n.1);
    let mut block: String = chars[start..end].iter().collect();
    let mut rest: &[char] = &chars[end..];
    while let Some((&c, r)) = rest.split_first() {
        if matches!(c, '-' | ' ' | '、' | ',') {
            rest = r;
        } else {
            break;
        }
    }
    let (mut btext, building, mut room) = trailing_text(rest);
    // Building text before a room that had no building name is building text.
    let mut building = building;
    if !btext.is_empty() {
        let t: String = btext.drain(..).collect();
        building = Some(match building {
            Some(b) => format!("{t}{b}"),
            None => t,
        });
    }
    // 1-3-1-101: a fourth number is the room.
    if numbers.len() >= 4
        && room.is_none()
        && building.is_none()
        && let Some(&(ns, ne)) = numbers.last()
    {
        room = Some(chars[ns..ne].iter().collect());
        let cut = chars[start..ns].iter().collect::<String>();
        block = cut.trim_end_matches(['-', ' ']).to_string();
    }
    let town_text = chars[..start].to_vec();
    Split {
        town_text,
        block: Some(block),
        building,
        room,
    }
}

/// Splits trailing text into (text, building, room). With no block number
/// before it the whole text is town text, and nothing is a building.
fn trailing_text(chars: &[char]) -> (Vec<char>, Option<String>, Option<String>) {
    let s: String = chars.iter().collect();
    let s = s.trim_matches([' ', '-']).to_string();
    if s.is_empty() {
        return (Vec::new(), None, None);
    }
    // A block marker left at the front (`10番　号`) would become a hyphen when
    // the canonical form is parsed again: it is not part of a building name.
    let mut body = s.as_str();
    loop {
        let before = body;
        for m in ["丁目", "町目", "番地", "番", "号", "丁", "-", " "] {
            if body.starts_with(m) && !body.starts_with("号室") {
                body = &body[m.len()..];
            }
        }
        if before == body {
            break;
        }
    }
    if body.is_empty() {
        return (Vec::new(), None, None);
    }
    // Room: digits (with an optional letter) at the end, before 号室/号/室 or not.
    for suffix in ["号室", "号", "室"] {
        if let Some(b) = body.strip_suffix(suffix)
            && b.ends_with(|c: char| c.is_ascii_digit())
        {
            body = b;
            break;
        }
    }
    let room_start = body
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit() || c.is_ascii_uppercase())
        .last()
        .map(|(i, _)| i);
    let has_digit = |t: &str| t.chars().any(|c| c.is_ascii_digit());
    match room_start {
        Some(i) if has_digit(&body[i..]) && body[i..].chars().count() <= 8 => {
            let room = body[i..].to_string();
            let building = body[..i].trim_matches([' ', '-']).to_string();
            (
                Vec::new(),
                (!building.is_empty()).then_some(building),
                Some(room),
            )
        }
        _ => (Vec::new(), Some(body.to_string()), None),
    }
}

/// The match-key form of a street or municipality name: every variant
/// folded, 大字/字 dropped, every kanji numeral a digit, every block marker a
/// hyphen.
pub fn skeleton(s: &str) -> String {
    let mut chars: Vec<char> = Vec::with_capacity(s.len());
    let src: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < src.len() {
        let c = src[i];
        if c == '大' && src.get(i + 1) == Some(&'字') {
            i += 2;
            continue;
        }
        if c == '字' && chars.last() != Some(&'十') {
            i += 1;
            continue;
        }
        if c == '穝' {
            chars.extend(['さ', 'い']);
            i += 1;
            continue;
        }
        if c != ' ' {
            chars.push(fold_address_key(c));
        }
        i += 1;
    }
    let out = convert_numbers(&chars, true);
    let s: String = out.into_iter().collect();
    s.trim_matches('-').to_string()
}

/// Whether a postal code covers the address: the code must be a known one,
/// and the address's municipality (and town, when recognised) must be among
/// the places the code covers.
pub fn postal_code_matches(postal: &str, address: &str) -> bool {
    let mut flags = Vec::new();
    let cleaned = clean(postal);
    let (code, _) = take_postal_code(&cleaned, &mut flags);
    let code = match code {
        Some(c) => c,
        None => {
            let mut with_mark = vec!['〒'];
            with_mark.extend(cleaned);
            match take_postal_code(&with_mark, &mut flags).0 {
                Some(c) => c,
                None => return false,
            }
        }
    };
    let Ok(code) = code.parse::<u32>() else {
        return false;
    };
    let g = gazetteer::get();
    let rows = g.postal_rows(code);
    let parsed = normalize_address(address);
    let Some(city) = parsed.city_id else {
        return false;
    };
    let in_city: Vec<&(u32, CityId, TownId)> = rows.iter().filter(|r| r.1 == city).collect();
    if in_city.is_empty() {
        return false;
    }
    match parsed.town_id {
        None => true,
        Some(t) => in_city
            .iter()
            .any(|r| r.2 == t || r.2 == u32::MAX && !town_has_other_code(g, t, code)),
    }
}

/// A code for "the rest of the municipality" covers a town only if the town
/// has no code of its own.
fn town_has_other_code(g: &Gazetteer, town: TownId, code: u32) -> bool {
    g.postal.iter().any(|r| r.2 == town && r.0 != code)
}
