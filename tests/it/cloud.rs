//! The pipeline on a real S3 API server (`s3.rs`): landing on S3 → ingest →
//! lake on S3 → report → bundle published on S3, byte for byte what the same
//! run gives on a local disk; and what goes wrong: wrong credentials, a
//! missing bucket, the server going down in the middle of an ingest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::NaiveDate;
use futures::{StreamExt, TryStreamExt};

use wasnaker::clock::{FixedClock, Month};
use wasnaker::config::Config;
use wasnaker::demo::DemoOptions;
use wasnaker::ingest::{IngestOptions, NightOutcome, NoProgress};
use wasnaker::lake::ledger::Ledger;
use wasnaker::monthly::{self, MonthlyRequest};
use wasnaker::storage::Location;
use wasnaker::verify::{recompute, verify};

use crate::common::*;
use crate::s3::{Relay, WRONG_SECRET, WRONG_SECRET_ENV};

/// A config in `dir` with these locations and extra TOML (`[storage]`),
/// this checkout's queries and the test keys.
pub fn config(dir: &Path, landing: &str, lake: &str, publish: &str, extra: &str) -> Config {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("pseudonym.key"), KEY).unwrap();
    test_signer().write_private_openssh(&dir.join("signing_ed25519")).unwrap();
    std::fs::write(dir.join("allowed_signers"), test_signer().allowed_signers_line(SIGNER)).unwrap();
    let text = format!(
        "[locations]\nlanding = {landing:?}\nlake = {lake:?}\npublish = {publish:?}\n\n[pseudonymisation]\nkey_file = \"pseudonym.key\"\n\n\
         [ingest]\nwork_dir = \"work\"\nlate_after_hours = 100000\n\n[report]\nqueries_dir = {:?}\n\n[signing]\nkey_file = \"signing_ed25519\"\n\n{extra}",
        queries_dir().to_string_lossy()
    );
    let path = dir.join("wasnaker.toml");
    std::fs::write(&path, text).unwrap();
    Config::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// Every object under a location, relative path → bytes.
pub async fn objects(loc: &Location) -> BTreeMap<String, Vec<u8>> {
    let paths = loc.list_all("").await.unwrap();
    futures::stream::iter(paths)
        .map(|(p, _)| async move { loc.get(&p).await.map(|b| (p, b.to_vec())) })
        .buffer_unordered(16)
        .try_collect()
        .await
        .unwrap()
}

/// Copy a local folder into a location.
async fn mirror(from: &Path, to: &Location) {
    futures::stream::iter(tree(from))
        .map(|(p, bytes)| async move { to.put(&p, bytes).await })
        .buffer_unordered(16)
        .try_collect::<Vec<()>>()
        .await
        .unwrap();
}

pub fn same(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>, what: &str) {
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>(), "{what}: the same files");
    for (path, bytes) in a {
        assert!(b[path] == *bytes, "{what}: {path} differs");
    }
}

/// The demo generator's October 2026 (31 nights of both systems) in `dir/landing`.
pub fn october_demo_landing(dir: &Path) -> PathBuf {
    let landing = dir.join("landing");
    let mut opts = DemoOptions::demo();
    opts.first_night = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
    opts.nights = 31;
    wasnaker::demo::generate(&opts, &mut wasnaker::demo::dir_sink(&landing)).unwrap();
    landing
}

pub fn october() -> MonthlyRequest {
    MonthlyRequest {
        month: Some(Month::parse("2026-10").unwrap()),
        as_of: None,
        allow_stale_snapshot: false,
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn landing_lake_and_bundle_on_s3_give_the_bytes_of_a_local_run() {
    let Some(server) = crate::s3::server("landing_lake_and_bundle_on_s3_give_the_bytes_of_a_local_run") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let landing = october_demo_landing(dir.path());
    let clock = FixedClock("2026-11-02T00:00:00Z".parse().unwrap());

    // The reference: everything on the local disk.
    let local = config(&dir.path().join("local"), &landing.to_string_lossy(), "lake", "publish", "");
    let report = wasnaker::ingest::run(&local, &clock, &IngestOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(report.ingested() >= 50 && report.failed() == 0, "{} ingested", report.ingested());
    monthly::publish_month(&local, &clock, &october()).await.unwrap();

    // The same on S3.
    let started = Instant::now();
    let base = server.url("e2e");
    let s3 = config(
        &dir.path().join("s3"),
        &format!("{base}/landing"),
        &format!("{base}/lake"),
        &format!("{base}/publish"),
        &server.toml(&server.endpoint),
    );
    mirror(&landing, &server.open(&s3.landing)).await;
    let uploaded = started.elapsed();
    let s3_report = wasnaker::ingest::run(&s3, &clock, &IngestOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(
        (s3_report.ingested(), s3_report.rejected(), s3_report.failed()),
        (report.ingested(), report.rejected(), 0)
    );
    let ingested = started.elapsed();
    let (_, bundle) = monthly::publish_month(&s3, &clock, &october()).await.unwrap();
    eprintln!(
        "S3 run: landing upload {:.1} s, ingest {:.1} s, report and publish {:.1} s",
        uploaded.as_secs_f64(),
        (ingested - uploaded).as_secs_f64(),
        (started.elapsed() - ingested).as_secs_f64()
    );

    // Byte for byte: the bundle (and index.html), and the lake itself.
    let publish = server.open(&s3.publish);
    let local_publish: BTreeMap<String, Vec<u8>> = tree(Path::new(&local.publish)).into_iter().collect();
    same(&local_publish, &objects(&publish).await, "bundle on S3 vs local");
    assert_eq!(bundle.files.len() + 1, local_publish.len(), "one month and index.html");
    let lake = server.open(&s3.lake);
    let local_lake: BTreeMap<String, Vec<u8>> = tree(Path::new(&local.lake)).into_iter().collect();
    same(&local_lake, &objects(&lake).await, "lake on S3 vs local");

    // The bundle verifies where it is published, and recomputes from the S3 lake
    // (the lake views read its Parquet files from S3).
    let month = publish.join("2026-10");
    let mut checked = verify(&month, Some(&dir.path().join("s3/allowed_signers"))).await.unwrap();
    assert!(checked.ok(), "{checked}");
    recompute(&mut checked, &month, &lake).await.unwrap();
    assert!(checked.ok(), "{checked}");
    assert_eq!(
        recomputed_identical(&checked),
        10,
        "five tables, CSV and Parquet, recomputed from S3:\n{checked}"
    );

    // `wasnaker verify` checks it in place, with the config's [storage].
    let out = crate::cli::bin()
        .arg("--config")
        .arg(dir.path().join("s3/wasnaker.toml"))
        .args(["verify", &format!("{}/2026-10/", s3.publish), "--allowed-signers"])
        .arg(dir.path().join("s3/allowed_signers"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.trim_end().ends_with("bundle OK"),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Re-runs are idempotent: nothing more to ingest, the same bundle again.
    let again = wasnaker::ingest::run(&s3, &clock, &IngestOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!((again.ingested(), again.failed()), (0, 0));
    same(&local_lake, &objects(&lake).await, "lake after a second ingest");
    monthly::publish_month(&s3, &clock, &october()).await.unwrap();
    same(&local_publish, &objects(&publish).await, "bundle after a second publish");
}

/// The October fixture (two nights of both systems) in a local landing.
pub fn small_landing(dir: &Path) -> PathBuf {
    let f = Fixture::new();
    october_landing(&f);
    let landing = dir.join("landing");
    for (p, bytes) in tree(&f.landing) {
        let to = landing.join(p);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::write(to, bytes).unwrap();
    }
    landing
}

fn clock() -> FixedClock {
    FixedClock("2026-11-02T00:00:00Z".parse().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_credentials_are_refused_with_a_clear_error_that_shows_no_secret() {
    let Some(server) = crate::s3::authenticated("wrong_credentials_are_refused_with_a_clear_error_that_shows_no_secret") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let landing = small_landing(dir.path());
    let base = server.url("wrong-credentials");
    // The server checks signatures: the right credentials are accepted…
    let good = server.open(&base);
    good.put("probe.txt", bytes::Bytes::from_static(b"ok")).await.unwrap();
    assert_eq!(good.get("probe.txt").await.unwrap(), bytes::Bytes::from_static(b"ok"));

    // … and a wrong secret is refused, naming the location and what to check.
    let toml = server.toml(&server.endpoint).replace(crate::s3::SECRET_ENV, WRONG_SECRET_ENV);
    let cfg = config(
        dir.path(),
        &landing.to_string_lossy(),
        &format!("{base}/lake"),
        &format!("{base}/publish"),
        &toml,
    );
    let bad = Location::open(&base, &cfg.storage).unwrap();
    let read = bad.get("probe.txt").await.unwrap_err().to_string();
    assert!(
        read.contains(&format!("{base}/probe.txt")) && read.contains("refused the credentials"),
        "{read}"
    );
    let write = bad
        .put("lake/x.json", bytes::Bytes::from_static(b"x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(write.contains("refused the credentials"), "{write}");
    assert_eq!(
        good.get_opt("lake/x.json").await.unwrap(),
        None,
        "nothing is written with wrong credentials"
    );

    let err = wasnaker::ingest::run(&cfg, &clock(), &IngestOptions::default(), &NoProgress)
        .await
        .expect_err("a wrong secret is refused");
    let msg = format!("{err:#}");
    assert!(msg.contains(&format!("{base}/lake/ledger")), "the error names the location: {msg}");
    assert!(msg.contains("refused the credentials"), "the error says what to check: {msg}");
    let err = monthly::publish_month(&cfg, &clock(), &october())
        .await
        .err()
        .expect("no lake can be read");
    let publish_msg = format!("{err:#}");
    for text in [&read, &write, &msg, &publish_msg, &format!("{cfg:?}"), &format!("{bad:?}")] {
        assert!(!text.contains(WRONG_SECRET), "no secret in messages or Debug output: {text}");
        assert!(!text.contains(&server.secret()), "no secret in messages or Debug output: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_bucket_is_named_and_nothing_is_written() {
    let Some(server) = crate::s3::server("a_missing_bucket_is_named_and_nothing_is_written") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let landing = small_landing(dir.path());
    let missing = format!("s3://wasnaker-no-such-bucket-{}", std::process::id());
    let cfg = config(
        dir.path(),
        &landing.to_string_lossy(),
        &format!("{missing}/lake"),
        &format!("{missing}/publish"),
        &server.toml(&server.endpoint),
    );
    let err = wasnaker::ingest::run(&cfg, &clock(), &IngestOptions::default(), &NoProgress)
        .await
        .expect_err("no bucket, no lake");
    let msg = format!("{err:#}");
    assert!(msg.contains(&format!("{missing}/lake")), "{msg}");
    assert!(msg.contains("the bucket does not exist"), "{msg}");

    // Publishing to a missing bucket stops at its first request.
    let f = Fixture::new();
    october_landing(&f);
    f.ingest().await;
    let (_, mut local) = report_config(&f, "wasnaker.toml", "publish", "");
    local.storage = cfg.storage.clone();
    let root = Location::open(&format!("{missing}/publish"), &cfg.storage).unwrap();
    let err = monthly::publish_month_to(&local, &clock(), &october(), &root)
        .await
        .err()
        .expect("no bucket to publish to");
    let msg = format!("{err:#}");
    assert!(
        msg.contains(&format!("{missing}/publish/2026-10")) && msg.contains("the bucket does not exist"),
        "{msg}"
    );
}

/// A local reference run of the small landing: its lake, and the number
/// of PUTs that commit the first night (its lake files and ledger entry).
async fn reference(dir: &Path, landing: &Path) -> (BTreeMap<String, Vec<u8>>, usize) {
    let cfg = config(&dir.join("reference"), &landing.to_string_lossy(), "lake", "publish", "");
    let r = wasnaker::ingest::run(&cfg, &clock(), &IngestOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!(r.ingested(), 4);
    let ledger = Ledger::load(&Location::parse(&cfg.lake).unwrap()).await.unwrap();
    let first = ledger.entries().min_by_key(|e| (e.night, e.system)).unwrap();
    let puts = first
        .files
        .iter()
        .map(|f| usize::from(f.data.is_some()) + usize::from(f.quarantine.is_some()))
        .sum::<usize>()
        + 1;
    (tree(Path::new(&cfg.lake)).into_iter().collect(), puts)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_lake_server_going_down_mid_ingest_commits_nothing_partial_and_the_next_run_finishes() {
    let Some(server) = crate::s3::server("the_lake_server_going_down_mid_ingest_commits_nothing_partial_and_the_next_run_finishes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let landing = small_landing(dir.path());
    let (reference_lake, first_night_puts) = reference(dir.path(), &landing).await;
    let relay = Relay::start(&server.endpoint);
    let lake_url = format!("{}/lake", server.url("lake-down"));
    let cfg = config(
        &dir.path().join("run"),
        &landing.to_string_lossy(),
        &lake_url,
        "publish",
        &server.toml(&relay.endpoint()),
    );
    // The first night is committed; the server dies at the first file of the second.
    relay.cut_after("PUT", first_night_puts);
    let started = Instant::now();
    let err = wasnaker::ingest::run(&cfg, &clock(), &IngestOptions::default(), &NoProgress)
        .await
        .expect_err("the lake is gone");
    let took = started.elapsed();
    assert!(relay.is_down());
    let msg = format!("{err:#}");
    assert!(msg.contains(&format!("{lake_url}/tables/")), "the error names the file: {msg}");
    assert!(
        msg.contains("after 2 retries") && msg.contains("did not answer"),
        "retried, then said so: {msg}"
    );
    assert!(took < Duration::from_secs(30), "2 quick retries, not minutes: {took:?}");

    // The first night is there whole; nothing of the second was committed.
    let lake = server.open(&lake_url);
    let ledger = Ledger::load(&lake).await.unwrap();
    assert_eq!(ledger.entries().count(), 1, "only the first night is committed");
    let committed: Vec<&str> = ledger
        .entries()
        .flat_map(|e| e.files.iter().flat_map(|f| f.data.iter().chain(f.quarantine.iter())))
        .map(String::as_str)
        .collect();
    let stored = lake.list_all("").await.unwrap();
    assert_eq!(
        stored.len(),
        committed.len() + 1,
        "the first night's files and its ledger entry, nothing else: {stored:?}"
    );
    for file in committed {
        assert!(stored.iter().any(|(p, _)| p == file), "{file} missing");
    }

    // The server is back: the next run ingests the rest, and the lake is
    // byte for byte the one of a run that never failed.
    relay.up();
    let r = wasnaker::ingest::run(&cfg, &clock(), &IngestOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!((r.ingested(), r.failed()), (3, 0));
    same(&reference_lake, &objects(&lake).await, "lake after the failed run and a rerun");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_landing_server_going_down_mid_ingest_fails_the_nights_for_the_next_run() {
    let Some(server) = crate::s3::server("the_landing_server_going_down_mid_ingest_fails_the_nights_for_the_next_run") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let landing_dir = small_landing(dir.path());
    let relay = Relay::start(&server.endpoint);
    let landing_url = format!("{}/landing", server.url("landing-down"));
    mirror(&landing_dir, &server.open(&landing_url)).await;
    let cfg = config(
        &dir.path().join("run"),
        &landing_url,
        "lake",
        "publish",
        &server.toml(&relay.endpoint()),
    );

    // The plan's requests (listings and every `_DONE`), counted on a dry run.
    let dry = IngestOptions {
        dry_run: true,
        ..Default::default()
    };
    wasnaker::ingest::run(&cfg, &clock(), &dry, &NoProgress).await.unwrap();
    let plan_gets = relay.count("GET");
    // The same plan, the first night's listing, then the server is gone while its files are read.
    relay.cut_after("GET", plan_gets + 1);
    let r = wasnaker::ingest::run(&cfg, &clock(), &IngestOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(relay.is_down());
    assert_eq!((r.ingested(), r.failed()), (0, 4), "every night failed on I/O, none was rejected");
    for n in &r.results {
        let NightOutcome::Failed(msg) = &n.outcome else {
            panic!("{:?}", n.outcome)
        };
        assert!(msg.contains(&landing_url) && msg.contains("did not answer"), "{msg}");
    }
    let lake = Location::open(&cfg.lake, &cfg.storage).unwrap();
    assert_eq!(Ledger::load(&lake).await.unwrap().entries().count(), 0, "nothing recorded");

    relay.up();
    let r = wasnaker::ingest::run(&cfg, &clock(), &IngestOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert_eq!((r.ingested(), r.failed()), (4, 0));
    same(
        &reference(dir.path(), &landing_dir).await.0,
        &tree(Path::new(&cfg.lake)).into_iter().collect(),
        "lake after the failed run and a rerun",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_writers_cannot_both_commit_a_night_on_s3() {
    let Some(server) = crate::s3::server("two_writers_cannot_both_commit_a_night_on_s3") else {
        return;
    };
    let lake = server.open(&server.url("two-writers"));
    let entry = |writer: &str| {
        let mut e: wasnaker::lake::ledger::LedgerEntry = serde_json::from_value(serde_json::json!({
            "format": 1, "system": "inspection", "night": "2026-10-03", "version": 1, "status": "rejected",
            "done_sha256": writer, "done_lists_checksums": false, "program_version": "test",
            "pseudonym_key_id": null, "rejection": null, "files": [], "ignored_files": []
        }))
        .unwrap();
        e.done_sha256 = writer.to_string();
        e
    };
    let mut a = Ledger::default();
    let mut b = Ledger::default();
    let (ra, rb) = tokio::join!(a.commit(&lake, entry("a")), b.commit(&lake, entry("b")));
    assert!(ra.is_ok() != rb.is_ok(), "exactly one commit wins: {ra:?} {rb:?}");
    let loser = ra.err().or(rb.err()).unwrap().to_string();
    assert!(loser.contains("committed by another writer"), "{loser}");
    let stored = Ledger::load(&lake).await.unwrap();
    assert_eq!(stored.entries().count(), 1);
}
