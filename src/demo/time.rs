//! Day numbers, instants and their text forms.
//!
//! Internally a date is a day number (days since 1970-01-01) and an instant is
//! milliseconds since the Unix epoch; nights are Asia/Jakarta dates (+07:00, no
//! daylight saving). Formatting is done by hand: it runs tens of millions of
//! times at national scale.

use chrono::{Datelike, NaiveDate};
use std::fmt::Write as _;

pub(crate) const DAY_MS: i64 = 86_400_000;
pub(crate) const HOUR_MS: i64 = 3_600_000;
pub(crate) const MINUTE_MS: i64 = 60_000;
/// Jakarta's offset from UTC in minutes.
pub(crate) const WIB: i32 = 7 * 60;
pub(crate) const WITA: i32 = 8 * 60;
pub(crate) const WIT: i32 = 9 * 60;

/// Day number of a calendar date.
pub(crate) fn day_of(d: NaiveDate) -> i64 {
    i64::from(d.num_days_from_ce()) - 719_163
}

/// Calendar date of a day number.
pub(crate) fn date_of(day: i64) -> NaiveDate {
    let (y, m, d) = civil(day);
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// Instant of a Jakarta wall-clock time on a day.
pub(crate) fn jkt_ms(day: i64, secs_of_day: i64) -> i64 {
    (day * 86_400 + secs_of_day) * 1000 - i64::from(WIB) * MINUTE_MS
}

/// Jakarta date (day number) of an instant.
pub(crate) fn jkt_day(ms: i64) -> i64 {
    (ms + i64::from(WIB) * MINUTE_MS).div_euclid(DAY_MS)
}

/// The last instant (millisecond) of a Jakarta day.
pub(crate) fn jkt_day_end(day: i64) -> i64 {
    jkt_ms(day + 1, 0) - 1
}

/// (year, month, day) of a day number (Howard Hinnant's civil_from_days).
pub(crate) fn civil(day: i64) -> (i32, u32, u32) {
    let z = day + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    ((if m <= 2 { y + 1 } else { y }) as i32, m, d)
}

/// Day number of (year, month, day) (Howard Hinnant's days_from_civil).
pub(crate) fn days_from_civil(y: i32, m: u32, d: u32) -> i64 {
    let y = i64::from(if m <= 2 { y - 1 } else { y });
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Month index (`year * 12 + month - 1`) of a day.
pub(crate) fn month_of(day: i64) -> i64 {
    let (y, m, _) = civil(day);
    i64::from(y) * 12 + i64::from(m) - 1
}

/// First day of a month index.
pub(crate) fn month_start(month: i64) -> i64 {
    days_from_civil(month.div_euclid(12) as i32, (month.rem_euclid(12) + 1) as u32, 1)
}

pub(crate) fn days_in_month(month: i64) -> i64 {
    month_start(month + 1) - month_start(month)
}

/// Day of week, 0 = Monday .. 6 = Sunday.
pub(crate) fn weekday(day: i64) -> i64 {
    (day + 3).rem_euclid(7)
}

fn push2(buf: &mut String, v: u32) {
    buf.push(char::from(b'0' + (v / 10 % 10) as u8));
    buf.push(char::from(b'0' + (v % 10) as u8));
}

/// `YYYY-MM-DD`.
pub(crate) fn write_date(buf: &mut String, day: i64) {
    let (y, m, d) = civil(day);
    let _ = write!(buf, "{y:04}-");
    push2(buf, m);
    buf.push('-');
    push2(buf, d);
}

/// `YYYY-MM` of a month index.
pub(crate) fn write_month(buf: &mut String, month: i64) {
    let _ = write!(buf, "{:04}-", month.div_euclid(12));
    push2(buf, (month.rem_euclid(12) + 1) as u32);
}

/// How an instant is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TsStyle {
    /// Offset from UTC in minutes; `None` writes UTC with `Z`.
    pub offset_min: Option<i32>,
    /// Always write milliseconds (otherwise only when not zero).
    pub millis: bool,
}

impl TsStyle {
    pub(crate) const JAKARTA: TsStyle = TsStyle {
        offset_min: Some(WIB),
        millis: false,
    };
    pub(crate) const ZULU_MILLIS: TsStyle = TsStyle {
        offset_min: None,
        millis: true,
    };
    pub(crate) fn local(offset_min: i32) -> TsStyle {
        TsStyle {
            offset_min: Some(offset_min),
            millis: false,
        }
    }
}

/// RFC 3339 text of an instant.
pub(crate) fn write_ts(buf: &mut String, ms: i64, style: TsStyle) {
    let off = style.offset_min.unwrap_or(0);
    let local = ms + i64::from(off) * MINUTE_MS;
    let day = local.div_euclid(DAY_MS);
    let in_day = local.rem_euclid(DAY_MS);
    write_date(buf, day);
    buf.push('T');
    let secs = in_day / 1000;
    push2(buf, (secs / 3600) as u32);
    buf.push(':');
    push2(buf, (secs / 60 % 60) as u32);
    buf.push(':');
    push2(buf, (secs % 60) as u32);
    let frac = in_day % 1000;
    if style.millis || frac != 0 {
        let _ = write!(buf, ".{frac:03}");
    }
    match style.offset_min {
        None => buf.push('Z'),
        Some(o) => {
            buf.push(if o < 0 { '-' } else { '+' });
            let a = o.unsigned_abs();
            push2(buf, a / 60);
            buf.push(':');
            push2(buf, a % 60);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_round_trips_and_matches_chrono() {
        for day in -1000..30_000 {
            let (y, m, d) = civil(day);
            assert_eq!(days_from_civil(y, m, d), day);
            let nd = date_of(day);
            assert_eq!(day_of(nd), day);
        }
    }

    #[test]
    fn formats_offsets_and_fractions() {
        let day = days_from_civil(2026, 10, 3);
        let ms = jkt_ms(day, 9 * 3600 + 15 * 60);
        let mut s = String::new();
        write_ts(&mut s, ms, TsStyle::JAKARTA);
        assert_eq!(s, "2026-10-03T09:15:00+07:00");
        s.clear();
        write_ts(&mut s, ms + 250, TsStyle::ZULU_MILLIS);
        assert_eq!(s, "2026-10-03T02:15:00.250Z");
        s.clear();
        // 23:30 Jakarta on 30 September is 00:30 +08:00 on 1 October.
        let late = jkt_ms(days_from_civil(2026, 9, 30), 23 * 3600 + 30 * 60);
        write_ts(&mut s, late, TsStyle::local(WITA));
        assert_eq!(s, "2026-10-01T00:30:00+08:00");
        assert_eq!(jkt_day(late), days_from_civil(2026, 9, 30));
        assert_eq!(weekday(days_from_civil(2026, 11, 29)), 6);
        assert_eq!(month_start(month_of(day)), days_from_civil(2026, 10, 1));
        assert_eq!(days_in_month(month_of(days_from_civil(2028, 2, 10))), 29);
    }
}
