//! The calendar's public holidays for 2016–2027 must equal, date for date and
//! name for name, the table in `data/holidays_jp_2016_2027.csv`, which was
//! generated from an independent source (the Python package `holidays`,
//! dates cross-checked with `jpholiday`; see the file's first line and
//! `data/regen_holidays.py`). No Python is needed to run this test.

use atobarai_billing::calendar::{Holiday, holiday, holidays_of_year, is_business_day};
use atobarai_core::JstDate;
use std::collections::BTreeMap;

const SOURCE: &str = include_str!("../data/holidays_jp_2016_2027.csv");
const FIRST_YEAR: i16 = 2016;
const LAST_YEAR: i16 = 2027;

/// The source's rows, date → name, after the comment and header lines.
fn source() -> BTreeMap<JstDate, &'static str> {
    let mut lines = SOURCE.lines().filter(|l| !l.starts_with('#'));
    assert_eq!(lines.next(), Some("date,name_ja"), "header line");
    let mut out = BTreeMap::new();
    for line in lines.filter(|l| !l.trim().is_empty()) {
        let (date, name) = line
            .split_once(',')
            .unwrap_or_else(|| panic!("bad row {line:?}"));
        let date = JstDate::parse(date).unwrap_or_else(|e| panic!("bad date {line:?}: {e:?}"));
        assert!(
            out.insert(date, name).is_none(),
            "duplicate date {date} in the source"
        );
    }
    out
}

/// The name the source uses for our holiday. Our names follow the Cabinet
/// Office list (both substitute and citizens' holidays are 休日 there, the
/// 2019 enthronement days 休日（祝日扱い）); the source names those by kind.
fn source_name(h: Holiday) -> &'static str {
    match h {
        Holiday::Substitute => "振替休日",
        Holiday::Citizens => "国民の休日",
        Holiday::EnthronementDay => "天皇の即位の日",
        Holiday::EnthronementCeremony2019 => "即位礼正殿の儀が行われる日",
        other => other.name_ja(),
    }
}

#[test]
fn source_covers_exactly_the_years_checked() {
    let src = source();
    let first = src.keys().next().expect("source is empty");
    let last = src.keys().next_back().expect("source is empty");
    assert_eq!(first.year(), FIRST_YEAR);
    assert_eq!(last.year(), LAST_YEAR);
    for year in FIRST_YEAR..=LAST_YEAR {
        let n = src.keys().filter(|d| d.year() == year).count();
        assert!((15..=25).contains(&n), "{year}: {n} holidays in the source");
    }
    assert!(SOURCE.starts_with("# source: Python package holidays "));
}

#[test]
fn calendar_equals_the_source_2016_to_2027() {
    let src = source();
    let ours: BTreeMap<JstDate, Holiday> = (FIRST_YEAR..=LAST_YEAR)
        .flat_map(|y| holidays_of_year(y).into_owned())
        .collect();

    let missing: Vec<String> = src
        .iter()
        .filter(|(d, _)| !ours.contains_key(*d))
        .map(|(d, n)| format!("{d} {n}"))
        .collect();
    let extra: Vec<String> = ours
        .iter()
        .filter(|(d, _)| !src.contains_key(*d))
        .map(|(d, h)| format!("{d} {} ({h:?})", h.name_ja()))
        .collect();
    let renamed: Vec<String> = ours
        .iter()
        .filter_map(|(d, h)| {
            let theirs = src.get(d)?;
            (source_name(*h) != *theirs)
                .then(|| format!("{d}: ours {} ({h:?}), source {theirs}", h.name_ja()))
        })
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && renamed.is_empty(),
        "calendar differs from the source\nmissing: {missing:#?}\nextra: {extra:#?}\nrenamed: {renamed:#?}"
    );
}

#[test]
fn every_day_2016_to_2027_agrees_with_the_source() {
    let src = source();
    let mut day = JstDate::new(FIRST_YEAR, 1, 1).unwrap();
    while day.year() <= LAST_YEAR {
        let expected = src.get(&day).copied();
        assert_eq!(holiday(day).map(source_name), expected, "{day}");
        if expected.is_some() {
            assert!(!is_business_day(day), "{day} is a holiday");
        }
        day = day.plus_days(1).unwrap();
    }
}
