//! The data dictionary: every lake table a query sees and every published
//! table, each column with its type, meaning and source.
//!
//! Lake tables come from the extract contract ([`crate::contract`]: column
//! meanings, personal columns, files) and the view schemas
//! ([`super::schemas`]); the few columns that are not in the contract (the
//! ledger's bookkeeping, the reference tables, derived columns) are
//! described here. Published tables come from their query's header (`--
//! column <name>:` lines, the titles and description) and from planning
//! ([`Planned`]: output types, and the lake columns each output column is
//! computed from). `wasnaker tables --describe` prints it; every bundle holds
//! it as `dictionary.csv` ([`Dictionary::to_csv`]) and in its report page.
//! Pure data: no I/O, no clock, stable order.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::error::{QueryError, Result};
use super::lineage::{query_file, sources_inline, upstream_queries, view_origin};
use super::output::to_csv;
use super::plan::{Planned, Sources};
use super::schemas::{view_names, view_schema};
use crate::contract::{EXTRACT_DATE, Kind, Personal};

/// Whether a table is one a query reads or one the report publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// A lake view of `docs/lake-views.md`.
    Lake,
    /// A published table of the report (`data/<table>.csv`).
    Published,
}

impl TableKind {
    /// `lake` or `published`.
    pub fn as_str(self) -> &'static str {
        match self {
            TableKind::Lake => "lake",
            TableKind::Published => "published",
        }
    }
}

/// One column of the dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictColumn {
    pub name: String,
    /// `string`, `int`, `bool`, `timestamp`, `date`, `list<string>`,
    /// `decimal(18,1)` (the names of `docs/lake-views.md`).
    pub data_type: String,
    pub nullable: bool,
    /// What it holds (empty when the query header does not say).
    pub meaning: String,
    /// Where it comes from: the extract file and column, the ledger, a spec
    /// file; for a published column the lake columns it is computed from.
    pub source: String,
}

/// One table of the dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DictTable {
    pub name: String,
    pub kind: TableKind,
    /// What the table is, in one sentence (published: its English title).
    pub title: String,
    /// Which rows it holds (published: the query's description).
    pub description: String,
    /// Where its rows come from: the extract file, the ledger, a spec file,
    /// or the query file.
    pub origin: String,
    /// Published: the helper query files it is computed through, in
    /// execution order.
    pub through: Vec<String>,
    /// Published: the lake views and columns it depends on.
    pub sources: Sources,
    pub columns: Vec<DictColumn>,
}

/// The data dictionary: lake tables in the order of `docs/lake-views.md`,
/// then published tables in publication order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dictionary {
    pub tables: Vec<DictTable>,
}

impl Dictionary {
    /// The lake tables only.
    pub fn lake() -> Result<Dictionary> {
        let mut tables = Vec::with_capacity(view_names().len());
        for view in view_names() {
            tables.push(lake_table(view)?);
        }
        Ok(Dictionary { tables })
    }

    /// The lake tables, then the published tables of `planned` named in
    /// `published` (in that order; a name without a plan is left out).
    pub fn build(planned: &Planned, published: &[&str]) -> Result<Dictionary> {
        let mut dictionary = Dictionary::lake()?;
        for name in published {
            let Some(q) = planned.get(name) else { continue };
            let columns = q
                .schema
                .fields()
                .iter()
                .zip(&q.column_sources)
                .map(|(field, sources)| DictColumn {
                    name: field.name().clone(),
                    data_type: type_name(field.data_type()),
                    nullable: field.is_nullable(),
                    meaning: q
                        .query
                        .columns
                        .iter()
                        .find(|d| d.name == *field.name())
                        .map(|d| d.meaning.clone())
                        .unwrap_or_default(),
                    source: sources_inline(sources),
                })
                .collect();
            dictionary.tables.push(DictTable {
                name: q.query.name.clone(),
                kind: TableKind::Published,
                title: q.query.title_en.clone(),
                description: q.query.description.clone(),
                origin: query_file(&q.query.name),
                through: upstream_queries(planned, name).iter().map(|u| query_file(&u.query.name)).collect(),
                sources: q.sources.clone(),
                columns,
            });
        }
        Ok(dictionary)
    }

    /// The table called `name`.
    pub fn table(&self, name: &str) -> Option<&DictTable> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// `dictionary.csv` of the bundle: one row per column (`table, kind,
    /// column, type, nullable, meaning, source`), written like every
    /// published CSV ([`to_csv`]).
    pub fn to_csv(&self) -> Result<Vec<u8>> {
        let rows: Vec<(&DictTable, &DictColumn)> = self.tables.iter().flat_map(|t| t.columns.iter().map(move |c| (t, c))).collect();
        let text = |f: for<'a> fn(&'a DictTable, &'a DictColumn) -> &'a str| -> ArrayRef {
            Arc::new(StringArray::from_iter_values(rows.iter().map(|(t, c)| f(t, c))))
        };
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            Field::new("table", DataType::Utf8, false),
            Field::new("kind", DataType::Utf8, false),
            Field::new("column", DataType::Utf8, false),
            Field::new("type", DataType::Utf8, false),
            Field::new("nullable", DataType::Boolean, false),
            Field::new("meaning", DataType::Utf8, false),
            Field::new("source", DataType::Utf8, false),
        ]));
        let columns: Vec<ArrayRef> = vec![
            text(|t, _| t.name.as_str()),
            text(|t, _| t.kind.as_str()),
            text(|_, c| c.name.as_str()),
            text(|_, c| c.data_type.as_str()),
            Arc::new(BooleanArray::from_iter(rows.iter().map(|(_, c)| Some(c.nullable)))),
            text(|_, c| c.meaning.as_str()),
            text(|_, c| c.source.as_str()),
        ];
        let batch = RecordBatch::try_new(schema.clone(), columns).map_err(|source| QueryError::Arrow { source })?;
        to_csv(&schema, &[batch])
    }
}

/// The dictionary's name of an Arrow type.
pub fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".to_string(),
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => "int".to_string(),
        DataType::Boolean => "bool".to_string(),
        DataType::Timestamp(_, _) => "timestamp".to_string(),
        DataType::Date32 => "date".to_string(),
        DataType::List(item) => format!("list<{}>", type_name(item.data_type())),
        DataType::Decimal128(p, s) => format!("decimal({p},{s})"),
        other => other.to_string(),
    }
}

/// `(column, meaning, source)` of the lake columns the contract does not
/// describe.
type Described = &'static [(&'static str, &'static str, &'static str)];

/// Title, description and columns of the lake tables that do not come from
/// an extract file.
fn non_contract(view: &str) -> Option<(&'static str, &'static str, Described)> {
    const LEDGER: &str = "ledger: the entry of the night's latest delivery";
    Some(match view {
        "nights" => (
            "Nights delivered by each system, from the ledger.",
            "One row per (system, night) delivered with a night on or before as_of.",
            &[
                ("source", "`inspection` or `insurance`", "ledger: the system's folder"),
                ("extract_date", "the night (extract date)", "ledger: the night's folder"),
                (
                    "state",
                    "`ingested` when any delivery of the night was ingested (a later broken re-delivery does not undo it), else `rejected`",
                    LEDGER,
                ),
            ],
        ),
        "night_tables" => (
            "Rows read, accepted and quarantined per table and night, from the ledger.",
            "One row per table of each ingested night on or before as_of (its latest ingested delivery).",
            &[
                ("source", "`inspection` or `insurance`", "ledger: the system's folder"),
                ("table_name", "the contract table (file name without extensions)", LEDGER),
                (
                    "table_order",
                    "position of the table in extracts.md (1..7)",
                    "contract: table order",
                ),
                ("extract_date", "the night (extract date)", "ledger: the night's folder"),
                ("rows_read", "data rows read from the table's file", LEDGER),
                ("rows_accepted", "rows that reached the lake", LEDGER),
                ("rows_quarantined", "rows set aside with a reason", LEDGER),
            ],
        ),
        "provinces" => (
            "The 38 provinces with their codes in both systems.",
            "Compiled in from spec/provinces.csv.",
            &[
                (
                    "code",
                    "Kemendagri province code (inspection system, report)",
                    "spec/provinces.csv: code",
                ),
                (
                    "bps_code",
                    "statistics-office (BPS) province code (insurance system)",
                    "spec/provinces.csv: bps_code",
                ),
                ("name", "province name", "spec/provinces.csv: name"),
                (
                    "tile_row",
                    "row of the province on the report's tile map",
                    "spec/provinces.csv: tile_row",
                ),
                (
                    "tile_col",
                    "column of the province on the report's tile map",
                    "spec/provinces.csv: tile_col",
                ),
            ],
        ),
        "violations" => (
            "The 13 violation codes of complaints.",
            "Compiled in from spec/violations.csv, in file order.",
            &[
                ("code", "violation code", "spec/violations.csv: code"),
                ("name", "name in Bahasa Indonesia, as published", "spec/violations.csv: name"),
                ("name_en", "name in English", "spec/violations.csv: name_en"),
                (
                    "ord",
                    "1-based position in violations.csv (the report's order)",
                    "spec/violations.csv: line order",
                ),
            ],
        ),
        "complaint_statuses" => (
            "The complaint status codes.",
            "Compiled in from the status table of spec/extracts.md.",
            &[
                ("code", "status code", "spec/extracts.md: status codes"),
                ("name_id", "name in Bahasa Indonesia", "spec/extracts.md: status codes"),
                (
                    "terminal",
                    "the complaint is closed in this status",
                    "spec/report.md: terminal statuses",
                ),
                (
                    "follow_up",
                    "an inspector has acted on the complaint (counts as follow-up)",
                    "spec/report.md: follow-up statuses",
                ),
            ],
        ),
        _ => return None,
    })
}

fn lake_table(view: &str) -> Result<DictTable> {
    let schema = view_schema(view).ok_or_else(|| QueryError::Reference {
        file: "query::schemas",
        message: format!("no schema for view `{view}`"),
    })?;
    let defect = |message: String| QueryError::Reference {
        file: "query::dictionary",
        message,
    };
    let column = |name: &str, meaning: &str, source: String| -> Result<DictColumn> {
        let field = schema
            .field_with_name(name)
            .map_err(|_| defect(format!("`{view}.{name}` is described but not in the view's schema")))?;
        Ok(DictColumn {
            name: name.to_string(),
            data_type: type_name(field.data_type()),
            nullable: field.is_nullable(),
            meaning: meaning.to_string(),
            source,
        })
    };

    if let Some((title, description, described)) = non_contract(view) {
        let columns = schema
            .fields()
            .iter()
            .map(|f| {
                let (_, meaning, source) = described
                    .iter()
                    .find(|(n, _, _)| *n == f.name())
                    .ok_or_else(|| defect(format!("`{view}.{}` has no meaning in the dictionary", f.name())))?;
                column(f.name(), meaning, source.to_string())
            })
            .collect::<Result<Vec<_>>>()?;
        return Ok(DictTable {
            name: view.to_string(),
            kind: TableKind::Lake,
            title: title.to_string(),
            description: description.to_string(),
            origin: view_origin(view),
            through: Vec::new(),
            sources: Sources::new(),
            columns,
        });
    }

    let history = view.ends_with("_history");
    let base = view.strip_suffix("_history").unwrap_or(view);
    let table = crate::contract::table(base).ok_or_else(|| defect(format!("`{view}` is neither a contract table nor described")))?;
    let description = match (table.kind, history) {
        (_, true) => "Every accepted row of every used delivery (each night's latest), before the latest extract wins.",
        (Kind::Incremental, false) => "For each key, the row of the latest extract date on or before as_of.",
        (Kind::Snapshot, false) => "The snapshot of the latest extract on or before the report month's last day (and as_of).",
    };
    let file = view_origin(view);
    let mut columns = Vec::with_capacity(schema.fields().len());
    for field in schema.fields() {
        let name = field.name().as_str();
        let entry = match (base, name) {
            (_, EXTRACT_DATE) => column(
                name,
                "extract date (night) the row came from",
                format!("{file}: the night's folder, <landing>/{}/<YYYY-MM-DD>/", table.system),
            )?,
            ("employers", "province_code") => column(
                name,
                "Kemendagri province code, mapped from the BPS code through provinces",
                format!("{file}: province_code, mapped through spec/provinces.csv"),
            )?,
            ("employers", "province_code_bps") => column(
                name,
                "province code as delivered (statistics office, BPS)",
                format!("{file}: province_code"),
            )?,
            _ => {
                let c = table
                    .columns
                    .iter()
                    .find(|c| c.lake_name().as_deref() == Some(name))
                    .ok_or_else(|| defect(format!("`{view}.{name}` is neither a contract column nor described")))?;
                let source = match c.personal {
                    Personal::Pseudonymise(_) => format!("{file}: {}, replaced at ingest by a keyed pseudonym (HMAC-SHA256, hex)", c.name),
                    _ => format!("{file}: {}", c.name),
                };
                column(name, c.doc, source)?
            }
        };
        columns.push(entry);
    }
    Ok(DictTable {
        name: view.to_string(),
        kind: TableKind::Lake,
        title: table.doc.to_string(),
        description: description.to_string(),
        origin: file,
        through: Vec::new(),
        sources: Sources::new(),
        columns,
    })
}
