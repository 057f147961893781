//! One storage test suite, the same bodies run against every backend: a
//! local folder, an in-memory store and a real S3 API server (`s3.rs`).
//! Each body gets a fresh, empty location.

use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;

use wasnaker::storage::{Location, StoreKind};

/// What a backend's location needs kept until the test ends (for its `Drop`).
#[allow(dead_code)]
enum Keep {
    Dir(tempfile::TempDir),
    S3(crate::s3::S3Test),
    Nothing,
}

/// A fresh location per backend; `None` when the S3 tests are skipped.
async fn backend(kind: &str, name: &str) -> Option<(Location, Keep)> {
    match kind {
        "local" => {
            let dir = tempfile::tempdir().unwrap();
            let loc = Location::parse(dir.path().join(name).to_str().unwrap()).unwrap();
            Some((loc, Keep::Dir(dir)))
        }
        "memory" => Some((Location::parse(&format!("memory:///{name}")).unwrap(), Keep::Nothing)),
        "s3" => {
            let server = crate::s3::server(name)?;
            let loc = server.open(&server.url(name));
            Some((loc, Keep::S3(server)))
        }
        other => panic!("unknown backend {other}"),
    }
}

/// `suite!(backend)`: one test per body for that backend.
macro_rules! suite {
    ($kind:ident) => {
        mod $kind {
            macro_rules! case {
                ($body:ident) => {
                    #[tokio::test(flavor = "multi_thread")]
                    async fn $body() {
                        let Some((loc, _keep)) = super::backend(stringify!($kind), stringify!($body)).await else {
                            return;
                        };
                        super::$body(&loc).await;
                    }
                };
            }
            case!(put_get_head_and_delete);
            case!(put_new_is_create_only);
            case!(concurrent_creates_have_one_winner);
            case!(listing_is_one_level_by_prefix);
            case!(large_upload_reads_back_whole);
            case!(blocking_reader_returns_every_byte_in_order);
            case!(reader_refuses_an_object_replaced_while_read);
            case!(parquet_ranges_read_only_the_projected_columns);
            case!(join_names_a_folder_of_the_same_store);
        }
    };
}

suite!(local);
suite!(memory);
suite!(s3);

async fn put_get_head_and_delete(loc: &Location) {
    assert_eq!(loc.get_opt("a/x.json").await.unwrap(), None);
    assert!(loc.head_opt("a/x.json").await.unwrap().is_none());
    loc.put("a/x.json", Bytes::from_static(b"one")).await.unwrap();
    assert_eq!(loc.get("a/x.json").await.unwrap(), Bytes::from_static(b"one"));
    loc.put("a/x.json", Bytes::from_static(b"second")).await.unwrap();
    assert_eq!(loc.get_opt("a/x.json").await.unwrap(), Some(Bytes::from_static(b"second")));
    assert_eq!(loc.head_opt("a/x.json").await.unwrap().map(|m| m.size), Some(6));
    loc.delete("a/x.json").await.unwrap();
    loc.delete("a/x.json").await.unwrap();
    assert_eq!(loc.get_opt("a/x.json").await.unwrap(), None);
    let err = loc.get("a/x.json").await.unwrap_err().to_string();
    assert!(err.contains(&loc.url_of("a/x.json")), "the error names the URL: {err}");
}

async fn put_new_is_create_only(loc: &Location) {
    assert!(loc.put_new("ledger/v0001.json", Bytes::from_static(b"first")).await.unwrap());
    assert!(!loc.put_new("ledger/v0001.json", Bytes::from_static(b"second")).await.unwrap());
    assert_eq!(loc.get("ledger/v0001.json").await.unwrap(), Bytes::from_static(b"first"));
    assert!(loc.put_new("ledger/v0002.json", Bytes::from_static(b"other")).await.unwrap());
}

async fn concurrent_creates_have_one_winner(loc: &Location) {
    for round in 0..5 {
        let rel = format!("commit/{round}.json");
        let tasks: Vec<_> = (0..8)
            .map(|w| {
                let (loc, rel) = (loc.clone(), rel.clone());
                tokio::spawn(async move { (w, loc.put_new(&rel, format!("writer {w}").into_bytes()).await.unwrap()) })
            })
            .collect();
        let mut winners = Vec::new();
        for t in tasks {
            let (w, won) = t.await.unwrap();
            if won {
                winners.push(w);
            }
        }
        assert_eq!(
            winners.len(),
            1,
            "round {round}: exactly one writer creates the object, not {winners:?}"
        );
        let content = loc.get(&rel).await.unwrap();
        assert_eq!(
            content,
            Bytes::from(format!("writer {}", winners[0])),
            "the winner's bytes are what is stored"
        );
    }
}

async fn listing_is_one_level_by_prefix(loc: &Location) {
    for rel in [
        "inspection/2026-10-01/_DONE",
        "inspection/2026-10-01/a.csv.gz",
        "inspection/2026-10-02/_DONE",
        "inspection/notes.txt",
        "insurance/2026-10-01/_DONE",
    ] {
        loc.put(rel, Bytes::from(rel.to_string())).await.unwrap();
    }
    let l = loc.list_dir("inspection").await.unwrap();
    assert_eq!(l.dirs, ["2026-10-01", "2026-10-02"]);
    let files: Vec<(&str, u64)> = l.files.iter().map(|(n, m)| (n.as_str(), m.size)).collect();
    assert_eq!(files, [("notes.txt", 20)]);
    assert_eq!(loc.list_dirs("").await.unwrap(), ["inspection", "insurance"]);
    assert_eq!(
        loc.list_files("inspection/2026-10-01").await.unwrap(),
        [("_DONE".to_string(), 27), ("a.csv.gz".to_string(), 30)]
    );
    let all: Vec<String> = loc.list_all("inspection").await.unwrap().into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        all,
        [
            "inspection/2026-10-01/_DONE",
            "inspection/2026-10-01/a.csv.gz",
            "inspection/2026-10-02/_DONE",
            "inspection/notes.txt"
        ]
    );
    assert!(loc.list_dir("nothing-here").await.unwrap().files.is_empty());
    assert!(loc.list_all("nothing-here").await.unwrap().is_empty());
}

/// Bytes that differ at every offset, so a misplaced chunk shows.
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ (i / 251 % 256) as u8).collect()
}

async fn large_upload_reads_back_whole(loc: &Location) {
    // Above object_store's 10 MB multipart threshold: a multipart upload on S3.
    let data = pattern(12 << 20);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.parquet");
    std::fs::write(&file, &data).unwrap();
    loc.upload_file(&file, "tables/big.parquet").await.unwrap();
    assert_eq!(
        loc.head_opt("tables/big.parquet").await.unwrap().map(|m| m.size),
        Some(data.len() as u64)
    );
    assert!(loc.get("tables/big.parquet").await.unwrap() == data, "the uploaded bytes come back");
}

async fn read_blocking(loc: &Location, rel: &str, meta: object_store::ObjectMeta) -> std::io::Result<Vec<u8>> {
    let (loc, rel) = (loc.clone(), rel.to_string());
    let handle = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut r = loc.open_blocking(&rel, &meta, handle).map_err(std::io::Error::other)?;
        let mut out = Vec::new();
        // Small reads, as the gzip decoder does.
        let mut buf = [0u8; 7919];
        loop {
            let n = r.read(&mut buf)?;
            if n == 0 {
                return Ok(out);
            }
            out.extend_from_slice(&buf[..n]);
        }
    })
    .await
    .unwrap()
}

async fn blocking_reader_returns_every_byte_in_order(loc: &Location) {
    // Several ranged reads (4 MiB each), the last one short.
    let data = pattern((9 << 20) + 12345);
    loc.put("landing/x.csv.gz", data.clone()).await.unwrap();
    let meta = loc.head_opt("landing/x.csv.gz").await.unwrap().unwrap();
    assert!(read_blocking(loc, "landing/x.csv.gz", meta).await.unwrap() == data);
    loc.put("landing/empty", Vec::new()).await.unwrap();
    let meta = loc.head_opt("landing/empty").await.unwrap().unwrap();
    assert!(read_blocking(loc, "landing/empty", meta).await.unwrap().is_empty());
}

async fn reader_refuses_an_object_replaced_while_read(loc: &Location) {
    let first = pattern(5 << 20);
    loc.put("landing/night/f.gz", first.clone()).await.unwrap();
    let meta = loc.head_opt("landing/night/f.gz").await.unwrap().unwrap();
    let mut second = first.clone();
    second[0] ^= 0xff;
    loc.put("landing/night/f.gz", second.clone()).await.unwrap();
    let read = read_blocking(loc, "landing/night/f.gz", meta).await;
    match loc.kind() {
        // A local file is opened as it is now (a re-delivery is checked against `_DONE`).
        StoreKind::Local => assert!(read.unwrap() == second),
        // Object stores: every range is pinned to the listed version.
        _ => {
            let err = read.unwrap_err().to_string();
            assert!(err.contains(&loc.url_of("landing/night/f.gz")), "{err}");
        }
    }
}

async fn parquet_ranges_read_only_the_projected_columns(loc: &Location) {
    use arrow::array::{Int64Array, StringArray};
    use futures::TryStreamExt;
    use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
    use parquet::arrow::{ArrowWriter, ProjectionMask};

    let n = 50_000;
    let keys = Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("K{i:07}"))));
    let wide = Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("{i:0200}"))));
    let nums = Arc::new(Int64Array::from_iter_values(0..n as i64));
    let batch = arrow::record_batch::RecordBatch::try_from_iter([("key", keys as _), ("wide", wide as _), ("n", nums as _)]).unwrap();
    let mut bytes = Vec::new();
    let mut w = ArrowWriter::try_new(&mut bytes, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    loc.put("tables/t.parquet", bytes.clone()).await.unwrap();

    let builder = ParquetRecordBatchStreamBuilder::new(loc.parquet("tables/t.parquet")).await.unwrap();
    let mask = ProjectionMask::leaves(builder.parquet_schema(), [0, 2]);
    let batches: Vec<_> = builder.with_projection(mask).build().unwrap().try_collect().await.unwrap();
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, n);
    assert_eq!(
        batches[0].schema().fields().iter().map(|f| f.name().as_str()).collect::<Vec<_>>(),
        ["key", "n"]
    );
    let last = batches.last().unwrap();
    let keys = last.column(0).as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(keys.value(last.num_rows() - 1), format!("K{:07}", n - 1));
}

async fn join_names_a_folder_of_the_same_store(loc: &Location) {
    let month = loc.join("2026-10");
    assert_eq!(month.url().as_str(), format!("{}2026-10/", loc.url()));
    month.put("SHA256SUMS", Bytes::from_static(b"x")).await.unwrap();
    assert_eq!(loc.get("2026-10/SHA256SUMS").await.unwrap(), Bytes::from_static(b"x"));
    assert_eq!(loc.list_dirs("").await.unwrap(), ["2026-10"]);
    let debug = format!("{month:?}");
    assert!(debug.contains("2026-10"), "{debug}");
}
