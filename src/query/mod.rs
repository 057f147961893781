//! The report's figures, computed by the SQL files of `queries/` through
//! DataFusion.
//!
//! Each `queries/<table>.sql` holds one SELECT under a header comment
//! ([`header`]: table, kind, titles, parameters, description). Loading
//! ([`QuerySet::load_dir`]) checks every file and derives the execution order
//! from the tables each query reads; running ([`QuerySet::run`]) binds the
//! named parameters of [`ReportParams`] and returns each `report` table with
//! its [`QueryFile`]. [`to_csv`] and [`to_parquet`] serialise a table
//! deterministically; [`fixture`] runs the SQL fixtures of `tests/queries/`.
//! [`plan`] plans every query against the lake's schemas without data
//! (`wasnaker check`), collecting every problem; [`lineage`] and
//! [`dictionary`] describe what each table is computed from and what each
//! column means.
//!
//! What this module must never do: compute a published figure in Rust (all
//! arithmetic is in the SQL, exact, with no UDF, so the same files run on a
//! cluster), read the landing or write the lake, format numbers for people,
//! or read a clock.
//!
//! ```no_run
//! # async fn example(ctx: &datafusion::prelude::SessionContext) -> wasnaker::query::Result<()> {
//! use wasnaker::query::{QuerySet, ReportParams, ReportSettings, to_csv};
//! let queries = QuerySet::load_dir(std::path::Path::new("queries"))?;
//! let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap_or_default();
//! let params = ReportParams::new("2026-10", as_of, ReportSettings::default())?;
//! for table in queries.run(ctx, &params).await? {
//!     let csv = to_csv(&table.schema, &table.batches)?;
//!     println!("{}: {} bytes", table.query.name, csv.len());
//! }
//! # Ok(()) }
//! ```

mod analyze;
pub mod dictionary;
mod error;
pub mod fixture;
pub mod header;
pub mod lineage;
mod load;
mod output;
mod params;
pub mod plan;
pub mod reference;
mod run;
pub mod schemas;

pub use error::{QueryError, Result};
pub use header::{ColumnDoc, QueryKind};
pub use load::{Loaded, QueryFile, QuerySet};
pub use output::{parquet_created_by, to_csv, to_parquet};
pub use params::{JAKARTA_OFFSET_SECONDS, ReportParams, ReportSettings, jakarta_midnight_ns};
pub use run::{QueryTiming, ReportTable};
