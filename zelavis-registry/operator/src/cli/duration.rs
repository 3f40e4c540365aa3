//! Durations on the command line: `30s`, `90m`, `24h`, `2d`, or several of them in a row (`1h30m`).

use std::fmt;
use std::time::Duration;

use thiserror::Error;

/// The longest duration accepted: 366 days.
pub(crate) const MAX: Duration = Duration::from_secs(366 * DAY);

const MINUTE: u64 = 60;
const HOUR: u64 = 60 * MINUTE;
const DAY: u64 = 24 * HOUR;

/// Why a duration is refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum DurationError {
    /// Nothing was given.
    #[error("a duration is a number and a unit (s, m, h or d), e.g. 24h, 90m, 30s, 2d")]
    Empty,
    /// A number without its unit (`24`).
    #[error("{number:?} needs a unit: s, m, h or d (e.g. {number}h)")]
    MissingUnit {
        /// The number.
        number: String,
    },
    /// Text that is no duration at all (`banana`, `-1h`).
    #[error("{text:?} is not a duration: write a number and a unit (s, m, h or d), e.g. 24h, 90m, 30s, 2d")]
    NotADuration {
        /// The text as given.
        text: String,
    },
    /// A unit without its number (`h`).
    #[error("{unit:?} needs a number before it (e.g. 24{unit})")]
    MissingNumber {
        /// The unit.
        unit: String,
    },
    /// A unit that is not `s`, `m`, `h` or `d`.
    #[error("{unit:?} is not a unit: use s, m, h or d")]
    UnknownUnit {
        /// The unit as given.
        unit: String,
    },
    /// More than [`MAX`].
    #[error("{text:?} is longer than the limit of 366d")]
    TooLong {
        /// The duration as given.
        text: String,
    },
    /// Zero where a positive duration is needed.
    #[error("the duration must be longer than 0s")]
    Zero,
}

/// Parses `24h`, `90m`, `30s`, `2d` or a run of them (`1h30m`); surrounding blanks are ignored.
pub(crate) fn parse(text: &str) -> Result<Duration, DurationError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(DurationError::Empty);
    }
    let too_long = || DurationError::TooLong {
        text: text.chars().take(32).collect(),
    };
    let mut total: u64 = 0;
    let mut rest = text;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let unit_len = after.find(|c: char| c.is_ascii_digit()).unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let unit_text = || unit.chars().take(16).collect::<String>();
        if number.is_empty() {
            return Err(if matches!(unit, "s" | "m" | "h" | "d") {
                DurationError::MissingNumber { unit: unit_text() }
            } else {
                DurationError::NotADuration {
                    text: text.chars().take(32).collect(),
                }
            });
        }
        let seconds = match unit {
            "" => {
                return Err(DurationError::MissingUnit {
                    number: number.chars().take(32).collect(),
                });
            }
            "s" => 1,
            "m" => MINUTE,
            "h" => HOUR,
            "d" => DAY,
            _ => return Err(DurationError::UnknownUnit { unit: unit_text() }),
        };
        let value: u64 = number.parse().map_err(|_| too_long())?;
        total = value
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(too_long)?;
        rest = next;
    }
    let duration = Duration::from_secs(total);
    if duration > MAX {
        return Err(too_long());
    }
    Ok(duration)
}

/// The same, refusing `0s`.
pub(crate) fn parse_positive(text: &str) -> Result<Duration, DurationError> {
    let duration = parse(text)?;
    if duration.is_zero() {
        return Err(DurationError::Zero);
    }
    Ok(duration)
}

/// A duration as the command line writes it: `1d2h`, `90s`, `0s` (milliseconds are dropped).
pub(crate) struct Shown(pub(crate) Duration);

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut secs = self.0.as_secs();
        if secs == 0 {
            return if self.0.is_zero() {
                f.write_str("0s")
            } else {
                write!(f, "{}ms", self.0.as_millis())
            };
        }
        for (unit, size) in [("d", DAY), ("h", HOUR), ("m", MINUTE), ("s", 1)] {
            if secs >= size {
                write!(f, "{}{unit}", secs / size)?;
                secs %= size;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse() {
        assert_eq!(parse("24h"), Ok(Duration::from_secs(24 * 3600)));
        assert_eq!(parse("90m"), Ok(Duration::from_secs(90 * 60)));
        assert_eq!(parse("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse(" 2d "), Ok(Duration::from_secs(2 * 86_400)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(parse("366d"), Ok(MAX));
    }

    #[test]
    fn bad_durations_are_typed() {
        assert_eq!(parse(""), Err(DurationError::Empty));
        assert_eq!(parse("24"), Err(DurationError::MissingUnit { number: "24".into() }));
        assert_eq!(parse("h"), Err(DurationError::MissingNumber { unit: "h".into() }));
        assert_eq!(parse("1h30"), Err(DurationError::MissingUnit { number: "30".into() }));
        assert_eq!(parse("5w"), Err(DurationError::UnknownUnit { unit: "w".into() }));
        assert_eq!(parse("1.5h"), Err(DurationError::UnknownUnit { unit: ".".into() }));
        assert_eq!(parse("-1h"), Err(DurationError::NotADuration { text: "-1h".into() }));
        assert_eq!(
            parse("banana"),
            Err(DurationError::NotADuration { text: "banana".into() })
        );
        assert!(matches!(parse("367d"), Err(DurationError::TooLong { .. })));
        assert!(matches!(
            parse("99999999999999999999999s"),
            Err(DurationError::TooLong { .. })
        ));
        assert!(matches!(
            parse("18446744073709551615d"),
            Err(DurationError::TooLong { .. })
        ));
        assert_eq!(parse_positive("0m"), Err(DurationError::Zero));
    }

    #[test]
    fn durations_are_shown_as_written() {
        assert_eq!(Shown(Duration::from_secs(24 * 3600)).to_string(), "1d");
        assert_eq!(Shown(Duration::from_secs(5400)).to_string(), "1h30m");
        assert_eq!(Shown(Duration::from_secs(90)).to_string(), "1m30s");
        assert_eq!(Shown(Duration::ZERO).to_string(), "0s");
        assert_eq!(Shown(Duration::from_millis(250)).to_string(), "250ms");
    }
}
