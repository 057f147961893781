//! The header comment of a query file.
//!
//! Every file in `queries/` starts with a block of `--` comment lines that
//! says what the file is, for people and for the program:
//!
//! ```sql
//! -- table: followup_by_province
//! -- kind: report
//! -- title_id: Tindak lanjut pengaduan per provinsi
//! -- title_en: Complaint follow-up by province
//! -- params: $period, $month_start, $month_end
//! -- description: One paragraph in plain language saying what is counted;
//! --   a line indented by two spaces after `--` continues the field above.
//! -- column period: the report month, `YYYY-MM`
//! -- column received: complaints received in the month
//! ```
//!
//! - `table`: the name of the output; it equals the file name without `.sql`.
//! - `kind`: `report` (a published table, collected) or `view` (a helper
//!   other queries read; never published).
//! - `title_id`, `title_en`: titles in Bahasa Indonesia and English.
//! - `params`: the `$parameters` the SQL uses, comma-separated (may be empty).
//! - `description`: the methodology note of the table.
//! - `column <name>`: the meaning of output column `<name>`, one line per
//!   column (optional; `wasnaker check` requires one for every column of a
//!   `report`). They make the data dictionary of the published tables.
//!
//! The header ends at the first line that does not start with `--`; bare
//! `--` lines inside it are ignored. Parsing never looks at the SQL itself.

use std::path::Path;

use super::error::{QueryError, Result};

/// Whether a query's output is published or only read by other queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryKind {
    /// A published table of the report: executed, collected and returned.
    Report,
    /// A helper view: registered in the context for other queries to read.
    View,
}

impl QueryKind {
    /// The header spelling (`report` / `view`).
    pub fn as_str(self) -> &'static str {
        match self {
            QueryKind::Report => "report",
            QueryKind::View => "view",
        }
    }
}

/// A declared parameter and the line that declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeclaredParam {
    pub name: String,
    pub line: usize,
}

/// The documented meaning of one output column (`-- column <name>: ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDoc {
    /// The output column's name.
    pub name: String,
    /// The header line that documents it.
    pub line: usize,
    /// What the column holds, in plain language.
    pub meaning: String,
}

/// The parsed header of one query file.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub table: String,
    pub table_line: usize,
    pub kind: QueryKind,
    pub title_id: String,
    pub title_en: String,
    pub params: Vec<DeclaredParam>,
    pub params_line: usize,
    pub description: String,
    pub columns: Vec<ColumnDoc>,
}

/// The prefix of a column's key: `-- column <name>: <meaning>`.
const COLUMN_KEY: &str = "column ";

const KEYS: [&str; 6] = ["table", "kind", "title_id", "title_en", "params", "description"];

const EXPECTED_FIRST: &str = "expected the header of a query file: `-- table: <name>`, then `-- kind:`, `-- title_id:`, `-- title_en:`, `-- params:` and `-- description:` lines";

/// Parses the header of `text`, the content of `file`.
pub(crate) fn parse_header(file: &Path, text: &str) -> Result<Header> {
    let err = |line: usize, message: String| QueryError::Header {
        file: file.to_path_buf(),
        line,
        message,
    };

    // (key, line, value) in file order; a column's key is `column <name>`.
    let mut fields: Vec<(String, usize, String)> = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let Some(body) = raw.strip_prefix("--") else {
            break;
        };
        let body = body.trim_end();
        if body.trim().is_empty() {
            continue;
        }
        if let Some(more) = body.strip_prefix("  ") {
            let Some(last) = fields.last_mut() else {
                return Err(err(line, format!("{EXPECTED_FIRST}; found a continuation line")));
            };
            if !last.2.is_empty() {
                last.2.push(' ');
            }
            last.2.push_str(more.trim());
            continue;
        }
        let Some(body) = body.strip_prefix(' ') else {
            return Err(err(
                line,
                "expected `-- <key>: <value>` (one space after `--`) or a continuation line indented by two spaces (`--   more text`)"
                    .to_string(),
            ));
        };
        let Some((key, value)) = body.split_once(':') else {
            return Err(err(
                line,
                "expected `-- <key>: <value>` or a continuation line indented by two spaces (`--   more text`)".to_string(),
            ));
        };
        let key = key.trim();
        if let Some(column) = key.strip_prefix(COLUMN_KEY) {
            if !is_identifier(column.trim()) {
                return Err(err(
                    line,
                    format!(
                        "`-- column {column}:` does not name a column: expected lower-case letters, digits and `_`, starting with a letter"
                    ),
                ));
            }
        } else if !KEYS.contains(&key) {
            return Err(err(
                line,
                format!(
                    "unknown header key `{key}`; expected one of {}, or `column <name>`",
                    KEYS.join(", ")
                ),
            ));
        }
        let key = match key.strip_prefix(COLUMN_KEY) {
            Some(column) => format!("{COLUMN_KEY}{}", column.trim()),
            None => key.to_string(),
        };
        if let Some((_, first, _)) = fields.iter().find(|(k, _, _)| *k == key) {
            return Err(err(line, format!("header key `{key}` is given twice (first on line {first})")));
        }
        fields.push((key, line, value.trim().to_string()));
    }

    if fields.is_empty() {
        return Err(err(1, EXPECTED_FIRST.to_string()));
    }

    let get = |key: &str| -> Result<(usize, String)> {
        let Some((_, line, value)) = fields.iter().find(|(k, _, _)| *k == key) else {
            return Err(err(1, format!("the header lacks `-- {key}: ...`")));
        };
        if value.is_empty() && key != "params" {
            return Err(err(*line, format!("header key `{key}` is empty")));
        }
        Ok((*line, value.clone()))
    };

    let (table_line, table) = get("table")?;
    if !is_identifier(&table) {
        return Err(err(
            table_line,
            format!("table `{table}` is not a valid name: expected lower-case letters, digits and `_`, starting with a letter"),
        ));
    }
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    if stem != table {
        return Err(err(
            table_line,
            format!("table `{table}` does not match the file name: name the file `{table}.sql` or the table `{stem}`"),
        ));
    }

    let (kind_line, kind) = get("kind")?;
    let kind = match kind.as_str() {
        "report" => QueryKind::Report,
        "view" => QueryKind::View,
        other => {
            return Err(err(
                kind_line,
                format!("kind `{other}` is not valid; expected `report` (a published table) or `view` (a helper read by other queries)"),
            ));
        }
    };

    let (_, title_id) = get("title_id")?;
    let (_, title_en) = get("title_en")?;
    let (params_line, params_text) = get("params")?;
    let params = parse_params(&params_text, params_line).map_err(|m| err(params_line, m))?;
    let (_, description) = get("description")?;
    let mut columns = Vec::new();
    for (key, line, meaning) in &fields {
        let Some(name) = key.strip_prefix(COLUMN_KEY) else { continue };
        if meaning.is_empty() {
            return Err(err(*line, format!("`-- column {name}:` is empty: say what the column holds")));
        }
        columns.push(ColumnDoc {
            name: name.to_string(),
            line: *line,
            meaning: meaning.clone(),
        });
    }

    Ok(Header {
        table,
        table_line,
        kind,
        title_id,
        title_en,
        params,
        params_line,
        description,
        columns,
    })
}

fn parse_params(text: &str, line: usize) -> std::result::Result<Vec<DeclaredParam>, String> {
    let mut params: Vec<DeclaredParam> = Vec::new();
    if text.trim().is_empty() {
        return Ok(params);
    }
    for item in text.split(',') {
        let item = item.trim();
        let name = item
            .strip_prefix('$')
            .filter(|n| is_identifier(n))
            .ok_or_else(|| format!("params: expected `$name` items separated by commas, found `{item}`"))?;
        if params.iter().any(|p| p.name == name) {
            return Err(format!("params: `${name}` is listed twice"));
        }
        params.push(DeclaredParam {
            name: name.to_string(),
            line,
        });
    }
    Ok(params)
}

/// A lower-case SQL identifier that needs no quoting.
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase()) && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
