//! `report.xlsx`: one sheet per table, written with `rust_xlsxwriter`.
//!
//! Cells are typed (integers and decimals as numbers with a display format,
//! text as text), the header row is frozen and columns are autofitted. Text
//! is always written with `write_string`, which never creates a formula;
//! text a spreadsheet would treat as one (first character `=`, `+`, `-`,
//! `@`, tab or carriage return) additionally gets Excel's "quote prefix"
//! style, the hidden leading `'`, so it stays text even when a user edits
//! the cell. The file is reproducible: the document's creation date is the
//! first day after the report month (never the clock) and `rust_xlsxwriter`
//! stamps every zip entry 1980-01-01.

use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, FormatAlign, Workbook};

use super::format::{Grid, Value};
use super::{BundleInput, PublishError};

/// Excel's limit on sheet names.
pub const MAX_SHEET_NAME: usize = 31;

fn xlsx_err(what: &'static str) -> impl FnOnce(rust_xlsxwriter::XlsxError) -> PublishError {
    move |source| PublishError::Xlsx { what, source }
}

/// Whether a spreadsheet could interpret this text as a formula.
pub fn looks_like_formula(s: &str) -> bool {
    matches!(s.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r'))
}

/// The sheet name of a table: its name, cut to 31 characters.
pub fn sheet_name(table: &str) -> String {
    table.chars().take(MAX_SHEET_NAME).collect()
}

pub fn build(input: &BundleInput, grids: &[Grid]) -> Result<Vec<u8>, PublishError> {
    let mut wb = Workbook::new();
    let end = input.month.next();
    let created =
        ExcelDateTime::from_ymd(end.year.clamp(1900, 9999) as u16, end.month as u8, 1).map_err(xlsx_err("document creation date"))?;
    let props = DocProperties::new()
        .set_title(format!("Laporan tindak lanjut pengaduan ketenagakerjaan {}", input.month))
        .set_subject(format!("Periode {} · data s.d. {}", input.month, input.as_of))
        .set_author("wasnaker")
        .set_comment(format!("wasnaker {}", input.program_version))
        .set_creation_datetime(&created);
    wb.set_properties(&props);

    let header = Format::new()
        .set_bold()
        .set_background_color(0x1F3B57)
        .set_font_color(0xFFFFFF)
        .set_align(FormatAlign::Center);
    let int_fmt = Format::new().set_num_format("#,##0");
    let text_fmt = Format::new();
    let quoted = Format::new().set_quote_prefix();

    let mut seen = std::collections::BTreeSet::new();
    for (table, grid) in input.tables.iter().zip(grids) {
        let name = sheet_name(&table.name);
        if !seen.insert(name.to_lowercase()) {
            return Err(PublishError::Input {
                message: format!("two tables share the sheet name {name:?} (Excel cuts names at {MAX_SHEET_NAME} characters); rename one"),
            });
        }
        let ws = wb.add_worksheet();
        ws.set_name(&name).map_err(xlsx_err("sheet name"))?;
        for (c, col) in grid.columns.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, col, &header)
                .map_err(xlsx_err("header cell"))?;
        }
        for (r, row) in grid.rows.iter().enumerate() {
            let r = r as u32 + 1;
            for (c, v) in row.iter().enumerate() {
                let c = c as u16;
                let written = match v {
                    Value::Null => continue,
                    Value::Int(i) => ws.write_number_with_format(r, c, *i as f64, &int_fmt),
                    Value::Decimal(u, s) => {
                        let fmt = Format::new().set_num_format(decimal_format(*s));
                        ws.write_number_with_format(r, c, *u as f64 / 10f64.powi(*s as i32), &fmt)
                    }
                    Value::Float(f) => ws.write_number_with_format(r, c, *f, &Format::new().set_num_format("#,##0.0")),
                    Value::Bool(b) => ws.write_boolean(r, c, *b),
                    Value::Text(t) if looks_like_formula(t) => ws.write_string_with_format(r, c, t, &quoted),
                    Value::Text(t) => ws.write_string_with_format(r, c, t, &text_fmt),
                };
                written.map_err(xlsx_err("data cell"))?;
            }
        }
        ws.set_freeze_panes(1, 0).map_err(xlsx_err("freeze panes"))?;
        ws.set_autofit_max_width(400);
        ws.autofit();
    }
    wb.save_to_buffer().map_err(xlsx_err("workbook"))
}

/// `#,##0.0` for one decimal, `#,##0` for none.
fn decimal_format(scale: u32) -> String {
    if scale == 0 {
        "#,##0".to_string()
    } else {
        format!("#,##0.{}", "0".repeat(scale as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formula_lookalikes() {
        for s in ["=1+1", "+62 812", "-5", "@SUM(A1)", "\tx", "\rx"] {
            assert!(looks_like_formula(s), "{s:?}");
        }
        for s in ["", "abc", "12", " =x"] {
            assert!(!looks_like_formula(s), "{s:?}");
        }
        assert_eq!(
            sheet_name("a_very_long_table_name_that_goes_beyond"),
            "a_very_long_table_name_that_goe"
        );
        assert_eq!(decimal_format(1), "#,##0.0");
    }
}
