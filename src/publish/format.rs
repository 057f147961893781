//! Formatting for people: Indonesian numbers (`1.234,5`), month names, HTML
//! escaping, and the typed cell values read from the query results.
//!
//! Formatting only: nothing here rounds, sums or derives a figure (the CSV
//! files keep the machine format of `report.md`; this is for HTML and XLSX).

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type};
use arrow::record_batch::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::clock::Month;

/// Indonesian month names, January first.
pub const MONTHS_ID: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];

/// Three-letter Indonesian month abbreviations.
pub const MONTHS_ID_SHORT: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des"];

/// `Oktober 2026`.
pub fn month_long(m: Month) -> String {
    let name = MONTHS_ID.get(m.month.saturating_sub(1) as usize).copied().unwrap_or("?");
    format!("{name} {}", m.year)
}

/// `Okt 2026`.
pub fn month_short(m: Month) -> String {
    let name = MONTHS_ID_SHORT.get(m.month.saturating_sub(1) as usize).copied().unwrap_or("?");
    format!("{name} {}", m.year)
}

/// Escape text for HTML element content and double-quoted attribute values.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Group the digits of a non-negative integer string with `.` every three.
fn group_thousands(digits: &str) -> String {
    let n = digits.len();
    let mut out = String::with_capacity(n + n / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (n - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// `1234567` → `1.234.567`.
pub fn fmt_int(v: i128) -> String {
    let digits = v.unsigned_abs().to_string();
    let sign = if v < 0 { "-" } else { "" };
    format!("{sign}{}", group_thousands(&digits))
}

/// An exact decimal `unscaled × 10^-scale` → `1.234,5`.
pub fn fmt_decimal(unscaled: i128, scale: u32) -> String {
    if scale == 0 {
        return fmt_int(unscaled);
    }
    let digits = unscaled.unsigned_abs().to_string();
    let padded = format!("{digits:0>width$}", width = scale as usize + 1);
    let (int, frac) = padded.split_at(padded.len() - scale as usize);
    let sign = if unscaled < 0 { "-" } else { "" };
    format!("{sign}{},{frac}", group_thousands(int))
}

/// A decimal in machine format (`-12.5`, `1234`) as `(unscaled, scale)`.
pub fn parse_decimal(s: &str) -> Option<(i128, u32)> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let unscaled: i128 = format!("{int}{frac}").parse().ok()?;
    Some((if neg { -unscaled } else { unscaled }, frac.len() as u32))
}

/// A machine-format decimal string (`12.5`) the Indonesian way (`12,5`);
/// anything that is not a decimal is returned unchanged.
pub fn fmt_decimal_str(s: &str) -> String {
    match parse_decimal(s) {
        Some((u, scale)) => fmt_decimal(u, scale),
        None => s.to_string(),
    }
}

/// A float with a fixed number of decimals, the Indonesian way.
pub fn fmt_float(v: f64, decimals: u32) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    fmt_decimal_str(&format!("{v:.prec$}", prec = decimals as usize))
}

/// A signed change: `+12`, `-3`, `±0`.
pub fn fmt_change_int(d: i128) -> String {
    match d.signum() {
        0 => "±0".to_string(),
        1 => format!("+{}", fmt_int(d)),
        _ => fmt_int(d),
    }
}

/// A signed change between two machine-format decimals (`12.5` − `10`):
/// `+2,5`; `None` when either side is not a decimal.
pub fn decimal_change(now: &str, before: &str) -> Option<(i128, u32)> {
    let (a, sa) = parse_decimal(now)?;
    let (b, sb) = parse_decimal(before)?;
    let scale = sa.max(sb);
    let a = a.checked_mul(10i128.checked_pow(scale - sa)?)?;
    let b = b.checked_mul(10i128.checked_pow(scale - sb)?)?;
    Some((a.checked_sub(b)?, scale))
}

/// `+2,5` / `-1,0` / `±0,0`.
pub fn fmt_change_decimal(unscaled: i128, scale: u32) -> String {
    match unscaled.signum() {
        0 => format!("±{}", fmt_decimal(0, scale)),
        1 => format!("+{}", fmt_decimal(unscaled, scale)),
        _ => fmt_decimal(unscaled, scale),
    }
}

/// One cell of a query result, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i128),
    /// Exact decimal: `unscaled × 10^-scale`.
    Decimal(i128, u32),
    Float(f64),
    Bool(bool),
    Text(String),
}

impl Value {
    /// The Indonesian display form (`Null` → empty).
    pub fn display(&self) -> String {
        match self {
            Value::Null => String::new(),
            Value::Int(v) => fmt_int(*v),
            Value::Decimal(u, s) => fmt_decimal(*u, *s),
            Value::Float(f) => fmt_float(*f, 1),
            Value::Bool(b) => if *b { "ya" } else { "tidak" }.to_string(),
            Value::Text(t) => t.clone(),
        }
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Value::Int(_) | Value::Decimal(..) | Value::Float(_))
    }

    /// An integer count, when the value is one.
    pub fn as_int(&self) -> Option<i128> {
        match self {
            Value::Int(v) => Some(*v),
            Value::Decimal(u, 0) => Some(*u),
            _ => None,
        }
    }

    /// The value as a float, for chart scales and spreadsheets (never for a
    /// published figure).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(v) => Some(*v as f64),
            Value::Decimal(u, s) => Some(*u as f64 / 10f64.powi(*s as i32)),
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

fn column_values(array: &ArrayRef) -> Vec<Value> {
    let n = array.len();
    let ints = |get: &dyn Fn(usize) -> i128| -> Vec<Value> {
        (0..n)
            .map(|i| if array.is_null(i) { Value::Null } else { Value::Int(get(i)) })
            .collect()
    };
    match array.data_type() {
        DataType::Int8 => ints(&|i| array.as_primitive::<Int8Type>().value(i).into()),
        DataType::Int16 => ints(&|i| array.as_primitive::<Int16Type>().value(i).into()),
        DataType::Int32 => ints(&|i| array.as_primitive::<Int32Type>().value(i).into()),
        DataType::Int64 => ints(&|i| array.as_primitive::<Int64Type>().value(i).into()),
        DataType::UInt8 => ints(&|i| array.as_primitive::<UInt8Type>().value(i).into()),
        DataType::UInt16 => ints(&|i| array.as_primitive::<UInt16Type>().value(i).into()),
        DataType::UInt32 => ints(&|i| array.as_primitive::<UInt32Type>().value(i).into()),
        DataType::UInt64 => ints(&|i| array.as_primitive::<UInt64Type>().value(i).into()),
        DataType::Float32 | DataType::Float64 => {
            let floats: Vec<Option<f64>> = match array.data_type() {
                DataType::Float32 => array
                    .as_primitive::<arrow::datatypes::Float32Type>()
                    .iter()
                    .map(|v| v.map(f64::from))
                    .collect(),
                _ => array.as_primitive::<arrow::datatypes::Float64Type>().iter().collect(),
            };
            floats.into_iter().map(|v| v.map_or(Value::Null, Value::Float)).collect()
        }
        DataType::Decimal128(_, scale) => {
            let a = array.as_primitive::<arrow::datatypes::Decimal128Type>();
            let scale = *scale;
            a.iter()
                .map(|v| match v {
                    None => Value::Null,
                    Some(u) if scale >= 0 => Value::Decimal(u, scale as u32),
                    Some(u) => Value::Int(u.saturating_mul(10i128.saturating_pow(scale.unsigned_abs() as u32))),
                })
                .collect()
        }
        DataType::Boolean => array.as_boolean().iter().map(|v| v.map_or(Value::Null, Value::Bool)).collect(),
        DataType::Utf8 => array
            .as_string::<i32>()
            .iter()
            .map(|v| v.map_or(Value::Null, |s| Value::Text(s.to_string())))
            .collect(),
        DataType::LargeUtf8 => array
            .as_string::<i64>()
            .iter()
            .map(|v| v.map_or(Value::Null, |s| Value::Text(s.to_string())))
            .collect(),
        DataType::Utf8View => array
            .as_string_view()
            .iter()
            .map(|v| v.map_or(Value::Null, |s| Value::Text(s.to_string())))
            .collect(),
        _ => {
            // Dates, timestamps, anything else: arrow's own display form.
            let opts = FormatOptions::default();
            match ArrayFormatter::try_new(array.as_ref(), &opts) {
                Ok(f) => (0..n)
                    .map(|i| {
                        if array.is_null(i) {
                            Value::Null
                        } else {
                            Value::Text(f.value(i).to_string())
                        }
                    })
                    .collect(),
                Err(_) => (0..n).map(|_| Value::Null).collect(),
            }
        }
    }
}

/// A query result as typed rows: column names and values, batches concatenated.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

impl Grid {
    pub fn from_batches(batches: &[RecordBatch]) -> Grid {
        let mut grid = Grid::default();
        if let Some(first) = batches.first() {
            grid.columns = first.schema().fields().iter().map(|f| f.name().clone()).collect();
        }
        for batch in batches {
            let cols: Vec<Vec<Value>> = batch.columns().iter().map(column_values).collect();
            for r in 0..batch.num_rows() {
                grid.rows
                    .push(cols.iter().map(|c| c.get(r).cloned().unwrap_or(Value::Null)).collect());
            }
        }
        grid
    }

    pub fn col(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The value of `column` in `row`, `Null` when the column is absent.
    pub fn get(&self, row: &[Value], column: &str) -> Value {
        self.col(column).and_then(|i| row.get(i).cloned()).unwrap_or(Value::Null)
    }

    /// The row whose `key_column` holds the text `key`.
    pub fn row_by(&self, key_column: &str, key: &str) -> Option<&Vec<Value>> {
        let i = self.col(key_column)?;
        self.rows.iter().find(|r| r.get(i).and_then(Value::as_text) == Some(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indonesian_numbers() {
        assert_eq!(fmt_int(0), "0");
        assert_eq!(fmt_int(999), "999");
        assert_eq!(fmt_int(1000), "1.000");
        assert_eq!(fmt_int(1234567), "1.234.567");
        assert_eq!(fmt_int(-1234), "-1.234");
        assert_eq!(fmt_decimal(12345, 1), "1.234,5");
        assert_eq!(fmt_decimal(5, 1), "0,5");
        assert_eq!(fmt_decimal(-5, 1), "-0,5");
        assert_eq!(fmt_decimal(500, 1), "50,0");
        assert_eq!(fmt_decimal_str("12.5"), "12,5");
        assert_eq!(fmt_decimal_str("100.0"), "100,0");
        assert_eq!(fmt_decimal_str("abc"), "abc");
        assert_eq!(fmt_float(1234.25, 1), "1.234,2");
        assert_eq!(decimal_change("12.5", "10"), Some((25, 1)));
        assert_eq!(fmt_change_decimal(-25, 1), "-2,5");
        assert_eq!(fmt_change_decimal(0, 1), "±0,0");
        assert_eq!(fmt_change_int(1200), "+1.200");
        assert_eq!(fmt_change_int(0), "±0");
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape_html(r#"<script>alert("x&y")</script>'"#),
            "&lt;script&gt;alert(&quot;x&amp;y&quot;)&lt;/script&gt;&#39;"
        );
    }

    #[test]
    fn month_names() {
        assert_eq!(month_long(Month { year: 2026, month: 10 }), "Oktober 2026");
        assert_eq!(month_short(Month { year: 2025, month: 8 }), "Agu 2025");
    }
}
