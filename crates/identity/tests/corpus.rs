//! The external corpora in `shared/data` (see its README for provenance) run
//! as tests. Each test prints its pass rate; the rates are recorded in the
//! `## Identity` section of BENCHMARKS.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use atobarai_identity::{EmailOptions, KeyName, Kind, normalize, normalize_email_with};

fn corpus(name: &str) -> Option<Vec<BTreeMap<String, String>>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data")
        .join(name);
    if !path.exists() {
        println!("skipped: corpus not found at {}", path.display());
        return None;
    }
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(b'\t')
        .quoting(true)
        .from_path(&path)
        .expect("open corpus");
    let headers = rdr.headers().expect("headers").clone();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.expect("row");
        rows.push(
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect(),
        );
    }
    Some(rows)
}

fn block_key(input: &str) -> Option<String> {
    normalize(Kind::Address, input)
        .key(KeyName::AddressBlock)
        .map(str::to_string)
}

/// Source: jp_address_groups.tsv, derived from geolonia/normalize-japanese-addresses,
/// digital-go-jp/abr-geocoder and YuukiToriyama/japanese-address-parser test data (MIT).
#[test]
fn address_groups_share_a_block_key() {
    let Some(rows) = corpus("jp_address_groups.tsv") else {
        return;
    };
    let mut pairs = 0;
    let mut shared = 0;
    let mut failures = Vec::new();
    // key → set of normalized_key values whose inputs produced it.
    let mut owners: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for row in &rows {
        let inputs: Vec<&str> = row["inputs"].split(" ||| ").collect();
        let keys: Vec<Option<String>> = inputs.iter().map(|i| block_key(i)).collect();
        for k in keys.iter().flatten() {
            owners
                .entry(k.clone())
                .or_default()
                .insert(row["normalized_key"].clone());
        }
        for i in 0..inputs.len() {
            for j in i + 1..inputs.len() {
                pairs += 1;
                if keys[i].is_some() && keys[i] == keys[j] {
                    shared += 1;
                } else {
                    failures.push(format!(
                        "{}: {} => {:?}\n       {} => {:?}",
                        row["group_id"], inputs[i], keys[i], inputs[j], keys[j]
                    ));
                }
            }
        }
    }
    let rate = shared as f64 / pairs as f64;
    println!(
        "address groups: {shared}/{pairs} same-address pairs share the block key ({:.2}%)",
        rate * 100.0
    );
    for f in &failures {
        println!("  MISS {f}");
    }
    // Groups whose canonical keys differ but that are one place, or one
    // block with different buildings. Each entry says why.
    let allowed: &[(&str, &str, &str)] = &[
        (
            "京都府宇治市莵道森本8-10",
            "京都府宇治市菟道森本8-10",
            "the same place: geolonia v2 and v3 spell 莵/菟 differently in their expected output",
        ),
        (
            "東京都千代田区紀尾井町1-3",
            "東京都千代田区紀尾井町1-3東京ガーデンテラス紀尾井町19階、20階",
            "the same block; the second adds a building, and the building keys differ",
        ),
        (
            "青森県南津軽郡田舎館村大字田舎舘字中辻123-1",
            "青森県南津軽郡田舎館村大字田舎舘字中辻123番地1",
            "the same place: the parser's expected outputs write 123-1 and 123番地1 for it",
        ),
    ];
    let mut collisions = Vec::new();
    for (k, owners) in &owners {
        if owners.len() > 1 {
            let v: Vec<&String> = owners.iter().collect();
            let ok = v.len() == 2
                && allowed
                    .iter()
                    .any(|(a, b, _)| (v[0] == a && v[1] == b) || (v[0] == b && v[1] == a));
            if !ok {
                collisions.push(format!("{k} <- {owners:?}"));
            }
        }
    }
    for c in &collisions {
        println!("  COLLISION {c}");
    }
    assert!(rate >= 0.99, "block-key pair rate {rate:.4} < 0.99");
    assert!(
        collisions.is_empty(),
        "{} block keys shared across groups",
        collisions.len()
    );
}

/// Source: jp_address_hard_negatives.tsv, derived from the hand-written rows of
/// geolonia/normalize-japanese-addresses test/main.test.ts@v2.9.2 (MIT).
#[test]
fn address_hard_negatives_stay_apart() {
    let Some(rows) = corpus("jp_address_hard_negatives.tsv") else {
        return;
    };
    let mut apart = 0;
    for row in &rows {
        let (a, b) = (block_key(&row["input_a"]), block_key(&row["input_b"]));
        assert!(
            a.is_some() && b.is_some(),
            "{} / {} did not resolve",
            row["input_a"],
            row["input_b"]
        );
        if a != b {
            apart += 1;
        } else {
            println!("  SAME {} / {} => {a:?}", row["input_a"], row["input_b"]);
        }
    }
    println!("address hard negatives: {apart}/{} kept apart", rows.len());
    assert_eq!(apart, rows.len());
}

/// Source: jp_address_cases.tsv (geolonia/normalize-japanese-addresses v3.1.3 and
/// v2.9.2, digital-go-jp/abr-geocoder, YuukiToriyama/japanese-address-parser; MIT).
/// Checks the prefecture and municipality we resolve against the upstream
/// expectations, and that every input normalizes without panicking to a
/// canonical form that normalizes to itself.
#[test]
fn address_cases_prefecture_city_and_idempotence() {
    let Some(rows) = corpus("jp_address_cases.tsv") else {
        return;
    };
    let (mut pref_total, mut pref_ok, mut city_total, mut city_ok) = (0, 0, 0, 0);
    let mut idem_total = 0;
    let mut idem_fail = Vec::new();
    let mut city_miss = Vec::new();
    let mut seen = BTreeSet::new();
    for row in &rows {
        let input = &row["input"];
        let n = normalize(Kind::Address, input);
        let d = match &n.detail {
            atobarai_identity::Detail::Address(a) => Some(a.clone()),
            _ => None,
        };
        let pref = d
            .as_ref()
            .and_then(|a| a.prefecture.clone())
            .unwrap_or_default();
        let city = d.as_ref().and_then(|a| a.city.clone()).unwrap_or_default();
        if !row["expected_pref"].is_empty() {
            pref_total += 1;
            if pref == row["expected_pref"] {
                pref_ok += 1;
            }
        }
        if !row["expected_city"].is_empty() {
            city_total += 1;
            // Upstreams differ on writing the county; compare without it.
            let strip = |c: &str| atobarai_identity::gazetteer::county_stripped(c).to_string();
            let fold = |c: &str| atobarai_identity::gazetteer::fold(&strip(c));
            if fold(&city) == fold(&row["expected_city"]) {
                city_ok += 1;
            } else if seen.insert(input.clone()) {
                city_miss.push(format!(
                    "{input} => {city:?} (expected {})",
                    row["expected_city"]
                ));
            }
        }
        if let Some(c) = &n.canonical {
            idem_total += 1;
            let again = normalize(Kind::Address, c);
            if again.canonical.as_ref() != Some(c) || again.keys != n.keys {
                idem_fail.push(format!("{input} => {c} => {:?}", again.canonical));
            }
        }
    }
    println!(
        "address cases: prefecture {pref_ok}/{pref_total} ({:.2}%), municipality {city_ok}/{city_total} ({:.2}%), idempotent {}/{idem_total}",
        100.0 * pref_ok as f64 / pref_total as f64,
        100.0 * city_ok as f64 / city_total as f64,
        idem_total - idem_fail.len()
    );
    for m in city_miss.iter().take(60) {
        println!("  CITY {m}");
    }
    for f in idem_fail.iter().take(30) {
        println!("  IDEM {f}");
    }
    assert!(
        idem_fail.is_empty(),
        "{} canonical forms are not fixed points",
        idem_fail.len()
    );
    assert!(pref_ok as f64 >= 0.995 * pref_total as f64);
    assert!(city_ok as f64 >= 0.995 * city_total as f64);
}

/// Source: email_cases.tsv, from validatorjs/validator.js
/// test/sanitizers/normalizeEmail.test.js@4a6d5f2 (MIT), re-checked against
/// npm validator 13.15.35. Every case must pass; there are no exceptions.
#[test]
fn email_cases_match_validator_js() {
    let Some(rows) = corpus("email_cases.tsv") else {
        return;
    };
    let mut ok = 0;
    let mut fails = Vec::new();
    for row in &rows {
        let opts: EmailOptions = if row["options"].is_empty() {
            EmailOptions::default()
        } else {
            serde_json::from_str(&row["options"]).expect("options json")
        };
        let got = normalize_email_with(&row["input"], &opts);
        let expected = if row["expected"] == "<invalid:false>" {
            None
        } else {
            Some(row["expected"].clone())
        };
        if got == expected {
            ok += 1;
        } else {
            fails.push(format!(
                "{} {:?} => {got:?} expected {expected:?}",
                row["input"], row["options"]
            ));
        }
    }
    println!("email cases: {ok}/{} as validator.js", rows.len());
    for f in &fails {
        println!("  FAIL {f}");
    }
    assert!(fails.is_empty());
}

/// Source: phone_cases.tsv: JP example numbers from google/libphonenumber's
/// PhoneNumberMetadata.xml and AsYouTypeFormatter test, written in 20 formats;
/// expectations from phonenumbers 9.0.43 and libphonenumber-js 1.13.16.
#[test]
fn phone_cases_match_libphonenumber() {
    let Some(rows) = corpus("phone_cases.tsv") else {
        return;
    };
    // Variants where we knowingly differ, with the reason.
    let exceptions: &[(&str, &str)] = &[];
    let mut ok = 0;
    let mut excused = 0;
    let mut fails = Vec::new();
    for row in &rows {
        let got =
            atobarai_identity::phone::normalize_phone_in(&row["input"], &row["default_region"])
                .map(|(p, _)| p.e164)
                .unwrap_or_default();
        if got == row["expected_e164"] {
            ok += 1;
        } else if let Some((_, why)) = exceptions.iter().find(|(v, _)| *v == row["variant"]) {
            excused += 1;
            println!(
                "  EXCUSED {} ({}) => {got:?}, expected {:?}: {why}",
                row["input"], row["variant"], row["expected_e164"]
            );
        } else {
            fails.push(format!(
                "{} ({}) => {got:?}, expected {:?}",
                row["input"], row["variant"], row["expected_e164"]
            ));
        }
    }
    println!(
        "phone cases: {ok}/{} as expected, {excused} written exceptions",
        rows.len()
    );
    for f in &fails {
        println!("  FAIL {f}");
    }
    assert!(fails.is_empty());
}

fn text_opts(extra: &str) -> serde_json::Value {
    if extra.is_empty() {
        return serde_json::Value::Null;
    }
    let v: serde_json::Value = serde_json::from_str(extra).expect("extra_args json");
    v.get(0).cloned().unwrap_or(serde_json::Value::Null)
}

/// Applies `f` to every char not in `ignore`.
fn per_char(s: &str, ignore: &str, f: impl Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut run = String::new();
    for c in s.chars() {
        if ignore.contains(c) {
            out.push_str(&f(&run));
            run.clear();
            out.push(c);
        } else {
            run.push(c);
        }
    }
    out.push_str(&f(&run));
    out
}

/// Source: jp_text_normalization_cases.tsv, the unit tests of neologdn 0.5.6
/// (Apache-2.0) and jaconv 0.5.0 (MIT). Our text primitives (`text` module)
/// are checked against them. Romanization (kana2alphabet, alphabet2kana),
/// Julius phonemes (hiragana2julius) and shortening repeated phrases
/// (shorten_repeat) are not identity normalization and are not implemented:
/// those rows are listed as exceptions.
#[test]
fn text_cases_match_neologdn_and_jaconv() {
    use atobarai_identity::text;
    let Some(rows) = corpus("jp_text_normalization_cases.tsv") else {
        return;
    };
    let (mut ok, mut out_of_scope) = (0, 0);
    let mut fails = Vec::new();
    for row in &rows {
        let input = row["input"].as_str();
        let o = text_opts(&row["extra_args"]);
        let ignore = o
            .get("ignore")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let flag = |k: &str, default: bool| o.get(k).and_then(|v| v.as_bool()).unwrap_or(default);
        let got = match row["function"].as_str() {
            "normalize" if row["source"].starts_with("jaconv") => {
                text::nfkc(input).replace(['〜', '～'], "ー")
            }
            "normalize" => {
                let tilde = match o.get("tilde").and_then(|v| v.as_str()) {
                    Some("normalize") => text::Tilde::Normalize,
                    Some("normalize_zenkaku") => text::Tilde::NormalizeZenkaku,
                    Some("ignore") => text::Tilde::Ignore,
                    _ => text::Tilde::Remove,
                };
                text::neologdn(input, flag("remove_space", true), tilde)
            }
            "hira2kata" => per_char(input, &ignore, text::hira_to_kata),
            "kata2hira" => per_char(input, &ignore, text::kata_to_hira),
            "hira2hkata" => per_char(input, &ignore, |s| {
                text::kata_to_halfwidth(&text::hira_to_kata(s))
            }),
            "h2z" => per_char(input, &ignore, |s| {
                let s = if flag("kana", true) {
                    text::halfwidth_kana_to_full(s)
                } else {
                    s.to_string()
                };
                s.chars()
                    .map(|c| match c {
                        '!'..='~' if c.is_ascii_digit() && flag("digit", false) => {
                            char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)
                        }
                        '!'..='~' if !c.is_ascii_digit() && flag("ascii", false) => {
                            char::from_u32(c as u32 + 0xFEE0).unwrap_or(c)
                        }
                        ' ' if flag("ascii", false) => '\u{3000}',
                        _ => c,
                    })
                    .collect()
            }),
            "z2h" => per_char(input, &ignore, |s| {
                let s = if flag("kana", true) {
                    text::kata_to_halfwidth(s)
                } else {
                    s.to_string()
                };
                s.chars()
                    .map(|c| match c {
                        '\u{FF10}'..='\u{FF19}' if flag("digit", false) => {
                            char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
                        }
                        '\u{FF01}'..='\u{FF5E}'
                            if !('\u{FF10}'..='\u{FF19}').contains(&c) && flag("ascii", false) =>
                        {
                            char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
                        }
                        '\u{3000}' if flag("ascii", false) => ' ',
                        _ => c,
                    })
                    .collect()
            }),
            "enlarge_smallkana" => {
                let ignore: String = serde_json::from_str::<Vec<String>>(&row["extra_args"])
                    .ok()
                    .and_then(|v| v.into_iter().next())
                    .unwrap_or_default();
                input
                    .chars()
                    .map(|c| {
                        if ignore.contains(c) {
                            c
                        } else {
                            text::enlarge_small_kana_char(c)
                        }
                    })
                    .collect()
            }
            "kana2alphabet" | "alphabet2kana" | "hiragana2julius" | "shorten_repeat" => {
                out_of_scope += 1;
                continue;
            }
            other => panic!("unknown function {other}"),
        };
        if got == row["expected"] {
            ok += 1;
        } else {
            fails.push(format!(
                "{} {input:?} {} => {got:?}, expected {:?}",
                row["function"], row["extra_args"], row["expected"]
            ));
        }
    }
    println!(
        "text cases: {ok}/{} as upstream, {out_of_scope} out of scope (romanization, phonemes, repeats)",
        rows.len() - out_of_scope
    );
    for f in &fails {
        println!("  FAIL {f}");
    }
    assert!(fails.is_empty());
}
