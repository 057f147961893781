//! The lake: Parquet files per table and night, a ledger that makes a night
//! visible, and the DataFusion context with the report's views.
//!
//! Layout under the lake root:
//! ```text
//! tables/<table>/night=<YYYY-MM-DD>/v<N>-<delivery>.parquet   accepted rows (snapshots: changes)
//! quarantine/<table>/night=<YYYY-MM-DD>/v<N>-<delivery>.parquet rows set aside, with reasons
//! ledger/<system>/<YYYY-MM-DD>/v<NNNN>.json                    one entry per delivery, written last
//! ```
//! Files are ordinary Parquet (DuckDB, pyarrow and DataFusion read them).
//! Snapshot tables store, per night, only the rows that changed against the
//! night's base snapshot plus tombstones (`_op = 'D'`) for keys that left;
//! the ledger records each night's base, so the snapshot as of any ingested
//! night is rebuilt exactly. This module contains no report logic.

pub mod adhoc;
pub mod context;
mod first_last;
pub mod ledger;

use chrono::NaiveDate;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};

/// `created_by` of every Parquet file the project writes: fixed, so files are
/// reproducible byte for byte.
pub fn created_by() -> String {
    format!("wasnaker {}", env!("CARGO_PKG_VERSION"))
}

/// Writer properties of the lake (and of published Parquet files).
pub fn parquet_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_created_by(created_by())
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap_or_default()))
        .set_max_row_group_row_count(Some(256 * 1024))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .build()
}

/// Relative path of a table's file for one delivery of a night.
pub fn data_path(table: &str, night: NaiveDate, version: u32, delivery: &str) -> String {
    format!("tables/{table}/night={night}/v{version}-{}.parquet", short(delivery))
}

/// Relative path of a table's quarantine file for one delivery of a night.
pub fn quarantine_path(table: &str, night: NaiveDate, version: u32, delivery: &str) -> String {
    format!("quarantine/{table}/night={night}/v{version}-{}.parquet", short(delivery))
}

fn short(delivery: &str) -> &str {
    delivery.get(..12).unwrap_or(delivery)
}

/// Errors reading lake files.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
    #[error(transparent)]
    Ledger(#[from] ledger::LedgerError),
    #[error("lake file {path} is unreadable: {source}")]
    Parquet {
        path: String,
        #[source]
        source: parquet::errors::ParquetError,
    },
    #[error("lake file {path} lacks column {column}: the lake was written by another version")]
    Schema { path: String, column: String },
}

/// Rebuild a snapshot table's state (key → row hash) as of one delivery by
/// replaying its change files, oldest first. Only the footer and the three
/// columns needed are read (ranged reads: on S3 a fraction of each file).
pub async fn snapshot_state(
    lake: &crate::storage::Location,
    ledger: &ledger::Ledger,
    table: &crate::contract::Table,
    at: ledger::NightRef,
) -> Result<crate::ingest::state::SnapshotState, LakeError> {
    use arrow::array::AsArray;
    use futures::StreamExt;
    use parquet::arrow::ProjectionMask;
    use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;

    let mut state = crate::ingest::state::SnapshotState::default();
    let key = table.key[0];
    for path in ledger.snapshot_chain(table, at) {
        let perr = |source| LakeError::Parquet {
            path: lake.url_of(&path),
            source,
        };
        let builder = ParquetRecordBatchStreamBuilder::new(lake.parquet(&path)).await.map_err(perr)?;
        let schema = builder.parquet_schema();
        let mut idx = Vec::new();
        for name in [key, crate::contract::OP, crate::contract::ROW_HASH] {
            let i = schema
                .columns()
                .iter()
                .position(|c| c.name() == name)
                .ok_or_else(|| LakeError::Schema {
                    path: path.clone(),
                    column: name.to_string(),
                })?;
            idx.push(i);
        }
        let mask = ProjectionMask::leaves(schema, idx);
        let mut batches = builder.with_projection(mask).build().map_err(perr)?;
        while let Some(batch) = batches.next().await {
            let batch = batch.map_err(perr)?;
            let col = |name: &str| {
                batch.column_by_name(name).ok_or_else(|| LakeError::Schema {
                    path: path.clone(),
                    column: name.to_string(),
                })
            };
            let keys = col(key)?.as_string::<i32>().clone();
            let ops = col(crate::contract::OP)?.as_string::<i32>().clone();
            let hashes = col(crate::contract::ROW_HASH)?.as_fixed_size_binary().clone();
            for i in 0..batch.num_rows() {
                let k = keys.value(i);
                if ops.value(i) == "D" {
                    state.swap_remove(k.as_bytes());
                } else {
                    let mut hash = [0u8; 16];
                    hash.copy_from_slice(hashes.value(i));
                    state.insert(k.into(), crate::ingest::state::RowState::new(hash, None));
                }
            }
        }
    }
    Ok(state)
}
