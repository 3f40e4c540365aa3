//! UTC timestamps with millisecond precision, and the clocks that tell them.
//!
//! A [`Timestamp`] has one text form, RFC 3339 in UTC with exactly three fraction digits and `Z`
//! (`2024-05-01T12:00:00.000Z`); that is what serde writes and the only thing parsing accepts, so a
//! timestamp inside a signed record has a single spelling.
//!
//! ```
//! # use zelavis_operator::time::Timestamp;
//! let t: Timestamp = "2024-05-01T12:00:00.250Z".parse()?;
//! assert_eq!(t.as_millis(), 1_714_564_800_250);
//! assert_eq!(t.add_secs(60).to_string(), "2024-05-01T12:01:00.250Z");
//! # Ok::<(), zelavis_operator::time::TimestampError>(())
//! ```

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

const MILLIS_PER_DAY: i64 = 86_400_000;
/// Longest text quoted back in an error; longer input is cut with `…`.
const QUOTE_LIMIT: usize = 64;

/// Why a text or a number is not a [`Timestamp`].
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The text is not shaped `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    #[error("timestamp {text:?} is not of the form YYYY-MM-DDTHH:MM:SS.mmmZ")]
    NotRfc3339 {
        /// The offending text (cut to 64 characters).
        text: String,
    },
    /// The month or day does not exist (`2023-02-29`, `2024-13-01`).
    #[error("timestamp {text:?} names a date that does not exist")]
    InvalidDate {
        /// The offending text.
        text: String,
    },
    /// The hour, minute or second is out of range (leap seconds are refused).
    #[error("timestamp {text:?} names a time of day that does not exist")]
    InvalidTime {
        /// The offending text.
        text: String,
    },
    /// The milliseconds fall outside years 0000–9999, which the text form cannot spell.
    #[error("timestamp {millis} ms since the epoch is outside years 0000-9999")]
    OutOfRange {
        /// The offending number of milliseconds.
        millis: i64,
    },
}

/// A UTC instant, in milliseconds since 1970-01-01T00:00:00Z, within years 0000–9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The earliest timestamp, `0000-01-01T00:00:00.000Z`.
    pub const MIN: Timestamp = Timestamp(-62_167_219_200_000);
    /// The latest timestamp, `9999-12-31T23:59:59.999Z`.
    pub const MAX: Timestamp = Timestamp(253_402_300_799_999);
    /// The Unix epoch, `1970-01-01T00:00:00.000Z`.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// The instant `millis` milliseconds after the epoch, saturated into [`MIN`](Self::MIN) ..=
    /// [`MAX`](Self::MAX). Use [`try_from_millis`](Self::try_from_millis) to refuse instead.
    pub const fn from_millis(millis: i64) -> Self {
        if millis < Self::MIN.0 {
            Self::MIN
        } else if millis > Self::MAX.0 {
            Self::MAX
        } else {
            Self(millis)
        }
    }

    /// The instant `millis` milliseconds after the epoch, refused outside years 0000–9999.
    pub const fn try_from_millis(millis: i64) -> Result<Self, TimestampError> {
        if millis < Self::MIN.0 || millis > Self::MAX.0 {
            Err(TimestampError::OutOfRange { millis })
        } else {
            Ok(Self(millis))
        }
    }

    /// The instant `secs` seconds after the epoch (saturating, like [`from_millis`](Self::from_millis)).
    pub const fn from_secs(secs: i64) -> Self {
        Self::from_millis(secs.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Whole seconds since the epoch, rounded down.
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// This instant moved by `secs` seconds (negative goes back), saturating at the range ends.
    #[must_use]
    pub const fn add_secs(self, secs: i64) -> Self {
        self.add_millis(secs.saturating_mul(1000))
    }

    /// This instant moved by `millis` milliseconds (negative goes back), saturating at the range ends.
    #[must_use]
    pub const fn add_millis(self, millis: i64) -> Self {
        Self::from_millis(self.0.saturating_add(millis))
    }

    /// This instant moved forward by `duration`, saturating at [`MAX`](Self::MAX).
    #[must_use]
    pub fn add_duration(self, duration: Duration) -> Self {
        self.add_millis(i64::try_from(duration.as_millis()).unwrap_or(i64::MAX))
    }

    /// The time from `earlier` to this instant; zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }
}

/// `timestamp + duration`, saturating like [`Timestamp::add_duration`].
impl std::ops::Add<Duration> for Timestamp {
    type Output = Timestamp;

    fn add(self, duration: Duration) -> Timestamp {
        self.add_duration(duration)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(MILLIS_PER_DAY);
        let in_day = self.0.rem_euclid(MILLIS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let (secs, millis) = (in_day / 1000, in_day % 1000);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let b = text.as_bytes();
        let shaped = b.len() == 24
            && [4, 7].iter().all(|&i| b[i] == b'-')
            && b[10] == b'T'
            && [13, 16].iter().all(|&i| b[i] == b':')
            && b[19] == b'.'
            && b[23] == b'Z'
            && [0..4, 5..7, 8..10, 11..13, 14..16, 17..19, 20..23]
                .into_iter()
                .all(|r| b[r].iter().all(u8::is_ascii_digit));
        if !shaped {
            return Err(TimestampError::NotRfc3339 { text: quote(text) });
        }
        let num = |from: usize, to: usize| b[from..to].iter().fold(0_i64, |acc, d| acc * 10 + i64::from(d - b'0'));
        let (year, month, day) = (num(0, 4), num(5, 7), num(8, 10));
        let (hour, minute, second, millis) = (num(11, 13), num(14, 16), num(17, 19), num(20, 23));
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(TimestampError::InvalidDate { text: quote(text) });
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(TimestampError::InvalidTime { text: quote(text) });
        }
        let secs = ((hour * 60) + minute) * 60 + second;
        Ok(Self(
            days_from_civil(year, month, day) * MILLIS_PER_DAY + secs * 1000 + millis,
        ))
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The text quoted back in errors, cut to [`QUOTE_LIMIT`] characters.
fn quote(text: &str) -> String {
    if text.chars().count() <= QUOTE_LIMIT {
        text.to_owned()
    } else {
        let mut cut: String = text.chars().take(QUOTE_LIMIT).collect();
        cut.push('…');
        cut
    }
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (month + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A source of the current time. Code that checks expiry takes a `&dyn Clock` (or a
/// [`Timestamp`] read from one) so tests can pin time with [`ManualClock`].
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Timestamp;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(after) => Timestamp::EPOCH.add_duration(after),
            Err(before) => {
                Timestamp::from_millis(i64::try_from(before.duration().as_millis()).map_or(i64::MIN, |ms| -ms))
            }
        }
    }
}

/// A clock that moves only when told to; clones share one time.
///
/// ```
/// # use zelavis_operator::time::{Clock, ManualClock, Timestamp};
/// # use std::time::Duration;
/// let clock = ManualClock::at(Timestamp::from_millis(1_000));
/// let shared = clock.clone();
/// clock.advance(Duration::from_secs(2));
/// assert_eq!(shared.now().as_millis(), 3_000);
/// ```
#[derive(Debug, Clone, Default)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock standing at `at`.
    pub fn at(at: Timestamp) -> Self {
        Self(Arc::new(AtomicI64::new(at.as_millis())))
    }

    /// Moves the clock to `at` (backwards too).
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.as_millis(), Ordering::SeqCst);
    }

    /// Moves the clock forward by `by`, saturating at [`Timestamp::MAX`].
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        // `fetch_update` with a closure that always returns `Some` cannot fail.
        let _ = self.0.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |ms| {
            Some(Timestamp::from_millis(ms).add_millis(by).as_millis())
        });
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("valid timestamp")
    }

    #[test]
    fn formats_known_instants() {
        assert_eq!(Timestamp::EPOCH.to_string(), "1970-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::from_millis(-1).to_string(), "1969-12-31T23:59:59.999Z");
        assert_eq!(
            Timestamp::from_millis(951_782_400_000).to_string(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(Timestamp::MIN.to_string(), "0000-01-01T00:00:00.000Z");
        assert_eq!(Timestamp::MAX.to_string(), "9999-12-31T23:59:59.999Z");
        assert_eq!(ts("2024-05-01T12:00:00.250Z").as_millis(), 1_714_564_800_250);
    }

    #[test]
    fn saturates_and_refuses_out_of_range() {
        assert_eq!(Timestamp::from_millis(i64::MAX), Timestamp::MAX);
        assert_eq!(Timestamp::from_millis(i64::MIN), Timestamp::MIN);
        assert_eq!(Timestamp::MAX.add_secs(1), Timestamp::MAX);
        assert_eq!(Timestamp::from_secs(i64::MIN), Timestamp::MIN);
        assert_eq!(
            Timestamp::try_from_millis(i64::MAX),
            Err(TimestampError::OutOfRange { millis: i64::MAX })
        );
        assert_eq!(Timestamp::try_from_millis(5), Ok(Timestamp::from_millis(5)));
    }

    #[test]
    fn arithmetic_and_order() {
        let t = ts("2024-12-31T23:59:59.999Z");
        assert_eq!(t.add_millis(1).to_string(), "2025-01-01T00:00:00.000Z");
        assert_eq!(t.add_secs(-86_400).to_string(), "2024-12-30T23:59:59.999Z");
        assert!(t < t.add_millis(1));
        assert_eq!(Timestamp::from_millis(-1).as_secs(), -1);
        assert_eq!(t.add_duration(Duration::from_millis(1_500)), t.add_millis(1_500));
        assert_eq!(t + Duration::from_secs(1), t.add_secs(1));
        assert_eq!(t.add_secs(2).since(t), Duration::from_secs(2));
        assert_eq!(t.since(t.add_secs(2)), Duration::ZERO);
    }

    #[test]
    fn refuses_other_spellings() {
        for text in [
            "",
            "2024-05-01T12:00:00Z",
            "2024-05-01T12:00:00.25Z",
            "2024-05-01T12:00:00.2500Z",
            "2024-05-01t12:00:00.000Z",
            "2024-05-01T12:00:00.000z",
            "2024-05-01 12:00:00.000Z",
            "2024-05-01T12:00:00.000+00:00",
            "+2024-05-01T12:00:00.000Z",
            "2024-05-01T12:00:00.00-Z",
            "２024-05-01T12:00:00.000Z",
        ] {
            assert!(
                matches!(text.parse::<Timestamp>(), Err(TimestampError::NotRfc3339 { .. })),
                "{text}"
            );
        }
        for text in [
            "2023-02-29T00:00:00.000Z",
            "2024-00-01T00:00:00.000Z",
            "2024-04-31T00:00:00.000Z",
        ] {
            assert!(
                matches!(text.parse::<Timestamp>(), Err(TimestampError::InvalidDate { .. })),
                "{text}"
            );
        }
        for text in ["2024-04-30T24:00:00.000Z", "2016-12-31T23:59:60.000Z"] {
            assert!(
                matches!(text.parse::<Timestamp>(), Err(TimestampError::InvalidTime { .. })),
                "{text}"
            );
        }
        assert_eq!(ts("2024-02-29T00:00:00.000Z").to_string(), "2024-02-29T00:00:00.000Z");
    }

    #[test]
    fn errors_quote_the_text_and_cut_long_input() {
        let err = "yesterday".parse::<Timestamp>().expect_err("refused");
        assert_eq!(
            err.to_string(),
            "timestamp \"yesterday\" is not of the form YYYY-MM-DDTHH:MM:SS.mmmZ"
        );
        let err = "x".repeat(10_000).parse::<Timestamp>().expect_err("refused");
        assert!(err.to_string().len() < 200, "{err}");
    }

    #[test]
    fn serde_uses_the_text_form() {
        let t = Timestamp::from_millis(1_714_564_800_250);
        let json = serde_json::to_string(&t).expect("serialises");
        assert_eq!(json, "\"2024-05-01T12:00:00.250Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).ok(), Some(t));
        assert!(serde_json::from_str::<Timestamp>("1714564800250").is_err());
        assert!(serde_json::from_str::<Timestamp>("\"2024-05-01\"").is_err());
    }

    #[test]
    fn manual_clock_is_shared_and_moves_on_demand() {
        let clock = ManualClock::at(Timestamp::from_millis(10));
        let other = clock.clone();
        clock.advance(Duration::from_millis(5));
        assert_eq!(other.now(), Timestamp::from_millis(15));
        other.set(Timestamp::EPOCH);
        assert_eq!(clock.now(), Timestamp::EPOCH);
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), Timestamp::MAX);
    }

    #[test]
    fn system_clock_is_after_2024() {
        assert!(SystemClock.now() > ts("2024-01-01T00:00:00.000Z"));
    }

    proptest! {
        #[test]
        fn text_round_trips(ms in Timestamp::MIN.as_millis()..=Timestamp::MAX.as_millis()) {
            let t = Timestamp::from_millis(ms);
            let text = t.to_string();
            prop_assert_eq!(text.len(), 24);
            prop_assert_eq!(text.parse::<Timestamp>(), Ok(t));
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in "\\PC{0,30}") {
            let _ = text.parse::<Timestamp>();
        }

        #[test]
        fn accepted_text_formats_back_identically(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"
        ) {
            if let Ok(t) = text.parse::<Timestamp>() {
                prop_assert_eq!(t.to_string(), text);
            }
        }
    }
}
