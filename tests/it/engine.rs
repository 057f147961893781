//! The report on Apache Ballista (`[engine] url`): the standalone engine (a
//! scheduler and an executor in this process, every plan serialised and sent
//! as to a cluster) publishes the bundle of the local engine byte for byte;
//! `check`, `query` and the report run against a scheduler reached as
//! `df://host:port`; and the configuration mistakes are named.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;
use std::time::Instant;

use wasnaker::clock::FixedClock;
use wasnaker::engine::Engine;
use wasnaker::ingest::{IngestOptions, NoProgress};
use wasnaker::monthly;

use crate::cloud::{config, objects, october, october_demo_landing, same, small_landing};
use crate::common::*;

fn clock() -> FixedClock {
    FixedClock("2026-11-02T00:00:00Z".parse().unwrap())
}

/// Runs the binary with `--config cfg` and `args` off the async workers (a
/// cluster of this process may have to answer it).
async fn wasnaker(cfg: &Path, args: &[&str]) -> Output {
    let mut cmd = crate::cli::bin();
    cmd.arg("--config").arg(cfg).args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap()).await.unwrap()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_published_through_ballista_is_byte_identical_to_the_local_one() {
    let dir = tempfile::tempdir().unwrap();
    let landing = october_demo_landing(dir.path()).to_string_lossy().into_owned();

    let local = config(&dir.path().join("local"), &landing, "lake", "publish", "");
    let report = wasnaker::ingest::run(&local, &clock(), &IngestOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(report.ingested() >= 50 && report.failed() == 0, "{} ingested", report.ingested());
    let started = Instant::now();
    let (_, bundle) = monthly::publish_month(&local, &clock(), &october()).await.unwrap();
    let local_time = started.elapsed();

    // The same lake, the same queries, on the standalone Ballista engine.
    let ballista = config(
        &dir.path().join("ballista"),
        &landing,
        &local.lake,
        "publish",
        "[engine]\nurl = \"standalone\"\n",
    );
    assert_eq!(ballista.engine, Engine::Standalone);
    let started = Instant::now();
    let (report_b, bundle_b) = monthly::publish_month(&ballista, &clock(), &october()).await.unwrap();
    eprintln!(
        "October 2026 report and publish: local {:.2} s, standalone Ballista {:.2} s",
        local_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!(bundle.files.len(), bundle_b.files.len());
    assert!(
        report_b
            .tables
            .iter()
            .all(|t| t.batches.iter().map(|b| b.num_rows()).sum::<usize>() > 0),
        "every published table has rows"
    );
    let a: BTreeMap<String, Vec<u8>> = tree(Path::new(&local.publish)).into_iter().collect();
    let b: BTreeMap<String, Vec<u8>> = tree(Path::new(&ballista.publish)).into_iter().collect();
    assert!(
        a.len() >= 17,
        "the month's bundle and index.html: {:?}",
        a.keys().collect::<Vec<_>>()
    );
    same(&a, &b, "bundle published through standalone Ballista vs local");

    // And the bundle recomputes on Ballista from its manifest alone.
    let month = wasnaker::storage::Location::open(&format!("{}/2026-10", ballista.publish), &ballista.storage).unwrap();
    let lake = wasnaker::storage::Location::open(&ballista.lake, &ballista.storage).unwrap();
    let mut checked = wasnaker::verify::verify(&month, None).await.unwrap();
    wasnaker::verify::recompute_on(&Engine::Standalone, &mut checked, &month, &lake)
        .await
        .unwrap();
    assert!(checked.ok(), "{checked}");
    assert_eq!(recomputed_identical(&checked), 10, "{checked}");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_query_and_report_run_on_a_remote_ballista_scheduler() {
    let Some(server) = crate::s3::server("check_query_and_report_run_on_a_remote_ballista_scheduler") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let landing = small_landing(dir.path()).to_string_lossy().into_owned();
    let lake = format!("{}/lake", server.url("ballista"));
    let publish_local = dir.path().join("publish-local").to_string_lossy().into_owned();
    let publish_remote = dir.path().join("publish-remote").to_string_lossy().into_owned();
    let storage = server.toml(&server.endpoint);
    let local = config(&dir.path().join("local"), &landing, &lake, &publish_local, &storage);
    let report = wasnaker::ingest::run(&local, &clock(), &IngestOptions::default(), &NoProgress)
        .await
        .unwrap();
    assert!(report.ingested() >= 4 && report.failed() == 0, "{} ingested", report.ingested());

    // A scheduler and an executor, as another machine would run them; the
    // executor reads the lake from S3.
    let addr = wasnaker::lake::context::start_cluster(Some(&server.open(&lake))).await.unwrap();
    assert!(addr.ip().is_loopback(), "{addr}");
    let url = format!("df://127.0.0.1:{}", addr.port());
    let remote = config(
        &dir.path().join("remote"),
        &landing,
        &lake,
        &publish_remote,
        &format!("{storage}\n[engine]\nurl = {url:?}\n"),
    );
    assert!(remote.engine.is_remote());
    let remote_toml = dir.path().join("remote/wasnaker.toml");

    // check: the queries are planned on the remote engine after a test query.
    let out = wasnaker(&remote_toml, &["check"]).await;
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let line = line_starting(&all, &format!("engine {url}: ok (a test query ran on the executors in ")).unwrap_or_else(|| panic!("{all}"));
    assert!(line.contains("queries planned on it"), "{line}");

    // query: the rows of the local engine.
    let sql = "SELECT province_code, count(*) AS complaints FROM complaints GROUP BY province_code ORDER BY province_code";
    let on_remote = wasnaker(&remote_toml, &["query", sql, "--format", "csv"]).await;
    let on_local = wasnaker(&dir.path().join("local/wasnaker.toml"), &["query", sql, "--format", "csv"]).await;
    assert!(on_remote.status.success(), "{}", text(&on_remote));
    assert!(on_local.status.success(), "{}", text(&on_local));
    let rows = String::from_utf8_lossy(&on_remote.stdout).into_owned();
    assert!(rows.starts_with("province_code,complaints\n") && rows.lines().count() > 2, "{rows}");
    assert_eq!(rows, String::from_utf8_lossy(&on_local.stdout));

    // The month's bundle, published through the remote engine, is the local one.
    monthly::publish_month(&local, &clock(), &october()).await.unwrap();
    monthly::publish_month(&remote, &clock(), &october()).await.unwrap();
    let a: BTreeMap<String, Vec<u8>> = tree(Path::new(&publish_local)).into_iter().collect();
    let b: BTreeMap<String, Vec<u8>> = tree(Path::new(&publish_remote)).into_iter().collect();
    same(&a, &b, "bundle published through df:// vs local");
    assert!(!objects(&server.open(&lake)).await.is_empty());
}

#[test]
fn a_remote_engine_with_a_lake_on_local_disk_is_a_configuration_error() {
    let f = Fixture::new();
    let (path, _) = report_config(&f, "wasnaker.toml", "publish", "");
    let text_cfg = std::fs::read_to_string(&path).unwrap() + "\n[engine]\nurl = \"df://ballista-scheduler:50050\"\n";
    std::fs::write(&path, text_cfg).unwrap();
    for args in [&["check"][..], &["report", "--month", "2026-10"][..], &["query", "SELECT 1"][..]] {
        let out = crate::cli::bin().arg("--config").arg(&path).args(args).output().unwrap();
        let all = text(&out);
        assert!(!out.status.success(), "{args:?}: {all}");
        assert!(
            all.contains("engine.url = \"df://ballista-scheduler:50050\" runs the queries on Ballista executors on other machines")
                && all.contains("which they cannot read: put the lake on s3://, gs:// or az://"),
            "{args:?}: {all}"
        );
        assert!(all.contains(&path.display().to_string()), "names the config file: {all}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_scheduler_is_named_by_check_and_report() {
    let f = Fixture::new();
    let port = crate::s3::free_port();
    let (path, _) = report_config(&f, "wasnaker.toml", "publish", "");
    let text_cfg = std::fs::read_to_string(&path)
        .unwrap()
        .replace("lake = \"lake\"", "lake = \"s3://wasnaker-nowhere/lake\"")
        + &format!("\n[engine]\nurl = \"df://127.0.0.1:{port}\"\n\n[storage.s3]\nregion = \"us-east-1\"\n");
    std::fs::write(&path, text_cfg).unwrap();
    let started = Instant::now();
    let out = wasnaker(&path, &["check"]).await;
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains(&format!(
            "engine df://127.0.0.1:{port}: the Ballista scheduler did not run a test query"
        )),
        "{all}"
    );
    assert!(
        all.contains("check that the scheduler and at least one executor are running"),
        "{all}"
    );
    eprintln!(
        "an unreachable scheduler is reported after {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
