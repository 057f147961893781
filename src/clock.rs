//! The one clock of the program.
//!
//! Ingest deadlines ("late" nights), the default report month and the
//! scheduler all ask a [`Clock`] for the time, never `Utc::now()` directly,
//! so tests can fake it. This module must never do I/O.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// Asia/Jakarta (WIB) is UTC+07:00 all year: no daylight saving time.
pub fn jakarta() -> FixedOffset {
    // 7 h is always a valid offset; `east_opt` only fails beyond ±24 h.
    FixedOffset::east_opt(7 * 3600).unwrap_or_else(|| unreachable!("UTC+07:00 is a valid offset"))
}

/// A source of the current instant.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;

    /// Today's date in Asia/Jakarta.
    fn today_jakarta(&self) -> NaiveDate {
        self.now().with_timezone(&jakarta()).date_naive()
    }
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always answers the same instant (tests, reproducible runs).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// The instant at which a Jakarta calendar day starts.
pub fn jakarta_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .unwrap_or_else(|| unreachable!("00:00:00 is a valid time"))
        .and_local_timezone(jakarta())
        .single()
        .unwrap_or_else(|| unreachable!("a fixed offset has no gaps or folds"))
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jakarta_midnight_is_17_utc_the_day_before() {
        let d = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        assert_eq!(jakarta_midnight(d).to_rfc3339(), "2026-09-30T17:00:00+00:00");
    }
}

/// A calendar month `YYYY-MM` (the report period).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    pub year: i32,
    /// 1–12.
    pub month: u32,
}

impl Month {
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let (year, month) = (y.parse().ok()?, m.parse().ok()?);
        (1..=12).contains(&month).then_some(Month { year, month })
    }

    pub fn of(d: NaiveDate) -> Month {
        use chrono::Datelike;
        Month {
            year: d.year(),
            month: d.month(),
        }
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).unwrap_or(NaiveDate::MIN)
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// `n` months earlier.
    pub fn minus(self, n: u32) -> Month {
        (0..n).fold(self, |m, _| m.prev())
    }

    pub fn last_day(self) -> NaiveDate {
        self.next().first_day().pred_opt().unwrap_or(NaiveDate::MIN)
    }

    /// Jakarta midnight of the 1st, as an instant.
    pub fn start(self) -> DateTime<Utc> {
        jakarta_midnight(self.first_day())
    }

    /// Jakarta midnight of the 1st of the next month.
    pub fn end(self) -> DateTime<Utc> {
        self.next().start()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl std::str::FromStr for Month {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Month::parse(s).ok_or_else(|| format!("{s:?} is not a month: expected YYYY-MM, e.g. 2026-10"))
    }
}

#[cfg(test)]
mod month_tests {
    use super::*;

    #[test]
    fn month_arithmetic() {
        let m: Month = "2026-01".parse().unwrap();
        assert_eq!(m.prev().to_string(), "2025-12");
        assert_eq!(m.minus(11).to_string(), "2025-02");
        assert_eq!(m.last_day().to_string(), "2026-01-31");
        assert_eq!(Month::parse("2024-02").unwrap().last_day().to_string(), "2024-02-29");
        assert!(Month::parse("2026-13").is_none());
        assert_eq!(m.start().to_rfc3339(), "2025-12-31T17:00:00+00:00");
    }
}

/// Serde for dates as `YYYY-MM-DD` strings (ledger, manifest).
pub mod date_serde {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &NaiveDate, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&d.format("%Y-%m-%d"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
        let s = String::deserialize(d)?;
        NaiveDate::parse_from_str(&s, "%Y-%m-%d").map_err(serde::de::Error::custom)
    }
}
