//! `wasnaker verify --recompute`: a bundle re-derived from the lake extracts
//! its manifest lists; any change to the lake or to a table is named
//! precisely, even when the bundle's checksums and signature were redone.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use wasnaker::clock::{FixedClock, Month};
use wasnaker::monthly::{self, MonthlyRequest};
use wasnaker::publish::manifest::{sha256_hex, sha256sums};
use wasnaker::storage::Location;
use wasnaker::verify::{Check, CheckKind, Status, VerifyReport, recompute, verify};

use crate::common::*;

/// The October fixture lake with its month published (signed); returns the
/// fixture, the config file and the bundle folder.
async fn published_october() -> (Fixture, PathBuf, PathBuf) {
    let f = Fixture::new();
    october_landing(&f);
    f.ingest().await;
    let (config, cfg) = report_config(&f, "wasnaker.toml", "publish", "");
    let req = MonthlyRequest {
        month: Some(Month::parse("2026-10").unwrap()),
        ..Default::default()
    };
    monthly::publish_month(&cfg, &FixedClock("2026-11-05T00:00:00Z".parse().unwrap()), &req)
        .await
        .unwrap();
    let bundle = f.dir.path().join("publish").join("2026-10");
    (f, config, bundle)
}

async fn check(f: &Fixture, bundle: &Path) -> VerifyReport {
    let loc = Location::parse(bundle.to_str().unwrap()).unwrap();
    let mut report = verify(&loc, None).await.unwrap();
    recompute(&mut report, &loc, &f.lake_loc()).await.unwrap();
    report
}

fn failures(report: &VerifyReport) -> Vec<&Check> {
    report.problems().collect()
}

fn verify_cli(config: &Path, bundle: &Path) -> (Option<i32>, String) {
    let out = crate::cli::bin()
        .arg("--config")
        .arg(config)
        .arg("verify")
        .arg(bundle)
        .arg("--recompute")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn recompute_passes_on_a_published_bundle_from_the_cli_and_the_library() {
    let (f, config, bundle) = published_october().await;
    let report = check(&f, &bundle).await;
    assert!(report.ok(), "{report}");
    let passed: Vec<&str> = report
        .checks
        .iter()
        .filter(|c| c.kind == CheckKind::Recompute && c.status == Status::Passed)
        .map(|c| c.file.as_str())
        .collect();
    assert_eq!(
        passed,
        [
            "data/followup_by_province.csv",
            "data/followup_by_province.parquet",
            "data/followup_by_violation.csv",
            "data/followup_by_violation.parquet",
            "data/supervision_map.csv",
            "data/supervision_map.parquet",
            "data/insurance_crosscheck.csv",
            "data/insurance_crosscheck.parquet",
            "data/data_quality.csv",
            "data/data_quality.parquet",
        ]
    );
    let input = report.checks.iter().find(|c| c.kind == CheckKind::Input).unwrap();
    assert_eq!(
        input.detail,
        "all 11 extracts the manifest lists are in the lake's ledger with their sha256 and rows"
    );
    // The manifest carries the helper view's SQL too: recomputing never reads the local queries/.
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle.join("manifest.json")).unwrap()).unwrap();
    let kinds: Vec<(&str, &str)> = manifest["queries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["table"].as_str().unwrap(), q["kind"].as_str().unwrap()))
        .collect();
    assert!(kinds.contains(&("complaint_state", "view")), "{kinds:?}");

    let (code, stdout) = verify_cli(&config, &bundle);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("ok   recompute data/followup_by_province.csv: byte-identical to the table recomputed from the lake (39 rows)"),
        "{stdout}"
    );
    assert!(stdout.trim_end().ends_with("bundle OK"), "{stdout}");
}

/// Change a table of the bundle and redo its manifest entry, `SHA256SUMS`
/// and signature, as someone with the signing key could.
fn tamper_and_resign(bundle: &Path, file: &str, from: &str, to: &str) {
    let path = bundle.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} lacks {from:?}:\n{text}");
    let changed = text.replacen(from, to, 1);
    std::fs::write(&path, &changed).unwrap();
    let manifest_path = bundle.join("manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    for o in m["outputs"].as_array_mut().unwrap() {
        if o["path"] == file {
            o["sha256"] = sha256_hex(changed.as_bytes()).into();
            o["bytes"] = changed.len().into();
        }
    }
    let mut bytes = serde_json::to_vec_pretty(&m).unwrap();
    bytes.push(b'\n');
    std::fs::write(&manifest_path, bytes).unwrap();
    let files = tree(bundle).into_iter().collect();
    let sums = sha256sums(&files);
    std::fs::write(bundle.join("SHA256SUMS"), &sums).unwrap();
    std::fs::write(bundle.join("SHA256SUMS.sig"), test_signer().sign(&sums).unwrap()).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn recompute_names_row_and_column_of_a_changed_table_even_when_re_signed() {
    let (f, config, bundle) = published_october().await;
    tamper_and_resign(
        &bundle,
        "data/followup_by_province.csv",
        "2026-10,00,INDONESIA,2,",
        "2026-10,00,INDONESIA,3,",
    );
    let loc = Location::parse(bundle.to_str().unwrap()).unwrap();
    let allowed = f.dir.path().join("allowed_signers");
    std::fs::write(&allowed, test_signer().allowed_signers_line(SIGNER)).unwrap();
    let plain = verify(&loc, Some(&allowed)).await.unwrap();
    assert!(plain.ok(), "checksums, signature and manifest all hold after re-signing:\n{plain}");

    let report = check(&f, &bundle).await;
    let failed = failures(&report);
    assert_eq!(failed.len(), 1, "{report}");
    assert_eq!(failed[0].file, "data/followup_by_province.csv");
    assert_eq!(failed[0].kind, CheckKind::Recompute);
    assert_eq!(
        failed[0].detail,
        "row 1 (line 2: province_code 00, province_name INDONESIA), column received: the bundle has \"3\", recomputed \"2\""
    );
    let (code, stdout) = verify_cli(&config, &bundle);
    assert_eq!(code, Some(4), "{stdout}");
    assert!(stdout.contains("FAIL recompute data/followup_by_province.csv: row 1"), "{stdout}");
    assert!(stdout.trim_end().ends_with("1 problem(s)"), "{stdout}");
}

/// Rewrite a lake Parquet file with one complaint moved to another province.
fn move_complaint_in_lake(f: &Fixture, night: &str, complaint: &str, province: &str) -> String {
    let rel = f
        .lake_files()
        .into_iter()
        .map(|(p, _)| p)
        .find(|p| p.starts_with(&format!("tables/complaints/night={night}/")))
        .unwrap();
    let path = f.lake.join(&rel);
    let reader = ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(std::fs::read(&path).unwrap())).unwrap();
    let schema = reader.schema().clone();
    let batches: Vec<RecordBatch> = reader.build().unwrap().map(Result::unwrap).collect();
    let mut moved = 0;
    let batches: Vec<RecordBatch> = batches
        .into_iter()
        .map(|b| {
            let ids = b.column_by_name("complaint_id").unwrap().as_string::<i32>().clone();
            let idx = schema.index_of("province_code").unwrap();
            let old = b.column(idx).as_string::<i32>();
            let new: StringArray = (0..b.num_rows())
                .map(|i| {
                    if ids.value(i) == complaint {
                        moved += 1;
                        Some(province.to_string())
                    } else {
                        (!old.is_null(i)).then(|| old.value(i).to_string())
                    }
                })
                .collect();
            let mut cols = b.columns().to_vec();
            cols[idx] = Arc::new(new);
            RecordBatch::try_new(schema.clone(), cols).unwrap()
        })
        .collect();
    assert_eq!(moved, 1, "{complaint} in {rel}");
    let mut out = Vec::new();
    let mut w = ArrowWriter::try_new(&mut out, schema.clone(), Some(wasnaker::lake::parquet_properties())).unwrap();
    for b in &batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    std::fs::write(&path, out).unwrap();
    rel
}

#[tokio::test(flavor = "multi_thread")]
async fn recompute_detects_a_changed_lake_file_and_a_changed_ledger_entry() {
    let (f, config, bundle) = published_october().await;
    // The complaint rows of 2026-10-31 win: move complaint 2 from province 32 to 31 there.
    move_complaint_in_lake(&f, "2026-10-31", "ADU-2026-0000002", "31");
    let report = check(&f, &bundle).await;
    let failed: Vec<(&str, &str)> = failures(&report).iter().map(|c| (c.file.as_str(), c.detail.as_str())).collect();
    assert_eq!(
        failed,
        [
            (
                "data/followup_by_province.csv",
                "row 12 (line 13: province_code 31, province_name DKI Jakarta), column received: \
                 the bundle has \"1\", recomputed \"2\" (2 rows differ)"
            ),
            (
                "data/followup_by_province.parquet",
                "row 12 (line 13: province_code 31, province_name DKI Jakarta), column received: \
                 the bundle has \"1\", recomputed \"2\" (2 rows differ)"
            ),
            (
                "data/supervision_map.csv",
                "row 12 (line 13: province_code 31, province_name DKI Jakarta), column open_complaints_per_inspector: \
                 the bundle has \"1.0\", recomputed \"2.0\" (2 rows differ)"
            ),
            (
                "data/supervision_map.parquet",
                "row 12 (line 13: province_code 31, province_name DKI Jakarta), column open_complaints_per_inspector: \
                 the bundle has \"1.0\", recomputed \"2.0\" (2 rows differ)"
            ),
        ],
        "{report}"
    );
    let (code, stdout) = verify_cli(&config, &bundle);
    assert_eq!(code, Some(4), "{stdout}");

    // A ledger entry whose recorded checksum changed names the extract.
    let entry = f.lake.join("ledger/inspection/2026-10-03/v0001.json");
    let mut e: serde_json::Value = serde_json::from_slice(&std::fs::read(&entry).unwrap()).unwrap();
    let files = e["files"].as_array_mut().unwrap();
    let complaints = files.iter_mut().find(|x| x["table"] == "complaints").unwrap();
    let listed = complaints["sha256"].as_str().unwrap().to_string();
    complaints["sha256"] = "0".repeat(64).into();
    std::fs::write(&entry, serde_json::to_vec_pretty(&e).unwrap()).unwrap();
    let report = check(&f, &bundle).await;
    let input: Vec<&Check> = failures(&report).into_iter().filter(|c| c.kind == CheckKind::Input).collect();
    assert_eq!(input.len(), 1, "{report}");
    assert_eq!(input[0].file, "extract inspection/2026-10-03/complaints v1");
    assert_eq!(
        input[0].detail,
        format!(
            "complaints.csv.gz: sha256 in the lake's ledger is {}, the manifest says {listed}",
            "0".repeat(64)
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn recompute_names_a_night_re_delivered_after_publication() {
    let (f, _, bundle) = published_october().await;
    // A corrected delivery of 2026-10-03 (a new `_DONE`): complaint 2 is now about THR.
    let corrected = COMPLAINTS.replace(",32,K3,", ",32,THR,");
    assert_ne!(corrected, COMPLAINTS);
    f.inspection("2026-10-03", &[("complaints.csv.gz", corrected.as_str())], Done::Sums);
    f.ingest().await;
    let report = check(&f, &bundle).await;
    let input: Vec<(&str, &str)> = failures(&report)
        .iter()
        .filter(|c| c.kind == CheckKind::Input)
        .map(|c| (c.file.as_str(), c.detail.as_str()))
        .collect();
    let mut expected = Vec::new();
    // Only the incremental tables of that night were used (the snapshots are those of 2026-10-31).
    for t in ["complaint_events", "complaints", "inspections"] {
        expected.push((
            format!("extract inspection/2026-10-03/{t} v1"),
            "listed in the manifest but not used for 2026-10 as of 2026-10-31: the lake now uses v2".to_string(),
        ));
    }
    for t in ["complaint_events", "complaints", "inspections"] {
        expected.push((
            format!("extract inspection/2026-10-03/{t} v2"),
            "used for 2026-10 as of 2026-10-31 but not listed in the manifest (ingested or re-delivered after publication?)".to_string(),
        ));
    }
    let expected: Vec<(&str, &str)> = expected.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    assert_eq!(input, expected, "{report}");
    // The figures did not change (complaint 2's row of 2026-10-31 wins): every table still matches.
    assert!(
        report
            .checks
            .iter()
            .filter(|c| c.kind == CheckKind::Recompute)
            .all(|c| c.status == Status::Passed),
        "{report}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduled_verify_job_trusts_only_the_configured_signing_key() {
    use wasnaker::schedule::history::Outcome;
    let (f, config, _bundle) = published_october().await;
    let mut cfg = wasnaker::config::Config::load(&config).unwrap();
    let weekly = wasnaker::schedule::Schedule::from_toml(
        "job = \"verify\"\ncron = \"0 7 * * 1\"\n",
        Path::new("schedules/weekly-verify.toml"),
    )
    .unwrap();
    let slot = "2026-11-30T00:00:00Z".parse().unwrap();
    let clock = FixedClock(slot);
    let ok = wasnaker::schedule::job::execute(&cfg, &weekly, slot, &clock).await;
    assert_eq!(ok.outcome, Outcome::Ok, "{ok:?}");
    assert!(ok.detail.unwrap().contains("bundle 2026-10"));
    // Signed by a key other than the operator's: the job fails, naming the signature.
    let other = f.dir.path().join("other_ed25519");
    wasnaker::publish::Signer::generate_demo([9; 32], "someone-else")
        .write_private_openssh(&other)
        .unwrap();
    cfg.signing_key = Some(other);
    let bad = wasnaker::schedule::job::execute(&cfg, &weekly, slot, &clock).await;
    assert_eq!(bad.outcome, Outcome::Failed, "{bad:?}");
    assert!(bad.error.unwrap().contains("signature"));
}
