//! The error type of the query module.
//!
//! Variants are grouped by what the caller can do about them:
//! - a query file is wrong (header, SQL, tables, parameters): fix the file
//!   named in the message, at the line it names;
//! - the report parameters are wrong (month, settings): fix the command line
//!   or configuration;
//! - running or writing failed (DataFusion, Parquet, I/O): a bug or an
//!   environment problem, with its source kept;
//! - a fixture case is wrong: fix the file of the case the message names.

use std::path::PathBuf;

use datafusion::arrow::datatypes::DataType;
use datafusion::error::DataFusionError;

/// Everything that can go wrong while loading, running or writing queries.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// Reading a file or listing a folder failed.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Writing a file failed (fixture expectations in update mode).
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The folder holds no `*.sql` file.
    #[error("{}: no query file (*.sql) found", path.display())]
    NoQueries { path: PathBuf },

    /// The header comment of a query file is malformed; `message` says what
    /// was expected.
    #[error("{}:{line}: {message}", file.display())]
    Header { file: PathBuf, line: usize, message: String },

    /// The SQL of a query file does not parse.
    #[error("{}:{line}:{column}: the SQL does not parse: {source}", file.display())]
    Parse {
        file: PathBuf,
        line: u64,
        column: u64,
        #[source]
        source: datafusion::sql::sqlparser::parser::ParserError,
    },

    /// The SQL of a query file parses but is not what a query file may hold.
    #[error("{}:{line}: {message}", file.display())]
    Statement { file: PathBuf, line: u64, message: String },

    /// Two query files declare the same table.
    #[error(
        "{}:{line}: table `{table}` is already declared by {}; every query file declares its own table",
        file.display(),
        other.display()
    )]
    DuplicateTable {
        file: PathBuf,
        line: usize,
        table: String,
        other: PathBuf,
    },

    /// A query reads a table that is neither a lake view nor another query;
    /// `suggestion` is empty or `; did you mean ...?`.
    #[error(
        "{}:{line}:{column}: unknown table `{table}`: it is not a lake view (see docs/lake-views.md) and no query file declares it{suggestion}",
        file.display()
    )]
    UnknownTable {
        file: PathBuf,
        line: u64,
        column: u64,
        table: String,
        suggestion: String,
    },

    /// Queries read each other in a circle.
    #[error(
        "{}:{line}: dependency cycle: {cycle}; a query may only read lake views and queries that do not read it back",
        file.display()
    )]
    Cycle { file: PathBuf, line: u64, cycle: String },

    /// The SQL uses a parameter the header does not declare, or the header
    /// declares one the SQL does not use.
    #[error("{}:{line}:{column}: {message}", file.display())]
    ParamDeclaration {
        file: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },

    /// A query uses a parameter the run does not provide; `suggestion` is
    /// empty or `; did you mean ...?`.
    #[error(
        "{}:{line}:{column}: parameter `${name}` is not provided; the provided parameters are {provided}{suggestion}",
        file.display()
    )]
    MissingParam {
        file: PathBuf,
        line: u64,
        column: u64,
        name: String,
        suggestion: String,
        provided: String,
    },

    /// Planning a query against the lake's schemas found a problem (unknown
    /// column, type error, an undocumented published column, ...): the
    /// message is DataFusion's where it comes from DataFusion; `hint` says
    /// what would fix it when something can be suggested.
    #[error("{}:{line}:{column}: {message}", file.display())]
    Planning {
        file: PathBuf,
        line: u64,
        column: u64,
        message: String,
        hint: Option<String>,
    },

    /// `wasnaker lineage` was asked about a name that is neither a query
    /// (planned without problems) nor a lake view.
    #[error(
        "`{name}` is neither a query nor a lake view{suggestion}; the tables are {tables} (a query with problems is left out: run `wasnaker check`)"
    )]
    NotATable { name: String, suggestion: String, tables: String },

    /// A report parameter (month, as_of, settings) is invalid.
    #[error("invalid report parameter `{name}`: {message}")]
    InvalidParam { name: String, message: String },

    /// DataFusion failed to plan or run a query.
    #[error("{}: {source}", file.display())]
    DataFusion {
        file: PathBuf,
        #[source]
        source: DataFusionError,
    },

    /// A report table has a binary floating-point column.
    #[error(
        "{}: column `{column}` is {data_type}: published figures must be exact; compute it as DECIMAL(p, 1) (see report.md \"Rounding\")",
        file.display()
    )]
    FloatResult {
        file: PathBuf,
        column: String,
        data_type: DataType,
    },

    /// `to_csv` met a floating-point column.
    #[error("column `{column}` is {data_type}: CSV output refuses binary floating point; compute the column as DECIMAL")]
    FloatColumn { column: String, data_type: DataType },

    /// `to_csv` met a column type it has no published format for.
    #[error(
        "column `{column}` has type {data_type}, which the CSV writer does not format; use a string, integer, DECIMAL, boolean or date column"
    )]
    UnsupportedColumn { column: String, data_type: DataType },

    /// Arrow failed while assembling or formatting output.
    #[error("arrow: {source}")]
    Arrow {
        #[source]
        source: datafusion::arrow::error::ArrowError,
    },

    /// Writing CSV failed.
    #[error("CSV writer: {source}")]
    Csv {
        #[source]
        source: csv::Error,
    },

    /// Writing Parquet failed.
    #[error("Parquet writer: {source}")]
    Parquet {
        #[source]
        source: parquet::errors::ParquetError,
    },

    /// A fixture case file is malformed.
    #[error("{}: {message}", file.display())]
    Fixture { file: PathBuf, message: String },

    /// A fixture's `params.toml` does not parse.
    #[error("{}: {source}", file.display())]
    FixtureToml {
        file: PathBuf,
        #[source]
        source: toml::de::Error,
    },

    /// A fixture CSV is not valid CSV.
    #[error("{}: {source}", file.display())]
    FixtureCsv {
        file: PathBuf,
        #[source]
        source: csv::Error,
    },

    /// A value of a fixture input CSV cannot be read as its column's type.
    #[error(
        "{}: record {record}, column `{column}`: cannot read `{value}` as {data_type}: {source}",
        file.display()
    )]
    FixtureValue {
        file: PathBuf,
        record: usize,
        column: String,
        value: String,
        data_type: DataType,
        #[source]
        source: Box<datafusion::arrow::error::ArrowError>,
    },

    /// Registering a fixture table in the context failed.
    #[error("{}: cannot register table `{table}`: {source}", file.display())]
    Register {
        file: PathBuf,
        table: String,
        #[source]
        source: DataFusionError,
    },

    /// A compiled-in reference file (spec/provinces.csv, ...) is malformed:
    /// a bug of the build, not of the run.
    #[error("compiled-in {file}: {message}")]
    Reference { file: &'static str, message: String },
}

impl QueryError {
    /// What would fix the problem, when the error carries a suggestion of its
    /// own beyond its message (see [`QueryError::Planning`]).
    pub fn hint(&self) -> Option<&str> {
        match self {
            QueryError::Planning { hint, .. } => hint.as_deref(),
            _ => None,
        }
    }
}

/// `; did you mean `x`?` for the candidate closest to `name`, when one is
/// close enough to be a likely typo; empty otherwise.
pub(crate) fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    closest(name, candidates).map_or_else(String::new, |c| format!("; did you mean `{c}`?"))
}

/// The candidate closest to `name` by edit distance, if it is within a third
/// of the name's length, rounded up (at least 1, at most 3 edits).
pub(crate) fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    use datafusion::common::utils::datafusion_strsim::levenshtein;
    // A parameter's `$` is not part of what can be mistyped.
    let limit = name.trim_start_matches('$').chars().count().div_ceil(3).clamp(1, 3);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (levenshtein(&name.to_lowercase(), &c.to_lowercase()), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// Result of this module.
pub type Result<T, E = QueryError> = std::result::Result<T, E>;
