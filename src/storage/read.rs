//! Reading a large remote object as a blocking [`Read`], fast and in bounded
//! memory: ranges of [`CHUNK`] bytes are fetched [`PARALLEL`] at a time ahead
//! of the reader and handed over in order. Each range is pinned to the
//! version the caller listed (`If-Match` on its ETag, and its length checked),
//! so an object replaced while it is read fails the read instead of mixing
//! two deliveries. Memory: at most `(PARALLEL + QUEUE) × CHUNK` per reader.
//! A failed range (after the store's own retries) is an I/O error naming the
//! URL; dropping the reader stops the fetching.
//!
//! [`ParquetRanges`] reads a Parquet file the same way for the async Parquet
//! reader: the footer, then only the column chunks a projection needs.

use std::io::{self, Read};
use std::ops::Range;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectMeta, ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::{AsyncFileReader, MetadataSuffixFetch};
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};
use tokio::sync::mpsc;

use super::StorageError;

/// Bytes per ranged GET.
pub const CHUNK: u64 = 4 << 20;
/// Ranged GETs in flight per reader.
pub const PARALLEL: usize = 4;
/// Chunks fetched but not yet read.
const QUEUE: usize = 2;

pub(super) struct RangeReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    /// Bytes not yet handed out: the end of the stream before this is an error, not EOF.
    remaining: u64,
    task: tokio::task::JoinHandle<()>,
}

impl RangeReader {
    pub(super) fn new(
        store: Arc<dyn ObjectStore>,
        path: Path,
        meta: &ObjectMeta,
        url: String,
        handle: &tokio::runtime::Handle,
    ) -> RangeReader {
        let (tx, rx) = mpsc::channel(QUEUE);
        let size = meta.size;
        let e_tag = meta.e_tag.clone();
        let ranges: Vec<Range<u64>> = (0..size.div_ceil(CHUNK)).map(|i| i * CHUNK..((i + 1) * CHUNK).min(size)).collect();
        let task = handle.spawn(async move {
            let mut chunks = futures::stream::iter(ranges)
                .map(|range| {
                    let (store, path, url) = (store.clone(), path.clone(), url.clone());
                    let options = GetOptions {
                        range: Some(range.clone().into()),
                        if_match: e_tag.clone(),
                        ..Default::default()
                    };
                    async move {
                        let fail = |cause| io::Error::other(StorageError::Store { op: "read", url, cause });
                        let bytes = match store.get_opts(&path, options).await {
                            Ok(r) => r.bytes().await.map_err(fail)?,
                            Err(e) => return Err(fail(e)),
                        };
                        if bytes.len() as u64 != range.end - range.start {
                            return Err(io::Error::other(format!(
                                "read bytes {}..{} of an object of {size} bytes, got {}: it changed while being read; the next run reads it again",
                                range.start,
                                range.end,
                                bytes.len()
                            )));
                        }
                        Ok(bytes)
                    }
                })
                .buffered(PARALLEL);
            while let Some(chunk) = chunks.next().await {
                let failed = chunk.is_err();
                if tx.send(chunk).await.is_err() || failed {
                    break;
                }
            }
        });
        RangeReader {
            rx,
            current: Bytes::new(),
            remaining: size,
            task,
        }
    }
}

impl Read for RangeReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => return Err(e),
                None if self.remaining == 0 => return Ok(0),
                None => {
                    return Err(io::Error::other(format!(
                        "the read stopped with {} bytes still to come; the next run reads it again",
                        self.remaining
                    )));
                }
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        self.remaining = self.remaining.saturating_sub(n as u64);
        Ok(n)
    }
}

impl Drop for RangeReader {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A Parquet file in a location, read by ranges: the footer first (one
/// suffix GET), then only the column chunks a projection needs.
#[derive(Debug, Clone)]
pub struct ParquetRanges {
    store: Arc<dyn ObjectStore>,
    path: Path,
}

impl ParquetRanges {
    pub(super) fn new(store: Arc<dyn ObjectStore>, path: Path) -> ParquetRanges {
        ParquetRanges { store, path }
    }
}

fn parquet_err(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for ParquetRanges {
    fn get_bytes(&mut self, range: Range<u64>) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move { self.store.get_range(&self.path, range).await.map_err(parquet_err) }.boxed()
    }

    fn get_byte_ranges(&mut self, ranges: Vec<Range<u64>>) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move { self.store.get_ranges(&self.path, &ranges).await.map_err(parquet_err) }.boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let metadata = ParquetMetaDataReader::new()
                .with_arrow_reader_options(options)
                .load_via_suffix_and_finish(self)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}

impl MetadataSuffixFetch for &mut ParquetRanges {
    fn fetch_suffix(&mut self, suffix: usize) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        let options = GetOptions {
            range: Some(GetRange::Suffix(suffix as u64)),
            ..Default::default()
        };
        async move {
            self.store
                .get_opts(&self.path, options)
                .await
                .map_err(parquet_err)?
                .bytes()
                .await
                .map_err(parquet_err)
        }
        .boxed()
    }
}
