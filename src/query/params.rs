//! The named parameters every query may use (`docs/lake-views.md`,
//! "Parameters"), computed from the report month, `as_of` and the settings.
//!
//! Month boundaries are Jakarta midnight (UTC+07:00, no daylight saving) for
//! every province, as instants; dates are calendar dates of M. This module
//! only computes values: it never reads a clock (the caller passes `as_of`).

use std::collections::HashMap;

use chrono::{Datelike, Months, NaiveDate};
use datafusion::common::{ParamValues, ScalarValue};

use super::error::{QueryError, Result};

/// Jakarta's offset from UTC in seconds (+07:00, no daylight saving).
pub const JAKARTA_OFFSET_SECONDS: i64 = 7 * 3600;

const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// The query-level settings of report.md ("Parameters").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportSettings {
    /// Days within which a complaint must be followed up (inclusive).
    pub sla_days: i64,
    /// Insured workers one inspector can cover.
    pub workers_per_inspector: i64,
    /// Companies one inspector can inspect in a year.
    pub companies_per_inspector_year: i64,
}

impl Default for ReportSettings {
    /// The defaults of report.md: 30 days, 20,000 workers, 60 companies.
    fn default() -> Self {
        ReportSettings {
            sla_days: 30,
            workers_per_inspector: 20_000,
            companies_per_inspector_year: 60,
        }
    }
}

/// Every parameter of `docs/lake-views.md` for one report month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportParams {
    /// `YYYY-MM`.
    pub period: String,
    /// Jakarta midnight of the 1st of M, nanoseconds since the Unix epoch.
    pub month_start_ns: i64,
    /// Jakarta midnight of the 1st of M+1, nanoseconds since the Unix epoch.
    pub month_end_ns: i64,
    /// 1st of M.
    pub month_first_day: NaiveDate,
    /// Last day of M.
    pub month_last_day: NaiveDate,
    /// Jakarta midnight of the 1st of M−2 (the SLA cohort), nanoseconds.
    pub cohort_start_ns: i64,
    /// Jakarta midnight of the 1st of M−1, nanoseconds.
    pub cohort_end_ns: i64,
    /// 1st of M−11.
    pub window_12m_start: NaiveDate,
    /// Latest extract date used.
    pub as_of: NaiveDate,
    /// See [`ReportSettings`].
    pub settings: ReportSettings,
}

impl ReportParams {
    /// Computes the parameters of `month` (`YYYY-MM`).
    pub fn new(month: &str, as_of: NaiveDate, settings: ReportSettings) -> Result<Self> {
        let first = parse_month(month)?;
        check_setting("sla_days", settings.sla_days, 0)?;
        check_setting("workers_per_inspector", settings.workers_per_inspector, 1)?;
        check_setting("companies_per_inspector_year", settings.companies_per_inspector_year, 1)?;
        let next = add_months(first, 1, month)?;
        let cohort_first = sub_months(first, 2, month)?;
        let cohort_next = sub_months(first, 1, month)?;
        let window_12m_start = sub_months(first, 11, month)?;
        let month_last_day = next.pred_opt().ok_or_else(|| out_of_range(month))?;
        Ok(ReportParams {
            period: month.to_string(),
            month_start_ns: jakarta_midnight_ns(first),
            month_end_ns: jakarta_midnight_ns(next),
            month_first_day: first,
            month_last_day,
            cohort_start_ns: jakarta_midnight_ns(cohort_first),
            cohort_end_ns: jakarta_midnight_ns(cohort_next),
            window_12m_start,
            as_of,
            settings,
        })
    }

    /// The parameters as `(name, value)` pairs, names without `$`, in the
    /// order of `docs/lake-views.md`.
    pub fn values(&self) -> Vec<(&'static str, ScalarValue)> {
        vec![
            ("period", ScalarValue::Utf8(Some(self.period.clone()))),
            ("month_start", instant(self.month_start_ns)),
            ("month_end", instant(self.month_end_ns)),
            ("month_first_day", date(self.month_first_day)),
            ("month_last_day", date(self.month_last_day)),
            ("cohort_start", instant(self.cohort_start_ns)),
            ("cohort_end", instant(self.cohort_end_ns)),
            ("window_12m_start", date(self.window_12m_start)),
            ("as_of", date(self.as_of)),
            ("sla_days", ScalarValue::Int64(Some(self.settings.sla_days))),
            (
                "workers_per_inspector",
                ScalarValue::Int64(Some(self.settings.workers_per_inspector)),
            ),
            (
                "companies_per_inspector_year",
                ScalarValue::Int64(Some(self.settings.companies_per_inspector_year)),
            ),
        ]
    }

    /// The parameters in the form DataFusion binds (`ParamValues::Map`).
    pub fn param_values(&self) -> ParamValues {
        let map: HashMap<String, ScalarValue> = self.values().into_iter().map(|(name, value)| (name.to_string(), value)).collect();
        ParamValues::from(map)
    }
}

/// Nanoseconds since the epoch of 00:00 Jakarta time on `day`.
pub fn jakarta_midnight_ns(day: NaiveDate) -> i64 {
    let days = i64::from(day.num_days_from_ce() - EPOCH_DAYS_FROM_CE);
    (days * 86_400 - JAKARTA_OFFSET_SECONDS) * NANOS_PER_SECOND
}

/// `NaiveDate::num_days_from_ce` of 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

fn instant(ns: i64) -> ScalarValue {
    ScalarValue::TimestampNanosecond(Some(ns), Some("UTC".into()))
}

fn date(day: NaiveDate) -> ScalarValue {
    ScalarValue::Date32(Some(day.num_days_from_ce() - EPOCH_DAYS_FROM_CE))
}

fn parse_month(month: &str) -> Result<NaiveDate> {
    let invalid = || QueryError::InvalidParam {
        name: "month".to_string(),
        message: format!("`{month}` is not a month; expected `YYYY-MM`, e.g. `2026-10`"),
    };
    let bytes = month.as_bytes();
    let shaped = bytes.len() == 7 && bytes[4] == b'-' && bytes.iter().enumerate().all(|(i, b)| i == 4 || b.is_ascii_digit());
    if !shaped {
        return Err(invalid());
    }
    let year: i32 = month[..4].parse().map_err(|_| invalid())?;
    let month_number: u32 = month[5..].parse().map_err(|_| invalid())?;
    NaiveDate::from_ymd_opt(year, month_number, 1).ok_or_else(invalid)
}

fn check_setting(name: &str, value: i64, minimum: i64) -> Result<()> {
    if value < minimum {
        return Err(QueryError::InvalidParam {
            name: name.to_string(),
            message: format!("{value} is below the minimum {minimum}"),
        });
    }
    Ok(())
}

fn out_of_range(month: &str) -> QueryError {
    QueryError::InvalidParam {
        name: "month".to_string(),
        message: format!("`{month}` is out of the supported date range"),
    }
}

fn add_months(day: NaiveDate, n: u32, month: &str) -> Result<NaiveDate> {
    day.checked_add_months(Months::new(n)).ok_or_else(|| out_of_range(month))
}

fn sub_months(day: NaiveDate, n: u32, month: &str) -> Result<NaiveDate> {
    day.checked_sub_months(Months::new(n)).ok_or_else(|| out_of_range(month))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn october_2026() -> Result<()> {
        let as_of = NaiveDate::from_ymd_opt(2026, 11, 2).ok_or_else(|| out_of_range("x"))?;
        let p = ReportParams::new("2026-10", as_of, ReportSettings::default())?;
        // 2026-10-01T00:00+07:00 = 2026-09-30T17:00Z = 1790787600 s.
        assert_eq!(p.month_start_ns, 1_790_787_600 * NANOS_PER_SECOND);
        // 2026-11-01T00:00+07:00 = 2026-10-31T17:00Z = 1793466000 s.
        assert_eq!(p.month_end_ns, 1_793_466_000 * NANOS_PER_SECOND);
        assert_eq!(p.month_last_day.to_string(), "2026-10-31");
        assert_eq!(p.window_12m_start.to_string(), "2025-11-01");
        // 2026-08-01T00:00+07:00 = 2026-07-31T17:00Z = 1785517200 s.
        assert_eq!(p.cohort_start_ns, 1_785_517_200 * NANOS_PER_SECOND);
        Ok(())
    }

    #[test]
    fn january_wraps_the_year() -> Result<()> {
        let as_of = NaiveDate::from_ymd_opt(2027, 1, 31).ok_or_else(|| out_of_range("x"))?;
        let p = ReportParams::new("2027-01", as_of, ReportSettings::default())?;
        assert_eq!(p.month_last_day.to_string(), "2027-01-31");
        assert_eq!(p.window_12m_start.to_string(), "2026-02-01");
        assert_eq!(
            p.cohort_start_ns,
            jakarta_midnight_ns(NaiveDate::from_ymd_opt(2026, 11, 1).ok_or_else(|| out_of_range("x"))?)
        );
        Ok(())
    }

    #[test]
    fn bad_month_is_refused() {
        let as_of = NaiveDate::from_ymd_opt(2027, 1, 31);
        for bad in ["2026-13", "2026-1", "26-10", "2026/10", "2026-10-01", "２026-10"] {
            let Some(as_of) = as_of else { return };
            let err = ReportParams::new(bad, as_of, ReportSettings::default());
            assert!(
                matches!(err, Err(QueryError::InvalidParam { ref name, .. }) if name == "month"),
                "{bad}: {err:?}"
            );
        }
    }
}
