//! The monthly job end to end through `monthly::publish_month` (the path
//! `wasnaker report`, the demo and the scheduler take): a re-publication is
//! byte-identical, and `index.html` is written only after the bundle; on an
//! object store a failed re-publication of the same bundle leaves the month
//! whole, one of another bundle leaves it visibly incomplete.

use std::fmt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::memory::InMemory;
use object_store::path::Path as StorePath;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions, PutOptions, PutPayload,
    PutResult,
};

use wasnaker::clock::{FixedClock, Month};
use wasnaker::lake::ledger::Ledger;
use wasnaker::monthly::{self, MonthlyRequest};
use wasnaker::storage::Location;
use wasnaker::verify::{recompute, verify};

use crate::common::*;

fn request(month: &str, as_of: Option<chrono::NaiveDate>) -> MonthlyRequest {
    MonthlyRequest {
        month: Some(Month::parse(month).unwrap()),
        as_of,
        allow_stale_snapshot: false,
    }
}

fn clock() -> FixedClock {
    FixedClock("2026-11-05T00:00:00Z".parse().unwrap())
}

fn assert_same_tree(a: &[(String, Vec<u8>)], b: &[(String, Vec<u8>)], what: &str) {
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(a), names(b), "{what}: the same files");
    for ((path, x), (_, y)) in a.iter().zip(b) {
        assert!(x == y, "{what}: {path} differs ({} vs {} bytes)", x.len(), y.len());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn republishing_a_month_through_publish_month_is_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    // The demo published 2026-08 and 2026-09 (signed) to its publish root.
    let cfg = crate::report::small_demo(&dir.path().join("demo")).await;
    let lake = Location::parse(&cfg.lake).unwrap();
    let as_of = Ledger::load(&lake).await.unwrap().latest_night();
    let root_a = PathBuf::from(&cfg.publish);
    let first = tree(&root_a);
    let paths: Vec<&str> = first.iter().map(|(p, _)| p.as_str()).collect();
    for kind in [
        "2026-09/report.html",
        "2026-09/report.xlsx",
        "2026-09/manifest.json",
        "2026-09/SHA256SUMS",
        "2026-09/SHA256SUMS.sig",
        "2026-09/data/followup_by_province.csv",
        "2026-09/data/followup_by_province.parquet",
        "index.html",
    ] {
        assert!(paths.contains(&kind), "{kind} not published: {paths:?}");
    }
    assert_eq!(first.len(), 2 * 16 + 1, "two signed bundles of 16 files and the index: {paths:?}");

    // The same months with the same as_of to another root: every file the same, index included.
    let mut cfg_b = cfg.clone();
    let root_b = dir.path().join("publish-b");
    cfg_b.publish = root_b.to_string_lossy().into_owned();
    for m in ["2026-08", "2026-09"] {
        monthly::publish_month(&cfg_b, &clock(), &request(m, as_of)).await.unwrap();
    }
    assert_same_tree(&first, &tree(&root_b), "another publish root");

    // Again to the first root (the month's folder is swapped): nothing changes.
    let (report, bundle) = monthly::publish_month(&cfg, &clock(), &request("2026-09", as_of)).await.unwrap();
    assert_eq!(Some(report.as_of), as_of);
    assert_same_tree(&first, &tree(&root_a), "the same root again");
    for (path, bytes) in &bundle.files {
        assert!(
            std::fs::read(root_a.join("2026-09").join(path)).unwrap() == *bytes,
            "{path}: the returned bundle is what is on disk"
        );
    }

    // The demo bundle recomputes from the lake, byte for byte.
    let month = Location::parse(root_a.join("2026-09").to_str().unwrap()).unwrap();
    let mut checked = verify(&month, None).await.unwrap();
    recompute(&mut checked, &month, &lake).await.unwrap();
    assert!(checked.ok(), "{checked}");
    assert_eq!(recomputed_identical(&checked), 10, "five tables, CSV and Parquet:\n{checked}");
}

/// An object store that records every write and delete, in order, and can
/// be told to fail one write.
#[derive(Debug, Default)]
struct Recording {
    inner: InMemory,
    ops: Arc<Mutex<Vec<String>>>,
    fail_put: Mutex<Option<String>>,
}

impl fmt::Display for Recording {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recording({})", self.inner)
    }
}

type BoxFut<'a, T> = Pin<Box<dyn std::future::Future<Output = object_store::Result<T>> + Send + 'a>>;

// `ObjectStore` is an `#[async_trait]`; these are its desugared signatures.
impl ObjectStore for Recording {
    fn put_opts<'life0, 'life1, 'async_trait>(
        &'life0 self,
        location: &'life1 StorePath,
        payload: PutPayload,
        opts: PutOptions,
    ) -> BoxFut<'async_trait, PutResult>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let path = location.to_string();
            if self.fail_put.lock().unwrap().as_deref() == Some(path.as_str()) {
                self.ops.lock().unwrap().push(format!("FAILED put {path}"));
                return Err(object_store::Error::Generic {
                    store: "Recording",
                    source: "injected failure".into(),
                });
            }
            self.ops.lock().unwrap().push(format!("put {path}"));
            self.inner.put_opts(location, payload, opts).await
        })
    }

    fn put_multipart_opts<'life0, 'life1, 'async_trait>(
        &'life0 self,
        location: &'life1 StorePath,
        opts: PutMultipartOptions,
    ) -> BoxFut<'async_trait, Box<dyn MultipartUpload>>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.ops.lock().unwrap().push(format!("put {location}"));
            self.inner.put_multipart_opts(location, opts).await
        })
    }

    fn get_opts<'life0, 'life1, 'async_trait>(
        &'life0 self,
        location: &'life1 StorePath,
        options: GetOptions,
    ) -> BoxFut<'async_trait, GetResult>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { self.inner.get_opts(location, options).await })
    }

    fn delete_stream(
        &self,
        locations: BoxStream<'static, object_store::Result<StorePath>>,
    ) -> BoxStream<'static, object_store::Result<StorePath>> {
        let ops = self.ops.clone();
        let recorded = locations
            .map(move |p| {
                if let Ok(p) = &p {
                    ops.lock().unwrap().push(format!("delete {p}"));
                }
                p
            })
            .boxed();
        self.inner.delete_stream(recorded)
    }

    fn list(&self, prefix: Option<&StorePath>) -> BoxStream<'static, object_store::Result<ObjectMeta>> {
        self.inner.list(prefix)
    }

    fn list_with_delimiter<'life0, 'life1, 'async_trait>(
        &'life0 self,
        prefix: Option<&'life1 StorePath>,
    ) -> BoxFut<'async_trait, ListResult>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move { self.inner.list_with_delimiter(prefix).await })
    }

    fn copy_opts<'life0, 'life1, 'life2, 'async_trait>(
        &'life0 self,
        from: &'life1 StorePath,
        to: &'life2 StorePath,
        options: CopyOptions,
    ) -> BoxFut<'async_trait, ()>
    where
        'life0: 'async_trait,
        'life1: 'async_trait,
        'life2: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            self.ops.lock().unwrap().push(format!("copy {from} {to}"));
            self.inner.copy_opts(from, to, options).await
        })
    }
}

fn position(ops: &[String], op: &str) -> usize {
    ops.iter()
        .position(|o| o == op)
        .unwrap_or_else(|| panic!("{op} not done: {ops:#?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn on_an_object_store_index_html_is_written_after_the_bundle_and_not_after_a_failed_one() {
    let f = Fixture::new();
    october_landing(&f);
    f.ingest().await;
    let (_, cfg) = report_config(&f, "wasnaker.toml", "publish", "");
    let store = Arc::new(Recording::default());
    let root = Location::from_store(store.clone(), "memory:///pub");

    let (_, bundle) = monthly::publish_month_to(&cfg, &clock(), &request("2026-10", None), &root)
        .await
        .unwrap();
    let ops = store.ops.lock().unwrap().clone();
    assert_eq!(ops.last().map(String::as_str), Some("put pub/index.html"), "{ops:#?}");
    assert_eq!(ops.iter().filter(|o| o.ends_with("index.html")).count(), 1);
    let sums = position(&ops, "put pub/2026-10/SHA256SUMS");
    let sig = position(&ops, "put pub/2026-10/SHA256SUMS.sig");
    assert_eq!(
        (sums + 1, sig + 1),
        (sig, ops.len() - 1),
        "checksums, signature, index: the last three writes"
    );
    for path in bundle.files.keys().filter(|p| !p.starts_with("SHA256SUMS")) {
        assert!(position(&ops, &format!("put pub/2026-10/{path}")) < sums, "{path} after SHA256SUMS");
    }
    let month = Location::from_store(store.clone(), "memory:///pub/2026-10");
    assert!(verify(&month, None).await.unwrap().ok());
    let index_before = root.get("index.html").await.unwrap();

    // The same bundle again, failing half-way: its SHA256SUMS is the one in
    // place, so nothing is deleted first and every file rewritten is one it
    // lists: the month verifies throughout, and after the failure.
    store.ops.lock().unwrap().clear();
    *store.fail_put.lock().unwrap() = Some("pub/2026-10/report.xlsx".into());
    let err = monthly::publish_month_to(&cfg, &clock(), &request("2026-10", None), &root)
        .await
        .err()
        .expect("the injected failure stops the publication");
    assert!(err.to_string().contains("2026-10/report.xlsx"), "{err}");
    let ops = store.ops.lock().unwrap().clone();
    assert!(!ops.iter().any(|o| o.starts_with("delete")), "{ops:#?}");
    assert!(
        verify(&month, None).await.unwrap().ok(),
        "an identical re-publication keeps the month whole"
    );

    // Another bundle of the month (another as_of) that fails half-way: the
    // old checksums are gone first (the month no longer verifies as
    // complete), the new ones are not written, and the index is not touched.
    store.ops.lock().unwrap().clear();
    let other = MonthlyRequest {
        as_of: Some(date("2026-10-03")),
        allow_stale_snapshot: true,
        ..request("2026-10", None)
    };
    let err = monthly::publish_month_to(&cfg, &clock(), &other, &root)
        .await
        .err()
        .expect("the injected failure stops the publication");
    assert!(err.to_string().contains("2026-10/report.xlsx"), "{err}");
    let ops = store.ops.lock().unwrap().clone();
    assert_eq!(
        &ops[..2],
        ["delete pub/2026-10/SHA256SUMS.sig", "delete pub/2026-10/SHA256SUMS"],
        "{ops:#?}"
    );
    assert!(ops.contains(&"FAILED put pub/2026-10/report.xlsx".to_string()), "{ops:#?}");
    assert!(!ops.iter().any(|o| o.starts_with("put pub/2026-10/SHA256SUMS")), "{ops:#?}");
    assert!(!ops.iter().any(|o| o.contains("index.html")), "{ops:#?}");
    assert_eq!(root.get("index.html").await.unwrap(), index_before);
    let report = verify(&month, None).await.unwrap();
    assert!(
        report.problem_files().contains("SHA256SUMS"),
        "a half-published month never verifies:\n{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn on_a_local_root_a_failed_index_write_leaves_the_complete_bundle_in_place() {
    let f = Fixture::new();
    october_landing(&f);
    f.ingest().await;
    let (_, cfg) = report_config(&f, "wasnaker.toml", "publish", "");
    let root = PathBuf::from(&cfg.publish);
    // index.html cannot be written: a folder has its name.
    std::fs::create_dir_all(root.join("index.html")).unwrap();
    let err = monthly::publish_month(&cfg, &clock(), &request("2026-10", None))
        .await
        .err()
        .expect("writing index.html fails");
    assert!(format!("{err}").contains("index.html"), "{err}");
    // The bundle was already in place, complete and signed.
    let month = Location::parse(root.join("2026-10").to_str().unwrap()).unwrap();
    let allowed = f.dir.path().join("allowed_signers");
    std::fs::write(&allowed, test_signer().allowed_signers_line(SIGNER)).unwrap();
    let report = verify(&month, Some(&allowed)).await.unwrap();
    assert!(report.ok(), "{report}");
    assert_eq!(tree(&root.join("2026-10")).len(), 16);
    assert!(tree(&root).iter().all(|(p, _)| p.starts_with("2026-10/")), "no staging leftover");
}
