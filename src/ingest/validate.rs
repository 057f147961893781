//! Row validation against the contract: one raw field in, one typed value or
//! a reason out. Reasons name the column and the rule, never the value (a
//! value may be personal data).

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate};

use crate::contract::reference::{is_bps_province, is_province};
use crate::contract::{ColType, Column, RowRule, Rule, Table};

/// A validated value, in the lake's representation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Null,
    Str(String),
    Int(i64),
    Bool(bool),
    /// Nanoseconds since the epoch (UTC).
    Ts(i64),
    /// Days since the epoch.
    Date(i32),
    List(Vec<String>),
    /// A 16-byte row hash (bookkeeping columns only).
    Hash([u8; 16]),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// Why a row is quarantined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    pub column: Option<&'static str>,
    pub reason: String,
}

impl RowError {
    pub fn row(reason: impl Into<String>) -> Self {
        RowError {
            column: None,
            reason: reason.into(),
        }
    }
    fn col(column: &Column, reason: impl Into<String>) -> Self {
        RowError {
            column: Some(column.name),
            reason: reason.into(),
        }
    }
}

/// What validation needs to know about the night.
#[derive(Debug, Clone, Copy)]
pub struct NightBounds {
    pub night: NaiveDate,
    /// Jakarta midnight after the extract date, in ns: no instant may reach it.
    pub end_ns: i64,
}

impl NightBounds {
    pub fn new(night: NaiveDate) -> Self {
        let next = night.succ_opt().unwrap_or(night);
        let end_ns = crate::clock::jakarta_midnight(next).timestamp_nanos_opt().unwrap_or(i64::MAX);
        NightBounds { night, end_ns }
    }
}

pub fn days_since_epoch(d: NaiveDate) -> i32 {
    (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as i32
}

/// A raw field as found in a file.
pub enum Raw<'a> {
    /// CSV text (`None` = empty field = null).
    Text(Option<&'a str>),
    /// JSON value (`None` = absent key or `null`).
    Json(Option<&'a Json<'a>>),
}

/// A JSON value as validation sees it: what `serde_json` parsed, without a
/// `serde_json::Value` (no map per row, strings borrowed from the line unless
/// they hold escapes). Numbers keep exactly the distinctions that
/// `serde_json::Number` makes, so a value is accepted or refused as before.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Json<'a> {
    /// `null` (also: a key absent from the object).
    #[default]
    Null,
    Bool(bool),
    /// An integer read as unsigned: `0 ..= u64::MAX`.
    PosInt(u64),
    /// A negative integer that fits an `i64`.
    NegInt(i64),
    /// A number with a fraction or an exponent, a larger integer, or `-0`.
    Float,
    Str(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    /// An object (validation never looks inside one).
    Object,
}

impl<'a> Json<'a> {
    /// The same value from a parsed `serde_json::Value`.
    pub fn from_value(v: &'a serde_json::Value) -> Json<'a> {
        match v {
            serde_json::Value::Null => Json::Null,
            serde_json::Value::Bool(b) => Json::Bool(*b),
            serde_json::Value::Number(n) => match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => Json::PosInt(u),
                (None, Some(i)) => Json::NegInt(i),
                (None, None) => Json::Float,
            },
            serde_json::Value::String(s) => Json::Str(Cow::Borrowed(s)),
            serde_json::Value::Array(items) => Json::Array(items.iter().map(Json::from_value).collect()),
            serde_json::Value::Object(_) => Json::Object,
        }
    }
}

pub fn field(col: &Column, raw: Raw<'_>, bounds: &NightBounds) -> Result<Value, RowError> {
    let value = match raw {
        Raw::Text(None) | Raw::Json(None) | Raw::Json(Some(Json::Null)) => Value::Null,
        Raw::Text(Some(s)) => from_text(col, s, bounds)?,
        Raw::Json(Some(v)) => from_json(col, v, bounds)?,
    };
    if value == Value::Null {
        if !col.nullable {
            return Err(RowError::col(col, "is empty but required (null is not allowed)"));
        }
        return Ok(Value::Null);
    }
    check_rule(col, &value)?;
    // A set delivered in any order is stored in contract order, so that an
    // unchanged set never counts as a change of the row.
    if let (Rule::SubsetOf(codes), Value::List(mut items)) = (col.rule, value.clone()) {
        items.sort_by_key(|it| codes.iter().position(|c| c == it));
        return Ok(Value::List(items));
    }
    Ok(value)
}

fn from_text(col: &Column, s: &str, bounds: &NightBounds) -> Result<Value, RowError> {
    match col.ty {
        ColType::Str => Ok(Value::Str(s.to_string())),
        ColType::Int => parse_int_text(col, s),
        ColType::Bool => match s {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(RowError::col(col, "is not a boolean: expected `true` or `false`")),
        },
        ColType::Timestamp => parse_timestamp(col, s, bounds),
        ColType::Date => parse_date(col, s, bounds),
        ColType::StrList => Err(RowError::col(col, "a list column cannot come from CSV")),
    }
}

fn parse_int_text(col: &Column, s: &str) -> Result<Value, RowError> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RowError::col(
            col,
            "is not a whole number (digits only, no sign, decimals or separators)",
        ));
    }
    if s.starts_with('-') && digits.bytes().any(|b| b != b'0') {
        return Err(RowError::col(col, "is negative: counts and amounts are never negative"));
    }
    digits
        .parse::<i64>()
        .map(Value::Int)
        .map_err(|_| RowError::col(col, "is out of range for a 64-bit whole number"))
}

fn parse_timestamp(col: &Column, s: &str, bounds: &NightBounds) -> Result<Value, RowError> {
    let t = DateTime::parse_from_rfc3339(s).map_err(|_| {
        RowError::col(
            col,
            "is not an RFC 3339 timestamp (e.g. 2026-10-03T09:15:00+07:00 or 2026-10-03T02:15:00.250Z)",
        )
    })?;
    let ns = t
        .timestamp_nanos_opt()
        .ok_or_else(|| RowError::col(col, "is out of range (years 1678–2261)"))?;
    if ns >= bounds.end_ns {
        return Err(RowError::col(
            col,
            format!("lies after the end of the extract date {} (23:59:59 Asia/Jakarta)", bounds.night),
        ));
    }
    Ok(Value::Ts(ns))
}

fn parse_date(col: &Column, s: &str, bounds: &NightBounds) -> Result<Value, RowError> {
    let b = s.as_bytes();
    let shape_ok =
        b.len() == 10 && b[4] == b'-' && b[7] == b'-' && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    // The shape is checked: digits where `%Y-%m-%d` wants them, so the
    // numbers are read directly (`parse_from_str` parsed its format each call).
    let num = |r: std::ops::Range<usize>| b[r].iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0'));
    let d = shape_ok
        .then(|| NaiveDate::from_ymd_opt(num(0..4) as i32, num(5..7), num(8..10)))
        .flatten()
        .ok_or_else(|| RowError::col(col, "is not a date YYYY-MM-DD"))?;
    if d > bounds.night {
        return Err(RowError::col(col, format!("lies after the extract date {}", bounds.night)));
    }
    Ok(Value::Date(days_since_epoch(d)))
}

fn json_kind(v: &Json<'_>) -> &'static str {
    match v {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::PosInt(_) | Json::NegInt(_) | Json::Float => "a number",
        Json::Str(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object => "an object",
    }
}

fn from_json(col: &Column, v: &Json<'_>, bounds: &NightBounds) -> Result<Value, RowError> {
    let type_err = || {
        RowError::col(
            col,
            format!("has the wrong JSON type: expected {}, found {}", col.ty.name(), json_kind(v)),
        )
    };
    match (col.ty, v) {
        (ColType::Str, Json::Str(s)) => Ok(Value::Str(String::from(s.as_ref()))),
        (ColType::Int, Json::PosInt(u)) => match i64::try_from(*u) {
            Ok(i) => Ok(Value::Int(i)),
            Err(_) => Err(RowError::col(col, "is out of range for a 64-bit whole number")),
        },
        (ColType::Int, Json::NegInt(_)) => Err(RowError::col(col, "is negative: counts and amounts are never negative")),
        (ColType::Int, Json::Float) => Err(RowError::col(
            col,
            "is not a whole number: an int is written without fraction or exponent (25, never 25.0 or 2.5e1)",
        )),
        (ColType::Bool, Json::Bool(b)) => Ok(Value::Bool(*b)),
        (ColType::Timestamp, Json::Str(s)) => parse_timestamp(col, s, bounds),
        (ColType::Date, Json::Str(s)) => parse_date(col, s, bounds),
        (ColType::StrList, Json::Array(items)) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Json::Str(s) => out.push(String::from(s.as_ref())),
                    other => {
                        return Err(RowError::col(
                            col,
                            format!(
                                "has the wrong JSON type: expected an array of strings, found {} in it",
                                json_kind(other)
                            ),
                        ));
                    }
                }
            }
            Ok(Value::List(out))
        }
        _ => Err(type_err()),
    }
}

fn check_rule(col: &Column, v: &Value) -> Result<(), RowError> {
    let s = v.as_str();
    match (col.rule, s) {
        (Rule::None, _) => Ok(()),
        (Rule::Digits(n), Some(s)) => {
            if s.len() == n && s.bytes().all(|b| b.is_ascii_digit()) {
                Ok(())
            } else {
                Err(RowError::col(col, format!("must be exactly {n} digits")))
            }
        }
        (Rule::OneOf(codes), Some(s)) => {
            if codes.contains(&s) {
                Ok(())
            } else {
                Err(RowError::col(
                    col,
                    format!("is not a known code; valid values are {}", codes.join(", ")),
                ))
            }
        }
        (Rule::Province, Some(s)) => {
            if is_province(s) {
                Ok(())
            } else {
                Err(RowError::col(col, "is not a Kemendagri province code of provinces.csv"))
            }
        }
        (Rule::ProvinceBps, Some(s)) => {
            if is_bps_province(s) {
                Ok(())
            } else {
                Err(RowError::col(
                    col,
                    "is not a statistics-office (BPS) province code of provinces.csv",
                ))
            }
        }
        (Rule::KbliSection, Some(s)) => {
            if s.len() == 1 && (b'A'..=b'U').contains(&s.as_bytes()[0]) {
                Ok(())
            } else {
                Err(RowError::col(col, "must be one KBLI section letter A–U"))
            }
        }
        (Rule::YearMonth, Some(s)) => {
            let b = s.as_bytes();
            let ok = b.len() == 7
                && b[4] == b'-'
                && b.iter().enumerate().all(|(i, c)| i == 4 || c.is_ascii_digit())
                && matches!(
                    &s[5..7],
                    "01" | "02" | "03" | "04" | "05" | "06" | "07" | "08" | "09" | "10" | "11" | "12"
                );
            if ok {
                Ok(())
            } else {
                Err(RowError::col(col, "must be a month YYYY-MM"))
            }
        }
        (Rule::SubsetOf(codes), _) => {
            let Value::List(items) = v else { return Ok(()) };
            for (i, it) in items.iter().enumerate() {
                if !codes.contains(&it.as_str()) {
                    return Err(RowError::col(
                        col,
                        format!("holds an unknown code; valid values are {}", codes.join(", ")),
                    ));
                }
                if items[..i].contains(it) {
                    return Err(RowError::col(col, "names a program twice"));
                }
            }
            Ok(())
        }
        (_, None) => Ok(()),
    }
}

/// Rules that involve two columns; `values` are in contract column order.
pub fn row_rules(table: &Table, values: &[Value]) -> Result<(), RowError> {
    let get = |name: &str| table.column_index(name).map(|i| &values[i]);
    for rule in table.row_rules {
        match rule {
            RowRule::RegencyInProvince { regency, province } => {
                if let (Some(Value::Str(r)), Some(Value::Str(p))) = (get(regency), get(province))
                    && !r.starts_with(p.as_str())
                {
                    return Err(RowError {
                        column: Some(regency),
                        reason: format!("is not a regency of the row's {province} (a regency code starts with its province code)"),
                    });
                }
            }
            RowRule::ComplaintIdIffComplaintInspection => {
                let is_complaint = matches!(get("inspection_type"), Some(Value::Str(t)) if t == "COMPLAINT");
                let has_id = !matches!(get("complaint_id"), Some(Value::Null) | None);
                if is_complaint && !has_id {
                    return Err(RowError {
                        column: Some("complaint_id"),
                        reason:
                            "is empty but inspection_type is COMPLAINT (it is set if and only if the inspection is a complaint inspection)"
                                .into(),
                    });
                }
                if !is_complaint && has_id {
                    return Err(RowError { column: Some("complaint_id"), reason: "is set but inspection_type is not COMPLAINT (it is set if and only if the inspection is a complaint inspection)".into() });
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::table;

    fn bounds() -> NightBounds {
        NightBounds::new(NaiveDate::from_ymd_opt(2026, 10, 3).unwrap())
    }

    fn col(t: &str, c: &str) -> &'static Column {
        table(t).unwrap().column(c).unwrap()
    }

    #[test]
    fn timestamps_offsets_and_end_of_night() {
        let c = col("complaints", "received_at");
        let b = bounds();
        assert_eq!(field(c, Raw::Text(Some("2026-10-03T23:59:59+07:00")), &b).map(|_| ()), Ok(()));
        assert_eq!(field(c, Raw::Text(Some("2026-10-03T16:59:59.999Z")), &b).map(|_| ()), Ok(()));
        assert!(
            field(c, Raw::Text(Some("2026-10-03T17:00:00Z")), &b)
                .unwrap_err()
                .reason
                .contains("after the end")
        );
        assert!(field(c, Raw::Text(Some("2026-10-03 09:15")), &b).is_err());
        assert_eq!(
            field(c, Raw::Text(Some("2026-10-03T02:15:00.250Z")), &b),
            field(c, Raw::Text(Some("2026-10-03T09:15:00.25+07:00")), &b)
        );
    }

    #[test]
    fn ints_csv_and_json() {
        let c = col("employers", "registered_workers");
        let b = bounds();
        assert_eq!(field(c, Raw::Text(Some("25")), &b), Ok(Value::Int(25)));
        assert!(field(c, Raw::Text(Some("-3")), &b).unwrap_err().reason.contains("negative"));
        assert!(field(c, Raw::Text(Some("2.5")), &b).is_err());
        for bad in ["25.0", "2.5e1", "\"25\"", "1e3"] {
            let v: serde_json::Value = serde_json::from_str(bad).unwrap();
            assert!(field(c, Raw::Json(Some(&Json::from_value(&v))), &b).is_err(), "{bad}");
        }
        let v: serde_json::Value = serde_json::from_str("25").unwrap();
        assert_eq!(field(c, Raw::Json(Some(&Json::from_value(&v))), &b), Ok(Value::Int(25)));
    }

    #[test]
    fn codes_digits_and_nulls() {
        let b = bounds();
        assert!(
            field(col("companies", "size_class"), Raw::Text(Some("HUGE")), &b)
                .unwrap_err()
                .reason
                .contains("MIKRO")
        );
        assert!(field(col("companies", "nib"), Raw::Text(Some("123")), &b).is_err());
        assert_eq!(field(col("companies", "nib"), Raw::Text(None), &b), Ok(Value::Null));
        assert!(field(col("companies", "name"), Raw::Text(None), &b).is_err());
        assert!(field(col("companies", "province_code"), Raw::Text(Some("99")), &b).is_err());
        assert!(field(col("employers", "province_code"), Raw::Text(Some("94")), &b).is_ok());
        assert!(field(col("companies", "province_code"), Raw::Text(Some("96")), &b).is_ok());
        assert!(field(col("contributions", "period"), Raw::Text(Some("2026-13")), &b).is_err());
        let v: serde_json::Value = serde_json::from_str(r#"["JKK","JKK"]"#).unwrap();
        assert!(field(col("employers", "programs"), Raw::Json(Some(&Json::from_value(&v))), &b).is_err());
        let v: serde_json::Value = serde_json::from_str(r#"["JP","JKK"]"#).unwrap();
        assert_eq!(
            field(col("employers", "programs"), Raw::Json(Some(&Json::from_value(&v))), &b),
            Ok(Value::List(vec!["JKK".into(), "JP".into()])),
            "stored in contract order"
        );
        let v: serde_json::Value = serde_json::from_str(r#"[]"#).unwrap();
        assert_eq!(
            field(col("employers", "programs"), Raw::Json(Some(&Json::from_value(&v))), &b),
            Ok(Value::List(vec![]))
        );
    }

    #[test]
    fn dates_read_like_chrono_parse_from_str() {
        let c = col("employers", "registered_on");
        let b = NightBounds::new(NaiveDate::from_ymd_opt(2999, 12, 31).unwrap());
        for s in [
            "2026-10-03",
            "2024-02-29",
            "2023-02-29",
            "2026-00-10",
            "2026-13-01",
            "2026-04-31",
            "2026-04-00",
            "0000-01-01",
            "1970-01-01",
            "2026-1-03",
            "2026/10/03",
            "20261003xx",
            "2026-10-0a",
            "+026-10-03",
            "２０２６-10-03",
        ] {
            let expected = NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .filter(|_| {
                    s.len() == 10
                        && s.bytes()
                            .enumerate()
                            .all(|(i, c)| if i == 4 || i == 7 { c == b'-' } else { c.is_ascii_digit() })
                })
                .map(|d| Value::Date(days_since_epoch(d)));
            assert_eq!(field(c, Raw::Text(Some(s)), &b).ok(), expected, "{s}");
        }
        assert!(field(c, Raw::Text(Some("2026-10-03")), &bounds()).is_ok());
        assert!(
            field(c, Raw::Text(Some("2026-10-04")), &bounds())
                .unwrap_err()
                .reason
                .contains("after the extract date")
        );
    }
}
