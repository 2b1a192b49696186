//! Engine time. The engine never reads a clock: every command carries an
//! [`At`], and calendar questions (which day is it in Japan, when is the
//! 10th of next month) are answered from it in Japan Standard Time.
//!
//! JST is a fixed UTC+09:00 offset with no daylight saving time since 1951,
//! so a fixed offset is exact and we do not need a time-zone database.

#![deny(clippy::arithmetic_side_effects, clippy::cast_possible_truncation)]

use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone};
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};
use std::fmt;

const JST_OFFSET_HOURS: i8 = 9;

fn jst() -> TimeZone {
    TimeZone::fixed(Offset::constant(JST_OFFSET_HOURS))
}

/// An instant, in whole milliseconds since the Unix epoch (UTC).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct At(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("not an RFC 3339 time: {0}")]
    BadTimestamp(String),
    #[error("not a YYYY-MM-DD date: {0}")]
    BadDate(String),
    #[error("date out of range")]
    OutOfRange,
}

impl At {
    pub const fn from_unix_ms(ms: i64) -> At {
        At(ms)
    }

    pub const fn unix_ms(self) -> i64 {
        self.0
    }

    pub fn from_timestamp(ts: Timestamp) -> At {
        At(ts.as_millisecond())
    }

    pub fn timestamp(self) -> Timestamp {
        // Every At we build comes from a valid Timestamp or from arithmetic
        // bounded by dates in range, so this only saturates on corrupt input.
        Timestamp::from_millisecond(self.0).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// Parse an RFC 3339 time such as `2026-08-10T09:00:00+09:00`.
    pub fn parse_rfc3339(s: &str) -> Result<At, TimeError> {
        s.parse::<Timestamp>()
            .map(At::from_timestamp)
            .map_err(|_| TimeError::BadTimestamp(s.chars().take(64).collect()))
    }

    /// RFC 3339 in JST, e.g. `2026-08-10T09:00:00+09:00`.
    pub fn to_rfc3339_jst(self) -> String {
        let zoned = self.timestamp().to_zoned(jst());
        zoned.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
    }

    /// The calendar day in Japan at this instant.
    pub fn jst_date(self) -> JstDate {
        JstDate(self.timestamp().to_zoned(jst()).date())
    }

    /// `ms` milliseconds later (earlier when negative). Saturates at the
    /// ends of the i64 range (±292 million years), where no engine time can
    /// lie: a deliberate rule, so that a cut-off such as the idempotency
    /// window (`at − retention`) near the range's end clamps instead of
    /// wrapping to the other end of time.
    pub fn plus_ms(self, ms: i64) -> At {
        At(self.0.saturating_add(ms))
    }
}

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339_jst())
    }
}

/// A calendar date in Japan (JST), serialized as `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JstDate(Date);

impl JstDate {
    pub fn new(year: i16, month: i8, day: i8) -> Result<JstDate, TimeError> {
        Date::new(year, month, day)
            .map(JstDate)
            .map_err(|_| TimeError::OutOfRange)
    }

    pub fn parse(s: &str) -> Result<JstDate, TimeError> {
        // Strictly YYYY-MM-DD: jiff also accepts other ISO 8601 shapes.
        let b = s.as_bytes();
        let shape_ok = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shape_ok {
            return Err(TimeError::BadDate(s.chars().take(32).collect()));
        }
        s.parse::<Date>()
            .map(JstDate)
            .map_err(|_| TimeError::BadDate(s.to_string()))
    }

    pub fn date(self) -> Date {
        self.0
    }

    pub fn year(self) -> i16 {
        self.0.year()
    }

    pub fn month(self) -> i8 {
        self.0.month()
    }

    pub fn day(self) -> i8 {
        self.0.day()
    }

    /// Monday = 1 … Sunday = 7.
    pub fn weekday_iso(self) -> i8 {
        self.0.weekday().to_monday_one_offset()
    }

    pub fn plus_days(self, days: i32) -> Result<JstDate, TimeError> {
        self.0
            .checked_add(days.days())
            .map(JstDate)
            .map_err(|_| TimeError::OutOfRange)
    }

    /// Whole days from `self` to `other` (positive when `other` is later).
    pub fn days_until(self, other: JstDate) -> i64 {
        // Between two valid civil dates (years −9999…9999) the span in days
        // is at most ~7.3 million, well inside what jiff's spans hold, so
        // `until` cannot fail.
        let span = self
            .0
            .until(other.0)
            .expect("a span between two valid dates is representable");
        i64::from(span.get_days())
    }

    /// The first day of this date's month.
    pub fn first_of_month(self) -> JstDate {
        JstDate(self.0.first_of_month())
    }

    /// The first day of the following month.
    pub fn first_of_next_month(self) -> Result<JstDate, TimeError> {
        self.0
            .first_of_month()
            .checked_add(1.month())
            .map(JstDate)
            .map_err(|_| TimeError::OutOfRange)
    }

    /// The same month's `day`, clamped to the month's last day.
    pub fn with_day_clamped(self, day: i8) -> JstDate {
        let last = self.0.days_in_month();
        JstDate(self.0.with().day(day.min(last)).build().unwrap_or(self.0))
    }

    /// 00:00 JST of this day as an instant.
    pub fn start_at(self) -> At {
        let zoned = self.0.to_zoned(jst());
        match zoned {
            Ok(z) => At::from_timestamp(z.timestamp()),
            Err(_) => At::default(),
        }
    }

    /// Age in whole years on `on` of someone born on `self`.
    pub fn age_on(self, on: JstDate) -> i32 {
        // Years are i16 (jiff keeps them within ±9999), so the difference
        // and the birthday correction are far inside i32.
        let years = i32::from(on.year())
            .checked_sub(i32::from(self.year()))
            .expect("difference of two i16 years fits in i32");
        if (on.month(), on.day()) < (self.month(), self.day()) {
            years
                .checked_sub(1)
                .expect("|years| ≤ 2 × 9999, far from i32::MIN")
        } else {
            years
        }
    }
}

impl fmt::Display for JstDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects)]
mod tests {
    use super::*;

    #[test]
    fn jst_date_crosses_midnight_at_15_utc() {
        let before = At::parse_rfc3339("2026-06-30T14:59:59Z").unwrap();
        let after = At::parse_rfc3339("2026-06-30T15:00:00Z").unwrap();
        assert_eq!(before.jst_date().to_string(), "2026-06-30");
        assert_eq!(after.jst_date().to_string(), "2026-07-01");
        assert_eq!(after.to_rfc3339_jst(), "2026-07-01T00:00:00+09:00");
    }

    #[test]
    fn parse_date_is_strict() {
        assert!(JstDate::parse("2026-02-29").is_err());
        assert!(JstDate::parse("2028-02-29").is_ok());
        assert!(JstDate::parse("2026-2-1").is_err());
        assert!(JstDate::parse("２０２６-01-01").is_err());
        assert!(JstDate::parse("").is_err());
    }

    #[test]
    fn month_arithmetic() {
        let d = JstDate::parse("2026-01-31").unwrap();
        assert_eq!(d.first_of_next_month().unwrap().to_string(), "2026-02-01");
        assert_eq!(
            JstDate::parse("2026-02-01")
                .unwrap()
                .with_day_clamped(31)
                .to_string(),
            "2026-02-28"
        );
        assert_eq!(d.plus_days(14).unwrap().to_string(), "2026-02-14");
        assert_eq!(d.days_until(JstDate::parse("2026-03-01").unwrap()), 29);
    }

    #[test]
    fn days_until_spans_the_whole_calendar() {
        let first = JstDate::new(-9999, 1, 1).unwrap();
        let last = JstDate::new(9999, 12, 31).unwrap();
        assert_eq!(first.days_until(last), 7_304_483);
        assert_eq!(last.days_until(first), -7_304_483);
    }

    #[test]
    fn plus_ms_saturates_instead_of_wrapping() {
        let t = At::from_unix_ms(1_000);
        assert_eq!(t.plus_ms(500).unix_ms(), 1_500);
        assert_eq!(t.plus_ms(-2_000).unix_ms(), -1_000);
        assert_eq!(
            At::from_unix_ms(i64::MAX - 1).plus_ms(10).unix_ms(),
            i64::MAX
        );
        assert_eq!(
            At::from_unix_ms(i64::MIN + 1).plus_ms(-10).unix_ms(),
            i64::MIN
        );
    }

    #[test]
    fn age() {
        let born = JstDate::parse("2008-11-24").unwrap();
        assert_eq!(born.age_on(JstDate::parse("2026-11-23").unwrap()), 17);
        assert_eq!(born.age_on(JstDate::parse("2026-11-24").unwrap()), 18);
    }

    #[test]
    fn start_of_day() {
        let d = JstDate::parse("2026-07-10").unwrap();
        assert_eq!(d.start_at().to_rfc3339_jst(), "2026-07-10T00:00:00+09:00");
    }
}
