//! The Japanese business-day calendar: public holidays by the rules of the
//! Act on National Holidays (国民の祝日に関する法律, 昭和23年法律第178号) and
//! the banks' year-end closure.
//!
//! # Rules implemented (supported years 1980–2099)
//!
//! National holidays (国民の祝日, Art. 2), with the year each rule applied:
//!
//! | holiday | date |
//! |---|---|
//! | 元日 | Jan 1 |
//! | 成人の日 | Jan 15 until 1999; 2nd Monday of January from 2000 (Happy Monday) |
//! | 建国記念の日 | Feb 11 |
//! | 天皇誕生日 | Apr 29 until 1988; Dec 23 1989–2018; none in 2019; Feb 23 from 2020 |
//! | 春分の日 | vernal equinox day (formula below) |
//! | みどりの日 → 昭和の日 | Apr 29: みどりの日 1989–2006, 昭和の日 from 2007 |
//! | 憲法記念日 | May 3 |
//! | みどりの日 | May 4 from 2007 (before, May 4 was a citizens' holiday, see below) |
//! | こどもの日 | May 5 |
//! | 海の日 | Jul 20 1996–2002; 3rd Monday of July from 2003; Jul 23 in 2020 and Jul 22 in 2021 (Olympic special measures) |
//! | 山の日 | Aug 11 from 2016; Aug 10 in 2020 and Aug 8 in 2021 |
//! | 敬老の日 | Sep 15 until 2002; 3rd Monday of September from 2003 |
//! | 秋分の日 | autumnal equinox day (formula below) |
//! | 体育の日 → スポーツの日 | Oct 10 until 1999; 2nd Monday of October 2000–2019 (体育の日); スポーツの日 from 2020, on Jul 24 in 2020 and Jul 23 in 2021 |
//! | 文化の日 | Nov 3 |
//! | 勤労感謝の日 | Nov 23 |
//!
//! One-off days treated as national holidays by special acts: 1989-02-24
//! (昭和天皇の大喪の礼), 1990-11-12 (即位礼正殿の儀), 1993-06-09 (皇太子徳仁親王の
//! 結婚の儀), 2019-05-01 (天皇の即位の日) and 2019-10-22 (即位礼正殿の儀).
//!
//! Substitute holiday (振替休日, Art. 3(2)): when a national holiday falls on a
//! Sunday, the nearest following day that is not a national holiday is a
//! holiday (from 2007; before 2007 only the Monday right after, which gives
//! the same dates in every year of our range).
//!
//! Citizens' holiday (国民の休日, Art. 3(3), from 1985-12-27): a day that is
//! not a national holiday and whose previous and next days both are, is a
//! holiday. Before 2007 the law excluded Sundays and substitute holidays; we
//! apply that exclusion in every year, which changes nothing after 2007
//! (the only sandwiched day since then is the Tuesday between 敬老の日 and 秋分の日,
//! e.g. 2026-09-22). This rule, with 2019-05-01 counting as a national
//! holiday, yields 2019-04-30 and 2019-05-02.
//!
//! # Equinox days
//!
//! The law names the astronomical equinox day; the official date is fixed
//! each February in the 官報 (暦要項 of the National Astronomical Observatory
//! of Japan) for the following year. We compute it with the widely published
//! approximation formula, valid for 1980–2099 (derived from the 海上保安庁水路部
//! ephemeris; quoted e.g. in the Japanese Wikipedia articles 春分の日 and 秋分の日):
//!
//! ```text
//! vernal    = floor(20.8431 + 0.242194 × (Y − 1980) − floor((Y − 1980) / 4))
//! autumnal  = floor(23.2488 + 0.242194 × (Y − 1980) − floor((Y − 1980) / 4))
//! ```
//!
//! in integer arithmetic with the constants scaled by 10⁶ (for Y ≥ 1980 every
//! term is non-negative, so integer division is floor):
//!
//! ```text
//! vernal   = (20_843_100 + 242_194 × (Y − 1980)) / 1_000_000 − (Y − 1980) / 4
//! autumnal = (23_248_800 + 242_194 × (Y − 1980)) / 1_000_000 − (Y − 1980) / 4
//! ```
//!
//! The day a future year's equinox is announced may differ from the formula
//! near its limits; a differing announcement would be a one-line override.
//!
//! # Business days (銀行営業日)
//!
//! [`is_business_day`] answers "can a bank debit settle on this day": not a
//! Saturday or Sunday, not a holiday above, and not Dec 31–Jan 3, when
//! Japanese banks are closed (銀行法施行令 第5条: 12月31日から翌年1月3日まで).
//! Dec 31, Jan 2 and Jan 3 are *bank holidays* ([`is_bank_holiday`]), not
//! public holidays, and [`holiday_name`] does not name them.
//!
//! Outside 1980–2099 the same rules are applied with the current law's
//! dates; results there are not guaranteed. Nothing here panics.

use atobarai_core::JstDate;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// First and last year the rules above are verified for.
pub const YEAR_SUPPORTED_MIN: i16 = 1980;
pub const YEAR_SUPPORTED_MAX: i16 = 2099;
/// The longest run of non-business days we search across (Golden Week 2019
/// was 10 days; New Year with a weekend at most 6).
pub const NON_BUSINESS_RUN_DAYS_MAX: i32 = 31;

/// Why a day is a public holiday.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Holiday {
    NewYearsDay,
    ComingOfAgeDay,
    NationalFoundationDay,
    EmperorsBirthday,
    VernalEquinoxDay,
    /// Apr 29 from 2007.
    ShowaDay,
    ConstitutionMemorialDay,
    /// Apr 29 1989–2006, May 4 from 2007.
    GreeneryDay,
    ChildrensDay,
    MarineDay,
    MountainDay,
    RespectForTheAgedDay,
    AutumnalEquinoxDay,
    /// 体育の日, until 2019.
    HealthAndSportsDay,
    /// スポーツの日, from 2020.
    SportsDay,
    CultureDay,
    LaborThanksgivingDay,
    /// 1989-02-24.
    ShowaFuneral,
    /// 1990-11-12 and 2019-10-22.
    EnthronementCeremony,
    /// 1993-06-09.
    RoyalWedding,
    /// 2019-05-01.
    EnthronementDay,
    /// 振替休日.
    Substitute,
    /// 国民の休日.
    Citizens,
}

impl Holiday {
    /// The name as the Cabinet Office lists it; substitute and citizens'
    /// holidays are both listed as 休日 there.
    pub const fn name_ja(self) -> &'static str {
        match self {
            Holiday::NewYearsDay => "元日",
            Holiday::ComingOfAgeDay => "成人の日",
            Holiday::NationalFoundationDay => "建国記念の日",
            Holiday::EmperorsBirthday => "天皇誕生日",
            Holiday::VernalEquinoxDay => "春分の日",
            Holiday::ShowaDay => "昭和の日",
            Holiday::ConstitutionMemorialDay => "憲法記念日",
            Holiday::GreeneryDay => "みどりの日",
            Holiday::ChildrensDay => "こどもの日",
            Holiday::MarineDay => "海の日",
            Holiday::MountainDay => "山の日",
            Holiday::RespectForTheAgedDay => "敬老の日",
            Holiday::AutumnalEquinoxDay => "秋分の日",
            Holiday::HealthAndSportsDay => "体育の日",
            Holiday::SportsDay => "スポーツの日",
            Holiday::CultureDay => "文化の日",
            Holiday::LaborThanksgivingDay => "勤労感謝の日",
            Holiday::ShowaFuneral => "昭和天皇の大喪の礼",
            Holiday::EnthronementCeremony => "即位礼正殿の儀",
            Holiday::RoyalWedding => "結婚の儀",
            Holiday::EnthronementDay => "休日（祝日扱い）",
            Holiday::Substitute | Holiday::Citizens => "休日",
        }
    }

    /// A national holiday proper (国民の祝日, or a day a special act treats as
    /// one), as opposed to a substitute or citizens' holiday.
    pub const fn is_national(self) -> bool {
        !matches!(self, Holiday::Substitute | Holiday::Citizens)
    }
}

/// Vernal equinox day of March of `year` (formula in the module docs).
pub fn vernal_equinox_day(year: i16) -> i8 {
    equinox(year, 20_843_100)
}

/// Autumnal equinox day of September of `year`.
pub fn autumnal_equinox_day(year: i16) -> i8 {
    equinox(year, 23_248_800)
}

fn equinox(year: i16, base_micro_days: i64) -> i8 {
    let y = i64::from(year) - 1980;
    let day = (base_micro_days + 242_194 * y).div_euclid(1_000_000) - y.div_euclid(4);
    // 19..=24 in the supported range; clamp keeps any year a valid date.
    day.clamp(1, 30) as i8
}

/// Day of month of the `n`th Monday of `month` in `year`.
fn nth_monday(year: i16, month: i8, n: i8) -> Option<i8> {
    let first = JstDate::new(year, month, 1).ok()?;
    let to_monday = (8 - first.weekday_iso()) % 7;
    Some(1 + to_monday + 7 * (n - 1))
}

/// The national holidays (Art. 2 and special acts) of `year`, unsorted.
fn national_holidays(year: i16) -> Vec<(i8, i8, Holiday)> {
    use Holiday::*;
    let y = year;
    let mut v: Vec<(i8, i8, Holiday)> = Vec::with_capacity(20);
    let monday = |month: i8, n: i8, h: Holiday, v: &mut Vec<(i8, i8, Holiday)>| {
        if let Some(d) = nth_monday(y, month, n) {
            v.push((month, d, h));
        }
    };
    v.push((1, 1, NewYearsDay));
    if y < 2000 {
        v.push((1, 15, ComingOfAgeDay));
    } else {
        monday(1, 2, ComingOfAgeDay, &mut v);
    }
    v.push((2, 11, NationalFoundationDay));
    match y {
        ..=1988 => v.push((4, 29, EmperorsBirthday)),
        1989..=2018 => v.push((12, 23, EmperorsBirthday)),
        2019 => {}
        _ => v.push((2, 23, EmperorsBirthday)),
    }
    v.push((3, vernal_equinox_day(y), VernalEquinoxDay));
    match y {
        ..=1988 => {}
        1989..=2006 => v.push((4, 29, GreeneryDay)),
        _ => v.push((4, 29, ShowaDay)),
    }
    v.push((5, 3, ConstitutionMemorialDay));
    if y >= 2007 {
        v.push((5, 4, GreeneryDay));
    }
    v.push((5, 5, ChildrensDay));
    match y {
        ..=1995 => {}
        1996..=2002 => v.push((7, 20, MarineDay)),
        2020 => v.push((7, 23, MarineDay)),
        2021 => v.push((7, 22, MarineDay)),
        _ => monday(7, 3, MarineDay, &mut v),
    }
    match y {
        ..=2015 => {}
        2020 => v.push((8, 10, MountainDay)),
        2021 => v.push((8, 8, MountainDay)),
        _ => v.push((8, 11, MountainDay)),
    }
    if y < 2003 {
        v.push((9, 15, RespectForTheAgedDay));
    } else {
        monday(9, 3, RespectForTheAgedDay, &mut v);
    }
    v.push((9, autumnal_equinox_day(y), AutumnalEquinoxDay));
    match y {
        ..=1999 => v.push((10, 10, HealthAndSportsDay)),
        2000..=2019 => monday(10, 2, HealthAndSportsDay, &mut v),
        2020 => v.push((7, 24, SportsDay)),
        2021 => v.push((7, 23, SportsDay)),
        _ => monday(10, 2, SportsDay, &mut v),
    }
    v.push((11, 3, CultureDay));
    v.push((11, 23, LaborThanksgivingDay));
    match y {
        1989 => v.push((2, 24, ShowaFuneral)),
        1990 => v.push((11, 12, EnthronementCeremony)),
        1993 => v.push((6, 9, RoyalWedding)),
        2019 => {
            v.push((5, 1, EnthronementDay));
            v.push((10, 22, EnthronementCeremony));
        }
        _ => {}
    }
    v
}

/// Every public holiday of `year` (national, substitute, citizens'), sorted
/// by date. Computed from the rules; see [`holidays_of_year`] for the cached
/// form.
pub fn compute_holidays(year: i16) -> Vec<(JstDate, Holiday)> {
    let mut national: Vec<(JstDate, Holiday)> = national_holidays(year)
        .into_iter()
        .filter_map(|(m, d, h)| JstDate::new(year, m, d).ok().map(|date| (date, h)))
        .collect();
    national.sort();
    let is_national =
        |d: JstDate, list: &[(JstDate, Holiday)]| list.binary_search_by(|(x, _)| x.cmp(&d)).is_ok();
    let mut out = national.clone();
    // 振替休日: the nearest following day that is not a national holiday.
    for &(date, _) in &national {
        if date.weekday_iso() != 7 {
            continue;
        }
        let mut next = date;
        for _ in 0..7 {
            match next.plus_days(1) {
                Ok(n) => next = n,
                Err(_) => break,
            }
            if !is_national(next, &national) {
                if next.year() == year {
                    out.push((next, Holiday::Substitute));
                }
                break;
            }
        }
    }
    out.sort();
    // 国民の休日 (from 1986 in our range): sandwiched between two national
    // holidays, not itself a national holiday, a Sunday or a substitute.
    if year >= 1986 {
        let mut citizens = Vec::new();
        for w in national.windows(2) {
            let (a, b) = (w[0].0, w[1].0);
            if a.days_until(b) != 2 {
                continue;
            }
            let Ok(mid) = a.plus_days(1) else { continue };
            let taken = out.binary_search_by(|(x, _)| x.cmp(&mid)).is_ok();
            if !taken && mid.weekday_iso() != 7 {
                citizens.push((mid, Holiday::Citizens));
            }
        }
        out.extend(citizens);
        out.sort();
    }
    out
}

/// Holidays of every supported year, computed once.
fn table() -> &'static Vec<Vec<(JstDate, Holiday)>> {
    static TABLE: OnceLock<Vec<Vec<(JstDate, Holiday)>>> = OnceLock::new();
    TABLE.get_or_init(|| {
        (YEAR_SUPPORTED_MIN..=YEAR_SUPPORTED_MAX)
            .map(compute_holidays)
            .collect()
    })
}

/// The public holidays of `year`, sorted. Cached for the supported years.
pub fn holidays_of_year(year: i16) -> std::borrow::Cow<'static, [(JstDate, Holiday)]> {
    if (YEAR_SUPPORTED_MIN..=YEAR_SUPPORTED_MAX).contains(&year) {
        let i = (year - YEAR_SUPPORTED_MIN) as usize;
        if let Some(list) = table().get(i) {
            return std::borrow::Cow::Borrowed(list.as_slice());
        }
    }
    std::borrow::Cow::Owned(compute_holidays(year))
}

/// The holiday on `date`, if it is a public holiday.
pub fn holiday(date: JstDate) -> Option<Holiday> {
    let list = holidays_of_year(date.year());
    list.binary_search_by(|(d, _)| d.cmp(&date))
        .ok()
        .map(|i| list[i].1)
}

/// Is `date` a public holiday (national, substitute or citizens')?
pub fn is_holiday(date: JstDate) -> bool {
    holiday(date).is_some()
}

/// The Cabinet Office's name for the holiday on `date`.
pub fn holiday_name(date: JstDate) -> Option<&'static str> {
    holiday(date).map(Holiday::name_ja)
}

/// Dec 31, Jan 1, Jan 2, Jan 3: banks are closed (Jan 1 is also 元日).
pub fn is_bank_holiday(date: JstDate) -> bool {
    matches!((date.month(), date.day()), (12, 31) | (1, 1..=3))
}

/// A bank business day: Monday–Friday, not a public holiday, not a bank
/// holiday.
pub fn is_business_day(date: JstDate) -> bool {
    date.weekday_iso() <= 5 && !is_bank_holiday(date) && !is_holiday(date)
}

/// `date` itself if it is a business day, else the next business day.
/// `None` only at the end of the representable calendar.
pub fn business_day_on_or_after(date: JstDate) -> Option<JstDate> {
    let mut d = date;
    for _ in 0..=NON_BUSINESS_RUN_DAYS_MAX {
        if is_business_day(d) {
            return Some(d);
        }
        d = d.plus_days(1).ok()?;
    }
    None
}

/// The first business day strictly after `date`.
pub fn next_business_day(date: JstDate) -> Option<JstDate> {
    business_day_on_or_after(date.plus_days(1).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> JstDate {
        JstDate::parse(s).unwrap()
    }

    /// The Cabinet Office list 「国民の祝日」について / 昭和30年（1955年）から令和9年
    /// （2027年）国民の祝日 (https://www8.cao.go.jp/chosei/shukujitsu/gaiyou.html,
    /// CSV https://www8.cao.go.jp/chosei/shukujitsu/syukujitsu.csv), years
    /// 2025–2027, typed in.
    const GOLDEN_2025_2027: &[(&str, &str)] = &[
        ("2025-01-01", "元日"),
        ("2025-01-13", "成人の日"),
        ("2025-02-11", "建国記念の日"),
        ("2025-02-23", "天皇誕生日"),
        ("2025-02-24", "休日"),
        ("2025-03-20", "春分の日"),
        ("2025-04-29", "昭和の日"),
        ("2025-05-03", "憲法記念日"),
        ("2025-05-04", "みどりの日"),
        ("2025-05-05", "こどもの日"),
        ("2025-05-06", "休日"),
        ("2025-07-21", "海の日"),
        ("2025-08-11", "山の日"),
        ("2025-09-15", "敬老の日"),
        ("2025-09-23", "秋分の日"),
        ("2025-10-13", "スポーツの日"),
        ("2025-11-03", "文化の日"),
        ("2025-11-23", "勤労感謝の日"),
        ("2025-11-24", "休日"),
        ("2026-01-01", "元日"),
        ("2026-01-12", "成人の日"),
        ("2026-02-11", "建国記念の日"),
        ("2026-02-23", "天皇誕生日"),
        ("2026-03-20", "春分の日"),
        ("2026-04-29", "昭和の日"),
        ("2026-05-03", "憲法記念日"),
        ("2026-05-04", "みどりの日"),
        ("2026-05-05", "こどもの日"),
        ("2026-05-06", "休日"),
        ("2026-07-20", "海の日"),
        ("2026-08-11", "山の日"),
        ("2026-09-21", "敬老の日"),
        ("2026-09-22", "休日"),
        ("2026-09-23", "秋分の日"),
        ("2026-10-12", "スポーツの日"),
        ("2026-11-03", "文化の日"),
        ("2026-11-23", "勤労感謝の日"),
        ("2027-01-01", "元日"),
        ("2027-01-11", "成人の日"),
        ("2027-02-11", "建国記念の日"),
        ("2027-02-23", "天皇誕生日"),
        ("2027-03-21", "春分の日"),
        ("2027-03-22", "休日"),
        ("2027-04-29", "昭和の日"),
        ("2027-05-03", "憲法記念日"),
        ("2027-05-04", "みどりの日"),
        ("2027-05-05", "こどもの日"),
        ("2027-07-19", "海の日"),
        ("2027-08-11", "山の日"),
        ("2027-09-20", "敬老の日"),
        ("2027-09-23", "秋分の日"),
        ("2027-10-11", "スポーツの日"),
        ("2027-11-03", "文化の日"),
        ("2027-11-23", "勤労感謝の日"),
    ];

    #[test]
    fn golden_2025_to_2027_is_exact() {
        let computed: Vec<(String, &str)> = (2025..=2027)
            .flat_map(|y| holidays_of_year(y).into_owned())
            .map(|(date, h)| (date.to_string(), h.name_ja()))
            .collect();
        let golden: Vec<(String, &str)> = GOLDEN_2025_2027
            .iter()
            .map(|(d, n)| ((*d).to_string(), *n))
            .collect();
        assert_eq!(computed, golden);
        // Every other day of those years is not a holiday.
        let mut day = d("2025-01-01");
        let mut count = 0;
        while day.year() <= 2027 {
            if is_holiday(day) {
                count += 1;
                assert_eq!(
                    holiday_name(day),
                    GOLDEN_2025_2027
                        .iter()
                        .find(|(g, _)| *g == day.to_string())
                        .map(|(_, n)| *n)
                );
            }
            day = day.plus_days(1).unwrap();
        }
        assert_eq!(count, GOLDEN_2025_2027.len());
    }

    #[test]
    fn special_years_2019_to_2021() {
        let names = |y| -> Vec<String> {
            holidays_of_year(y)
                .iter()
                .map(|(d, h)| format!("{d} {}", h.name_ja()))
                .collect()
        };
        let y2019 = names(2019);
        for expected in [
            "2019-04-29 昭和の日",
            "2019-04-30 休日",
            "2019-05-01 休日（祝日扱い）",
            "2019-05-02 休日",
            "2019-05-06 休日",
            "2019-08-12 休日",
            "2019-10-14 体育の日",
            "2019-10-22 即位礼正殿の儀",
            "2019-11-04 休日",
        ] {
            assert!(y2019.iter().any(|x| x == expected), "{expected}");
        }
        assert!(!y2019.iter().any(|x| x.contains("天皇誕生日")));
        assert_eq!(y2019.len(), 22);
        let y2020 = names(2020);
        for expected in [
            "2020-02-23 天皇誕生日",
            "2020-02-24 休日",
            "2020-07-23 海の日",
            "2020-07-24 スポーツの日",
            "2020-08-10 山の日",
        ] {
            assert!(y2020.iter().any(|x| x == expected), "{expected}");
        }
        let y2021 = names(2021);
        for expected in [
            "2021-07-22 海の日",
            "2021-07-23 スポーツの日",
            "2021-08-08 山の日",
            "2021-08-09 休日",
        ] {
            assert!(y2021.iter().any(|x| x == expected), "{expected}");
        }
        assert!(!is_holiday(d("2020-10-12")));
        assert!(!is_holiday(d("2021-10-11")));
    }

    #[test]
    fn older_rules() {
        assert_eq!(holiday(d("1999-01-15")), Some(Holiday::ComingOfAgeDay));
        assert_eq!(holiday(d("2000-01-10")), Some(Holiday::ComingOfAgeDay));
        assert_eq!(holiday(d("1988-04-29")), Some(Holiday::EmperorsBirthday));
        assert_eq!(holiday(d("2006-04-29")), Some(Holiday::GreeneryDay));
        assert_eq!(holiday(d("2018-12-23")), Some(Holiday::EmperorsBirthday));
        // May 4 between two national holidays before 2007.
        assert_eq!(holiday(d("2005-05-04")), Some(Holiday::Citizens));
        // Silver Week 2009 and 2015.
        assert_eq!(holiday(d("2009-09-22")), Some(Holiday::Citizens));
        assert_eq!(holiday(d("2015-09-22")), Some(Holiday::Citizens));
        // 2008-05-06: May 4 (Sunday) substitute skips the national May 5.
        assert_eq!(holiday(d("2008-05-06")), Some(Holiday::Substitute));
        assert_eq!(holiday(d("1989-02-24")), Some(Holiday::ShowaFuneral));
    }

    #[test]
    fn equinox_formula() {
        // Announced dates (官報 暦要項).
        for (y, v, a) in [
            (2012, 20, 22),
            (2016, 20, 22),
            (2020, 20, 22),
            (2024, 20, 22),
            (2025, 20, 23),
            (2026, 20, 23),
            (2027, 21, 23),
        ] {
            assert_eq!(
                (vernal_equinox_day(y), autumnal_equinox_day(y)),
                (v, a),
                "{y}"
            );
        }
    }

    #[test]
    fn business_days() {
        // Year end: Dec 31 to Jan 3 closed; 2026-01-05 is the first Monday.
        assert!(!is_business_day(d("2025-12-31")));
        assert!(!is_business_day(d("2026-01-02")));
        assert_eq!(
            business_day_on_or_after(d("2025-12-31")),
            Some(d("2026-01-05"))
        );
        assert_eq!(holiday_name(d("2025-12-31")), None);
        // Golden Week 2026: Sun 3, Mon 4, Tue 5, Wed 6 (substitute).
        assert_eq!(
            business_day_on_or_after(d("2026-05-02")),
            Some(d("2026-05-07"))
        );
        assert_eq!(next_business_day(d("2026-05-07")), Some(d("2026-05-08")));
        assert_eq!(next_business_day(d("2026-05-08")), Some(d("2026-05-11")));
        // Silver Week 2026.
        assert_eq!(
            business_day_on_or_after(d("2026-09-19")),
            Some(d("2026-09-24"))
        );
        assert!(is_business_day(d("2026-07-10")));
    }
}
