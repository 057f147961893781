//! Read-only ad-hoc SQL over the lake views (`wasnaker query`).
//!
//! DDL, DML and statements (`SET`, `COPY`, …) are refused by DataFusion
//! itself, before planning, so a query can never change the lake.

use arrow::record_batch::RecordBatch;
use datafusion::error::DataFusionError;
use datafusion::execution::context::SQLOptions;
use datafusion::prelude::SessionContext;

#[derive(Debug, thiserror::Error)]
pub enum AdhocError {
    #[error("query refused or failed: {0}\n(hint: `wasnaker tables` lists the tables and their columns; only SELECT queries are allowed)")]
    Query(#[source] DataFusionError),
}

/// Options that allow reading only.
pub fn read_only() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Run a read-only query and collect its result.
pub async fn run(ctx: &SessionContext, sql: &str) -> Result<(arrow::datatypes::SchemaRef, Vec<RecordBatch>), AdhocError> {
    let df = ctx.sql_with_options(sql, read_only()).await.map_err(AdhocError::Query)?;
    let schema = df.schema().inner().clone();
    let batches = df.collect().await.map_err(AdhocError::Query)?;
    Ok((schema, batches))
}
