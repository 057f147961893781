//! The monthly report over a real (demo) lake: the lake views match the
//! schemas the queries are written against, every table is produced, and
//! the totals reconcile.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::NaiveDate;

use wasnaker::clock::{FixedClock, Month};
use wasnaker::config::Config;
use wasnaker::demo::DemoOptions;
use wasnaker::lake::context::{self, ViewOptions};
use wasnaker::lake::ledger::Ledger;
use wasnaker::monthly::{self, MonthlyRequest};
use wasnaker::storage::Location;

use crate::common::*;

/// A short demo (about 2.5 months, 2026-08-20 to 2026-10-30) ingested into a
/// temp folder, with signed bundles for 2026-08 and 2026-09 published.
pub async fn small_demo(dir: &Path) -> Config {
    let mut opts = DemoOptions::demo();
    opts.first_night = NaiveDate::from_ymd_opt(2026, 8, 20).unwrap();
    opts.nights = 72;
    let queries = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
    let outcome = wasnaker::demo::run::run(dir, &opts, &wasnaker::ingest::NoProgress).await.unwrap();
    // Point the demo config at this checkout's queries.
    let mut cfg = outcome.config;
    cfg.report.queries_dir = queries;
    cfg
}

fn csv_rows(bytes: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(bytes);
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn int(row: &BTreeMap<String, String>, col: &str) -> i64 {
    row[col].parse().unwrap_or_else(|_| panic!("{col} = {:?}", row[col]))
}

#[tokio::test(flavor = "multi_thread")]
async fn demo_month_produces_every_table_and_totals_reconcile() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = small_demo(&dir.path().join("demo")).await;

    // The lake views have exactly the columns and types the queries are written against.
    let lake = Location::parse(&cfg.lake).unwrap();
    let ledger = Ledger::load(&lake).await.unwrap();
    let views = context::open(
        &wasnaker::engine::Engine::Local,
        &lake,
        &ledger,
        &ViewOptions {
            month: Some(Month::parse("2026-09").unwrap()),
            as_of: None,
            allow_stale_snapshot: false,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    for name in wasnaker::query::schemas::view_names() {
        let want = wasnaker::query::schemas::view_schema(name).unwrap();
        let got = views.ctx.table(*name).await.unwrap_or_else(|e| panic!("view {name}: {e}"));
        let got: Vec<(String, arrow::datatypes::DataType)> = got
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone()))
            .collect();
        let want: Vec<(String, arrow::datatypes::DataType)> =
            want.fields().iter().map(|f| (f.name().clone(), f.data_type().clone())).collect();
        assert_eq!(got, want, "view {name}");
    }

    let clock = FixedClock("2026-10-31T00:00:00Z".parse().unwrap());
    let report = monthly::compute(
        &cfg,
        &clock,
        &MonthlyRequest {
            month: Some(Month::parse("2026-09").unwrap()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let names: Vec<&str> = report.tables.iter().map(|t| t.query.name.as_str()).collect();
    assert_eq!(names, monthly::PUBLISHED_ORDER);
    let files: BTreeMap<String, Vec<u8>> = monthly::data_files(&report).unwrap().into_iter().collect();
    assert_eq!(files.len(), 10);

    let prov = csv_rows(&files["data/followup_by_province.csv"]);
    assert_eq!(prov.len(), 39);
    assert_eq!(prov[0]["province_code"], "00");
    let national = &prov[0];
    for col in [
        "received",
        "followed_up_in_month",
        "closed_in_month",
        "open_at_end",
        "open_not_followed_up",
        "not_followed_up_0_30",
        "sla_cohort",
        "sla_met",
    ] {
        let sum: i64 = prov[1..].iter().map(|r| int(r, col)).sum();
        assert_eq!(int(national, col), sum, "national {col} is the sum of the provinces");
    }
    let buckets: i64 = [
        "not_followed_up_0_30",
        "not_followed_up_31_90",
        "not_followed_up_91_180",
        "not_followed_up_over_180",
    ]
    .iter()
    .map(|c| int(national, c))
    .sum();
    assert_eq!(buckets, int(national, "open_not_followed_up"));
    assert!(int(national, "received") > 100, "the demo month has complaints: {national:?}");
    let viol = csv_rows(&files["data/followup_by_violation.csv"]);
    assert_eq!(viol.len(), 13);
    for col in ["received", "open_at_end", "open_not_followed_up"] {
        assert_eq!(
            viol.iter().map(|r| int(r, col)).sum::<i64>(),
            int(national, col),
            "violations sum to national {col}"
        );
    }
    let map = csv_rows(&files["data/supervision_map.csv"]);
    assert_eq!(map.len(), 39);
    for col in ["companies_registry", "inspectors_active", "inspectors_needed", "workers_insured"] {
        assert_eq!(
            map[1..].iter().map(|r| int(r, col)).sum::<i64>(),
            int(&map[0], col),
            "supervision national {col}"
        );
    }
    // Across tables: open complaints per inspector uses followup_by_province's open_at_end.
    let (open, ia) = (int(national, "open_at_end"), int(&map[0], "inspectors_active"));
    let tenths = (20 * open + ia) / (2 * ia);
    assert_eq!(map[0]["open_complaints_per_inspector"], format!("{}.{}", tenths / 10, tenths % 10));
    let dq = csv_rows(&files["data/data_quality.csv"]);
    assert_eq!(
        dq.iter().map(|r| r["table"].as_str()).collect::<Vec<_>>(),
        [
            "companies",
            "inspectors",
            "complaints",
            "complaint_events",
            "inspections",
            "employers",
            "contributions"
        ]
    );
    for r in &dq {
        assert_eq!(int(r, "rows_read"), int(r, "rows_accepted") + int(r, "rows_quarantined"));
        assert_eq!(int(r, "extracts_expected"), 30, "{r:?}");
    }
    assert_eq!(report.trend.len(), 12);
    assert_eq!(report.trend.last().unwrap().received, int(national, "received"));
    // The report month's point is taken from its table, the months before
    // are computed by the trend: each equals the national row of that
    // month's own report with the same as_of.
    let months: Vec<String> = report.trend.iter().map(|p| p.month.to_string()).collect();
    assert_eq!(months.first().map(String::as_str), Some("2025-10"));
    assert_eq!(months.last().map(String::as_str), Some("2026-09"));
    let august = monthly::compute(
        &cfg,
        &clock,
        &MonthlyRequest {
            month: Some(Month::parse("2026-08").unwrap()),
            as_of: Some(report.as_of),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(august.trend.last(), Some(&report.trend[10]));
    let aug_files: BTreeMap<String, Vec<u8>> = monthly::data_files(&august).unwrap().into_iter().collect();
    let aug_national = &csv_rows(&aug_files["data/followup_by_province.csv"])[0];
    assert_eq!(report.trend[10].received, int(aug_national, "received"));
    assert_eq!(report.trend[10].open_at_end, int(aug_national, "open_at_end"));
    assert!(report.trend.iter().any(|p| p.received > 0), "{:?}", report.trend);
}

fn report_cli(config: &Path, extra: &[&str]) -> std::process::Output {
    crate::cli::bin()
        .arg("--config")
        .arg(config)
        .args(["report", "--month", "2026-10"])
        .args(extra)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_month_without_a_snapshot_is_an_error_naming_table_and_month() {
    let f = Fixture::new();
    f.inspection("2026-10-03", &[], Done::Empty);
    f.inspection("2026-10-31", &[], Done::Empty);
    // The insurance system delivered nothing on or before 2026-10-31.
    f.insurance("2026-11-02", &[], Done::Empty);
    f.ingest().await;
    let (config, _) = report_config(&f, "wasnaker.toml", "publish", "");
    let expected = "error: employers: no snapshot on or before 2026-10-31 (as_of 2026-11-02) for month 2026-10; \
                    ingest the nights of that month first";
    // Allowing a stale snapshot does not help: there is none at all.
    for extra in [&[][..], &["--allow-stale-snapshot"][..]] {
        let out = report_cli(&config, extra);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{extra:?}\n{err}");
        assert_eq!(line_starting(&err, "error:"), Some(expected), "{extra:?}\n{err}");
        assert!(!f.dir.path().join("publish").join("2026-10").exists(), "nothing is published");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_snapshot_is_refused_unless_allowed_and_then_warned_on_stderr_manifest_and_page() {
    let f = Fixture::new();
    // The inspection system's last night in October is the 23rd: 8 days before the 31st.
    f.inspection("2026-10-03", &[], Done::Empty);
    f.inspection("2026-10-23", &[], Done::Empty);
    f.insurance("2026-10-03", &[], Done::Empty);
    f.insurance("2026-10-31", &[], Done::Empty);
    f.ingest().await;
    let (config, _) = report_config(&f, "wasnaker.toml", "publish", "");
    let out = report_cli(&config, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(
        line_starting(&err, "error:"),
        Some(
            "error: companies: the latest snapshot on or before 2026-10-31 (as_of 2026-10-31) is from 2026-10-23, \
             8 days older than the month's last day (at most 7 allowed) for month 2026-10; \
             ingest a later night or pass --allow-stale-snapshot"
        ),
        "{err}"
    );
    let month_dir = f.dir.path().join("publish").join("2026-10");
    assert!(!month_dir.exists(), "a refused report publishes nothing");

    let out = report_cli(&config, &["--allow-stale-snapshot"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}\n{}", text(&out.stdout));
    let warnings: Vec<String> = ["companies", "inspectors"]
        .iter()
        .map(|t| {
            format!("Snapshot {t} memakai ekstrak 2026-10-23 (8 hari sebelum akhir bulan) / snapshot {t} uses the extract of 2026-10-23")
        })
        .collect();
    for w in &warnings {
        assert!(err.lines().any(|l| l == format!("warning: {w}")), "stderr lacks {w:?}:\n{err}");
        assert!(
            err.lines().any(|l| l.contains(" WARN ") && l.contains(w.as_str())),
            "no log line for {w:?}:\n{err}"
        );
    }
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(month_dir.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["warnings"], serde_json::json!(warnings));
    assert_eq!(
        manifest["snapshots"],
        serde_json::json!([
            {"table": "companies", "night": "2026-10-23"},
            {"table": "inspectors", "night": "2026-10-23"},
            {"table": "employers", "night": "2026-10-31"}
        ])
    );
    let html = std::fs::read_to_string(month_dir.join("report.html")).unwrap();
    assert!(html.contains("Peringatan untuk bulan ini"), "the page shows a warning box");
    for w in &warnings {
        assert!(html.contains(&format!("<li>{w}</li>")), "report.html lacks {w:?}");
    }
    let index = std::fs::read_to_string(f.dir.path().join("publish").join("index.html")).unwrap();
    assert!(index.contains("2 peringatan"), "the index flags the month");

    // `report.allow_stale_snapshot = true` in the config does the same without the flag.
    let (_, cfg) = report_config(&f, "stale-ok.toml", "publish", "allow_stale_snapshot = true");
    let clock = FixedClock("2026-11-05T00:00:00Z".parse().unwrap());
    let req = MonthlyRequest {
        month: Some(Month::parse("2026-10").unwrap()),
        ..Default::default()
    };
    let report = monthly::compute(&cfg, &clock, &req).await.unwrap();
    assert_eq!(report.warnings, warnings);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_snapshot_seven_days_old_is_used_and_eight_days_old_is_stale() {
    for (night, stale) in [("2026-10-24", false), ("2026-10-23", true)] {
        let f = Fixture::new();
        f.inspection(night, &[], Done::Empty);
        f.insurance("2026-10-31", &[], Done::Empty);
        f.ingest().await;
        let (_, cfg) = report_config(&f, "wasnaker.toml", "publish", "");
        let clock = FixedClock("2026-11-05T00:00:00Z".parse().unwrap());
        let req = MonthlyRequest {
            month: Some(Month::parse("2026-10").unwrap()),
            ..Default::default()
        };
        match monthly::compute(&cfg, &clock, &req).await {
            Ok(report) => {
                assert!(!stale, "{night}: 8 days must be refused");
                assert!(report.warnings.is_empty(), "{:?}", report.warnings);
                assert!(report.snapshots.contains(&("companies", date(night))), "{:?}", report.snapshots);
            }
            Err(monthly::MonthlyError::Views(context::ViewError::StaleSnapshot {
                table, night: used, age, ..
            })) => {
                assert!(stale, "{night}: 7 days is allowed");
                assert_eq!((table, used, age), ("companies", date(night), 8));
            }
            Err(other) => panic!("{night}: {other}"),
        }
    }
}
