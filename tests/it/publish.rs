//! Publish and verify: the bundle's files, its reproducibility, its checks
//! with the standard tools (`sha256sum -c`, `ssh-keygen -Y verify`), tamper
//! detection, XLSX safety, the self-contained HTML and the atomic publish.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use arrow::array::{ArrayRef, Decimal128Array, Int64Array, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use chrono::NaiveDate;
use sha2::{Digest, Sha256};

use wasnaker::clock::Month;
use wasnaker::contract::System;
use wasnaker::contract::reference::{provinces, violations};
use wasnaker::lake::context::ExtractUse;
use wasnaker::publish::store::{Swap, publish_local, write_staging};
use wasnaker::publish::{Bundle, BundleInput, QuerySource, ReportTable, Signer, TrendPoint, build, publish};
use wasnaker::storage::Location;
use wasnaker::verify::{Status, verify};

const MONTH: Month = Month { year: 2026, month: 10 };
const PRINCIPAL: &str = "pelaporan@wasnaker.test";

/// A tiny deterministic generator for plausible numbers.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: i64) -> i64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n.max(1) as u64) as i64
    }
}

enum Col {
    Text(Vec<Option<String>>),
    Int(Vec<Option<i64>>),
    /// One decimal, as tenths.
    Dec(Vec<Option<i64>>),
}

fn batch(cols: Vec<(&str, Col)>) -> RecordBatch {
    let mut fields = Vec::new();
    let mut arrays: Vec<ArrayRef> = Vec::new();
    for (name, col) in cols {
        match col {
            Col::Text(v) => {
                fields.push(Field::new(name, DataType::Utf8, true));
                arrays.push(Arc::new(StringArray::from(v)));
            }
            Col::Int(v) => {
                fields.push(Field::new(name, DataType::Int64, true));
                arrays.push(Arc::new(Int64Array::from(v)));
            }
            Col::Dec(v) => {
                fields.push(Field::new(name, DataType::Decimal128(12, 1), true));
                let a = Decimal128Array::from(v.into_iter().map(|x| x.map(i128::from)).collect::<Vec<_>>())
                    .with_precision_and_scale(12, 1)
                    .unwrap();
                arrays.push(Arc::new(a));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

fn csv_bytes(batches: &[RecordBatch]) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut out);
        for b in batches {
            w.write(b).unwrap();
        }
    }
    out
}

fn parquet_bytes(batches: &[RecordBatch]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batches[0].schema(), Some(wasnaker::lake::parquet_properties())).unwrap();
    for b in batches {
        w.write(b).unwrap();
    }
    w.close().unwrap();
    out
}

fn table(name: &str, title_id: &str, title_en: &str, description: &str, batches: Vec<RecordBatch>) -> ReportTable {
    let sql = format!("-- {name}\nSELECT * FROM v_{name} ORDER BY 1;\n");
    ReportTable {
        name: name.into(),
        title_id: title_id.into(),
        title_en: title_en.into(),
        description: description.into(),
        query_file: format!("queries/{name}.sql"),
        sql_sha256: hex::encode(Sha256::digest(sql.as_bytes())),
        sql,
        csv: csv_bytes(&batches),
        parquet: parquet_bytes(&batches),
        batches,
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

/// Weight of a province (bigger on Java), for plausible figures.
fn weight(code: &str) -> i64 {
    match code {
        "32" => 160,
        "35" => 130,
        "31" => 120,
        "33" => 110,
        "36" => 70,
        "12" => 60,
        "73" => 40,
        "64" => 35,
        "16" | "14" | "18" => 28,
        "51" | "21" | "13" => 22,
        _ => 6,
    }
}

fn pct_tenths(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| (part * 2000 + whole) / (2 * whole))
}

/// A realistic input; `hostile` puts markup and formula-looking text in cells.
pub fn fixture(hostile: bool) -> BundleInput {
    let mut rng = Lcg(42);
    let period = MONTH.to_string();

    // followup_by_province: national row first, then the 38 provinces.
    let mut rows: Vec<[i64; 13]> = Vec::new();
    for p in provinces() {
        let w = weight(&p.code);
        let received = w * 3 + rng.next(w + 3);
        let followed = received * 6 / 10 + rng.next(w / 2 + 2);
        let closed = received / 2 + rng.next(w / 3 + 1);
        let open = w * 8 + rng.next(w * 2 + 2);
        let onfu = open * (10 + rng.next(80)) / 100;
        let b0 = onfu * 4 / 10;
        let b1 = onfu * 3 / 10;
        let b2 = onfu * 2 / 10;
        let b3 = onfu - b0 - b1 - b2;
        let median = 40 + rng.next(300);
        let cohort = received - rng.next(w / 4 + 1);
        let met = cohort * (30 + rng.next(65)) / 100;
        rows.push([received, followed, closed, open, onfu, b0, b1, b2, b3, median, cohort, met, 0]);
    }
    let sum = |i: usize| rows.iter().map(|r| r[i]).sum::<i64>();
    let national: [i64; 13] = [
        sum(0),
        sum(1),
        sum(2),
        sum(3),
        sum(4),
        sum(5),
        sum(6),
        sum(7),
        sum(8),
        143,
        sum(10),
        sum(11),
        0,
    ];
    let all: Vec<([i64; 13], String, String)> = std::iter::once((national, "00".to_string(), "INDONESIA".to_string()))
        .chain(rows.iter().zip(provinces()).map(|(r, p)| (*r, p.code.clone(), p.name.clone())))
        .collect();
    let int = |i: usize| Col::Int(all.iter().map(|r| Some(r.0[i])).collect());
    let fbp = batch(vec![
        ("period", Col::Text(all.iter().map(|_| s(&period)).collect())),
        ("province_code", Col::Text(all.iter().map(|r| s(&r.1)).collect())),
        ("province_name", Col::Text(all.iter().map(|r| s(&r.2)).collect())),
        ("received", int(0)),
        ("followed_up_in_month", int(1)),
        ("closed_in_month", int(2)),
        ("open_at_end", int(3)),
        ("open_not_followed_up", int(4)),
        ("not_followed_up_0_30", int(5)),
        ("not_followed_up_31_90", int(6)),
        ("not_followed_up_91_180", int(7)),
        ("not_followed_up_over_180", int(8)),
        (
            "median_days_to_follow_up",
            Col::Dec(all.iter().map(|r| (r.0[1] > 0).then_some(r.0[9])).collect()),
        ),
        ("sla_cohort", int(10)),
        ("sla_met", int(11)),
        ("sla_met_pct", Col::Dec(all.iter().map(|r| pct_tenths(r.0[11], r.0[10])).collect())),
    ]);

    // followup_by_violation.
    let vs = violations();
    let vrows: Vec<(i64, i64, i64, i64)> = vs
        .iter()
        .map(|_| {
            let open = 40 + rng.next(900);
            (30 + rng.next(400), open, open * (10 + rng.next(70)) / 100, 50 + rng.next(300))
        })
        .collect();
    let vname = |i: usize, name: &str| -> Option<String> {
        if hostile && i == vs.len() - 1 {
            s("=HYPERLINK(\"http://evil.example\",\"klik\")")
        } else if hostile && i == vs.len() - 2 {
            s("<script>alert('x')</script>")
        } else {
            s(name)
        }
    };
    let fbv = batch(vec![
        ("period", Col::Text(vs.iter().map(|_| s(&period)).collect())),
        ("violation_code", Col::Text(vs.iter().map(|v| s(&v.code)).collect())),
        (
            "violation_name",
            Col::Text(vs.iter().enumerate().map(|(i, v)| vname(i, &v.name)).collect()),
        ),
        ("received", Col::Int(vrows.iter().map(|r| Some(r.0)).collect())),
        ("open_at_end", Col::Int(vrows.iter().map(|r| Some(r.1)).collect())),
        ("open_not_followed_up", Col::Int(vrows.iter().map(|r| Some(r.2)).collect())),
        ("median_days_to_follow_up", Col::Dec(vrows.iter().map(|r| Some(r.3)).collect())),
    ]);

    // supervision_map.
    let mut sm: Vec<[i64; 10]> = Vec::new();
    for (p, r) in provinces().iter().zip(&rows) {
        let w = weight(&p.code);
        let companies = w * 900 + rng.next(w * 100 + 10);
        let employers = companies * 7 / 10;
        let not_in_registry = employers / 5 + rng.next(50);
        let workers = w * 40_000 + rng.next(w * 5000 + 100);
        let active = (w / 2 + rng.next(w / 2 + 3)).max(if p.code == "95" { 0 } else { 1 });
        let needed = (workers + 19_999) / 20_000;
        let needed_w = (companies + 59) / 60;
        let inspected = companies * (5 + rng.next(30)) / 100;
        sm.push([
            companies,
            employers,
            not_in_registry,
            workers,
            active,
            needed,
            needed_w,
            inspected,
            r[3],
            0,
        ]);
    }
    let smsum = |i: usize| sm.iter().map(|r| r[i]).sum::<i64>();
    let sm_nat = [
        smsum(0),
        smsum(1),
        smsum(2),
        smsum(3),
        smsum(4),
        smsum(5),
        smsum(6),
        smsum(7),
        smsum(8),
        0,
    ];
    let sm_all: Vec<([i64; 10], String, String)> = std::iter::once((sm_nat, "00".to_string(), "INDONESIA".to_string()))
        .chain(sm.iter().zip(provinces()).map(|(r, p)| (*r, p.code.clone(), p.name.clone())))
        .collect();
    let sint = |i: usize| Col::Int(sm_all.iter().map(|r| Some(r.0[i])).collect());
    let ratio = |num: i64, den: i64| (den > 0).then(|| (num * 20 + den) / (2 * den));
    let smb = batch(vec![
        ("period", Col::Text(sm_all.iter().map(|_| s(&period)).collect())),
        ("province_code", Col::Text(sm_all.iter().map(|r| s(&r.1)).collect())),
        ("province_name", Col::Text(sm_all.iter().map(|r| s(&r.2)).collect())),
        ("companies_registry", sint(0)),
        ("employers_insured_active", sint(1)),
        ("employers_not_in_registry", sint(2)),
        ("workers_insured", sint(3)),
        ("inspectors_active", sint(4)),
        ("inspectors_needed", sint(5)),
        ("inspectors_needed_workload", sint(6)),
        (
            "inspector_gap",
            Col::Int(sm_all.iter().map(|r| Some((r.0[5] - r.0[4]).max(0))).collect()),
        ),
        (
            "inspector_gap_workload",
            Col::Int(sm_all.iter().map(|r| Some((r.0[6] - r.0[4]).max(0))).collect()),
        ),
        (
            "companies_per_inspector",
            Col::Dec(sm_all.iter().map(|r| ratio(r.0[0], r.0[4])).collect()),
        ),
        (
            "open_complaints_per_inspector",
            Col::Dec(sm_all.iter().map(|r| ratio(r.0[8], r.0[4])).collect()),
        ),
        ("companies_inspected_12m", sint(7)),
        (
            "coverage_12m_pct",
            Col::Dec(sm_all.iter().map(|r| pct_tenths(r.0[7], r.0[0])).collect()),
        ),
    ]);

    // insurance_crosscheck.
    let mut ic: Vec<[i64; 4]> = Vec::new();
    for p in provinces() {
        let w = weight(&p.code);
        let bpjs = w / 4 + rng.next(w / 4 + 2);
        let active = bpjs * rng.next(60) / 100;
        let arrears = w * 3 + rng.next(w + 1);
        ic.push([bpjs, active, arrears, arrears * (15_000_000 + rng.next(80_000_000))]);
    }
    let icsum = |i: usize| ic.iter().map(|r| r[i]).sum::<i64>();
    let ic_all: Vec<([i64; 4], String, String)> =
        std::iter::once(([icsum(0), icsum(1), icsum(2), icsum(3)], "00".to_string(), "INDONESIA".to_string()))
            .chain(ic.iter().zip(provinces()).map(|(r, p)| (*r, p.code.clone(), p.name.clone())))
            .collect();
    let iint = |i: usize| Col::Int(ic_all.iter().map(|r| Some(r.0[i])).collect());
    let icb = batch(vec![
        ("period", Col::Text(ic_all.iter().map(|_| s(&period)).collect())),
        ("province_code", Col::Text(ic_all.iter().map(|r| s(&r.1)).collect())),
        ("province_name", Col::Text(ic_all.iter().map(|r| s(&r.2)).collect())),
        ("bpjs_complaints", iint(0)),
        ("bpjs_complaints_employer_active", iint(1)),
        ("employers_arrears_3m", iint(2)),
        ("arrears_amount_idr", iint(3)),
    ]);

    // data_quality.
    let dq_tables = [
        ("inspection", "companies"),
        ("inspection", "inspectors"),
        ("inspection", "complaints"),
        ("inspection", "complaint_events"),
        ("inspection", "inspections"),
        ("insurance", "employers"),
        ("insurance", "contributions"),
    ];
    let missing = |src: &str| if src == "insurance" { s("2026-10-12") } else { s("") };
    let rejected = |src: &str| if src == "inspection" { s("2026-10-05 2026-10-06") } else { s("") };
    let dqb = batch(vec![
        ("period", Col::Text(dq_tables.iter().map(|_| s(&period)).collect())),
        ("source", Col::Text(dq_tables.iter().map(|t| s(t.0)).collect())),
        ("table", Col::Text(dq_tables.iter().map(|t| s(t.1)).collect())),
        ("extracts_expected", Col::Int(dq_tables.iter().map(|_| Some(27)).collect())),
        (
            "extracts_received",
            Col::Int(dq_tables.iter().map(|t| Some(if t.0 == "inspection" { 25 } else { 26 })).collect()),
        ),
        (
            "missing_dates",
            Col::Text(
                dq_tables
                    .iter()
                    .map(|t| if hostile && t.1 == "employers" { s("=1+1") } else { missing(t.0) })
                    .collect(),
            ),
        ),
        ("rejected_dates", Col::Text(dq_tables.iter().map(|t| rejected(t.0)).collect())),
        (
            "rows_read",
            Col::Int(
                dq_tables
                    .iter()
                    .map(|t| Some(if t.1 == "complaints" { 14_873 } else { 120_000 }))
                    .collect(),
            ),
        ),
        (
            "rows_accepted",
            Col::Int(
                dq_tables
                    .iter()
                    .map(|t| Some(if t.1 == "complaints" { 14_861 } else { 120_000 }))
                    .collect(),
            ),
        ),
        (
            "rows_quarantined",
            Col::Int(dq_tables.iter().map(|t| Some(if t.1 == "complaints" { 12 } else { 0 })).collect()),
        ),
        (
            "orphan_events",
            Col::Int(
                dq_tables
                    .iter()
                    .map(|t| if t.1 == "complaint_events" { Some(3) } else { None })
                    .collect(),
            ),
        ),
    ]);

    let tables = vec![
        table(
            "followup_by_province",
            "Tindak lanjut pengaduan per provinsi",
            "Complaint follow-up by province",
            "Satu baris per provinsi (38, termasuk yang nol) dalam urutan kode, didahului baris nasional (00, INDONESIA) yang \
             dihitung atas semua aduan.\n\nAduan terbuka belum ditindaklanjuti: terbuka pada akhir bulan dan tanpa tindak lanjut \
             sebelum akhir bulan.",
            vec![fbp.slice(0, 20), fbp.slice(20, fbp.num_rows() - 20)],
        ),
        table(
            "followup_by_violation",
            "Tindak lanjut per jenis pelanggaran",
            "Follow-up by violation",
            "Satu baris per kode pelanggaran (13), nasional.",
            vec![fbv],
        ),
        table(
            "supervision_map",
            "Peta pengawasan",
            "Supervision map",
            "Perusahaan, pemberi kerja BPJS, pengawas aktif dan kebutuhan pengawas per provinsi.",
            vec![smb],
        ),
        table(
            "insurance_crosscheck",
            "Cek silang BPJS Ketenagakerjaan",
            "Social-insurance cross-check",
            "Aduan “tidak didaftarkan BPJS” dicocokkan dengan kepesertaan BPJS Ketenagakerjaan.",
            vec![icb],
        ),
        table(
            "data_quality",
            "Kualitas data",
            "Data quality",
            "Satu baris per tabel sumber untuk ekstrak yang tanggalnya jatuh di bulan laporan.",
            vec![dqb],
        ),
    ];

    let mut trend = Vec::new();
    for k in (0..12).rev() {
        let m = MONTH.minus(k);
        let base = 3_000 + (11 - k as i64) * 90 + rng.next(400);
        trend.push(TrendPoint {
            month: m,
            received: if k == 0 { national[0] } else { base },
            followed_up_in_month: if k == 0 { national[1] } else { base * 6 / 10 + rng.next(300) },
            open_at_end: if k == 0 { national[3] } else { 8_000 + rng.next(2_000) },
            open_not_followed_up: if k == 0 {
                national[4]
            } else {
                3_500 + (k as i64) * 60 + rng.next(400)
            },
            median_days_to_follow_up: Some(if k == 0 {
                "14.3".into()
            } else {
                format!("{}.{}", 12 + rng.next(8), rng.next(10))
            }),
            sla_met_pct: Some(if k == 0 {
                let t = pct_tenths(national[11], national[10]).unwrap();
                format!("{}.{}", t / 10, t % 10)
            } else {
                format!("{}.{}", 55 + rng.next(20), rng.next(10))
            }),
        });
    }

    let mut extracts = Vec::new();
    for (system, names) in [
        (
            System::Inspection,
            &["companies", "inspectors", "complaints", "complaint_events", "inspections"][..],
        ),
        (System::Insurance, &["employers", "contributions"][..]),
    ] {
        for name in names {
            for day in [1, 2, 3] {
                let night = NaiveDate::from_ymd_opt(2026, 10, day).unwrap();
                extracts.push(ExtractUse {
                    source: system,
                    table: name,
                    night,
                    version: 1,
                    sha256: hex::encode(Sha256::digest(format!("{name}{night}").as_bytes())),
                    rows: 100 + day as u64,
                });
            }
        }
    }

    let mut params = BTreeMap::new();
    params.insert("sla_days".to_string(), serde_json::json!(30));
    params.insert("workers_per_inspector".to_string(), serde_json::json!(20000));
    params.insert("companies_per_inspector_year".to_string(), serde_json::json!(60));

    BundleInput {
        month: MONTH,
        as_of: NaiveDate::from_ymd_opt(2026, 11, 27).unwrap(),
        program_version: "0.1.0".into(),
        params,
        extracts,
        snapshots: vec![
            ("companies".into(), NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()),
            ("inspectors".into(), NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()),
            ("employers".into(), NaiveDate::from_ymd_opt(2026, 10, 22).unwrap()),
        ],
        warnings: vec![
            "Snapshot employers memakai ekstrak 2026-10-22 (9 hari sebelum akhir bulan) / snapshot employers uses the extract of 2026-10-22"
                .into(),
        ],
        tables,
        views: vec![QuerySource {
            name: "complaint_state".into(),
            query_file: "queries/complaint_state.sql".into(),
            sql: VIEW_SQL.into(),
            sql_sha256: hex::encode(Sha256::digest(VIEW_SQL.as_bytes())),
        }],
        trend,
        dictionary: Default::default(),
    }
}

const VIEW_SQL: &str = "-- complaint_state\nSELECT complaint_id FROM complaints;\n";

fn signer() -> Signer {
    Signer::generate_demo([9; 32], PRINCIPAL)
}

const EXPECTED_FILES: &[&str] = &[
    "SHA256SUMS",
    "SHA256SUMS.sig",
    "data/data_quality.csv",
    "data/data_quality.parquet",
    "data/followup_by_province.csv",
    "data/followup_by_province.parquet",
    "data/followup_by_violation.csv",
    "data/followup_by_violation.parquet",
    "data/insurance_crosscheck.csv",
    "data/insurance_crosscheck.parquet",
    "data/supervision_map.csv",
    "data/supervision_map.parquet",
    "dictionary.csv",
    "manifest.json",
    "report.html",
    "report.xlsx",
];

fn has(cmd: &str) -> bool {
    Command::new(cmd).arg("--version").output().is_ok() || Path::new(&format!("/usr/bin/{cmd}")).exists()
}

async fn published(bundle: &Bundle) -> (tempfile::TempDir, Location) {
    let dir = tempfile::tempdir().unwrap();
    let root = Location::parse(dir.path().to_str().unwrap()).unwrap();
    publish(&root, bundle).await.unwrap();
    (dir, root)
}

fn month_dir(dir: &tempfile::TempDir) -> std::path::PathBuf {
    dir.path().join(MONTH.to_string())
}

fn allowed_signers(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("allowed_signers");
    std::fs::write(&path, signer().allowed_signers_line(PRINCIPAL)).unwrap();
    path
}

#[test]
fn bundle_is_byte_identical_when_rebuilt_and_has_the_expected_files() {
    let a = build(&fixture(true), Some(&signer())).unwrap();
    let b = build(&fixture(true), Some(&signer())).unwrap();
    assert_eq!(a.files.keys().map(String::as_str).collect::<Vec<_>>(), EXPECTED_FILES);
    for (path, bytes) in &a.files {
        assert!(b.files[path] == *bytes, "{path} differs between two builds");
    }
    assert_eq!(a, b);
    let unsigned = build(&fixture(true), None).unwrap();
    assert!(!unsigned.files.contains_key("SHA256SUMS.sig"));
    assert_eq!(unsigned.files.len(), EXPECTED_FILES.len() - 1);
}

#[test]
fn manifest_has_stable_keys_inputs_and_outputs() {
    let input = fixture(false);
    let bundle = build(&input, Some(&signer())).unwrap();
    let text = std::str::from_utf8(&bundle.files["manifest.json"]).unwrap();
    assert!(text.starts_with("{\n  \"month\": \"2026-10\",\n  \"as_of\": \"2026-11-27\",\n  \"program_version\": \"0.1.0\",\n"));
    let m: serde_json::Value = serde_json::from_str(text).unwrap();
    let keys: Vec<&str> = m.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "month",
            "as_of",
            "program_version",
            "params",
            "snapshots",
            "extracts",
            "queries",
            "outputs",
            "warnings",
            "signature"
        ]
    );
    assert_eq!(m["params"]["sla_days"], 30);
    assert_eq!(m["snapshots"][2], serde_json::json!({"table": "employers", "night": "2026-10-22"}));
    assert_eq!(m["extracts"].as_array().unwrap().len(), 21);
    assert_eq!(
        m["extracts"][0],
        serde_json::json!({"source": "inspection", "table": "companies", "night": "2026-10-01", "version": 1,
            "sha256": hex::encode(Sha256::digest(b"companies2026-10-01")), "rows": 101})
    );
    assert_eq!(m["queries"][0]["file"], "queries/followup_by_province.sql");
    assert_eq!(m["queries"][0]["sha256"], input.tables[0].sql_sha256.as_str());
    assert_eq!(m["queries"][0]["sql"], input.tables[0].sql.as_str());
    assert_eq!(m["queries"][0]["kind"], "report");
    let queries = m["queries"].as_array().unwrap();
    assert_eq!(queries.len(), input.tables.len() + 1, "every report table, then the helper views");
    assert_eq!(
        queries.last().unwrap(),
        &serde_json::json!({"file": "queries/complaint_state.sql", "table": "complaint_state", "kind": "view",
            "sha256": hex::encode(Sha256::digest(VIEW_SQL.as_bytes())), "sql": VIEW_SQL})
    );
    let outputs = m["outputs"].as_array().unwrap();
    let paths: Vec<&str> = outputs.iter().map(|o| o["path"].as_str().unwrap()).collect();
    let expected: Vec<&str> = EXPECTED_FILES
        .iter()
        .copied()
        .filter(|p| !["manifest.json", "SHA256SUMS", "SHA256SUMS.sig"].contains(p))
        .collect();
    assert_eq!(paths, expected);
    for o in outputs {
        let path = o["path"].as_str().unwrap();
        let bytes = &bundle.files[path];
        assert_eq!(o["bytes"], bytes.len() as u64, "{path}");
        assert_eq!(o["sha256"], hex::encode(Sha256::digest(bytes)), "{path}");
    }
    let fbp = outputs.iter().find(|o| o["path"] == "data/followup_by_province.csv").unwrap();
    assert_eq!(fbp["rows"], 39);
    assert!(outputs.iter().find(|o| o["path"] == "report.html").unwrap().get("rows").is_none());
    assert_eq!(m["warnings"][0].as_str().unwrap(), input.warnings[0]);
    assert_eq!(m["signature"]["status"], "signed");
    assert_eq!(m["signature"]["namespace"], "file");
    assert_eq!(m["signature"]["public_key"], signer().public_key_openssh());

    let unsigned = build(&input, None).unwrap();
    let m: serde_json::Value = serde_json::from_slice(&unsigned.files["manifest.json"]).unwrap();
    assert_eq!(m["signature"], serde_json::json!({"status": "unsigned"}));
}

#[test]
fn sha256sums_lists_every_other_file_sorted() {
    let bundle = build(&fixture(false), Some(&signer())).unwrap();
    let sums = std::str::from_utf8(&bundle.files["SHA256SUMS"]).unwrap();
    let lines: Vec<&str> = sums.lines().collect();
    let listed: Vec<&str> = lines.iter().map(|l| &l[66..]).collect();
    let expected: Vec<&str> = EXPECTED_FILES.iter().copied().filter(|p| !p.starts_with("SHA256SUMS")).collect();
    assert_eq!(listed, expected);
    for l in lines {
        let (hash, path) = l.split_once("  ").unwrap();
        assert_eq!(hash, hex::encode(Sha256::digest(&bundle.files[path])));
    }
}

#[tokio::test]
async fn sha256sum_c_passes_in_the_published_folder() {
    let bundle = build(&fixture(false), Some(&signer())).unwrap();
    let (dir, _) = published(&bundle).await;
    if !has("sha256sum") {
        println!("NOTICE: sha256sum not installed; skipping the coreutils check");
        return;
    }
    let out = Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(month_dir(&dir))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    let ok: Vec<&str> = stdout.lines().filter(|l| l.ends_with(": OK")).collect();
    assert_eq!(ok.len(), EXPECTED_FILES.len() - 2, "{stdout}");
}

#[tokio::test]
async fn ssh_keygen_accepts_the_signature() {
    let bundle = build(&fixture(false), Some(&signer())).unwrap();
    let (dir, _) = published(&bundle).await;
    if !Path::new("/usr/bin/ssh-keygen").exists() && !has("ssh-keygen") {
        println!("NOTICE: ssh-keygen not installed (apt-get install openssh-client); skipping");
        return;
    }
    let allowed = allowed_signers(dir.path());
    let sums = std::fs::File::open(month_dir(&dir).join("SHA256SUMS")).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(&allowed)
        .args(["-I", PRINCIPAL, "-n", "file", "-s"])
        .arg(month_dir(&dir).join("SHA256SUMS.sig"))
        .stdin(sums)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(
        stdout.contains(&format!("Good \"file\" signature for {PRINCIPAL} with ED25519 key")),
        "{stdout}"
    );

    // And a changed SHA256SUMS is refused.
    let mut changed = std::fs::read(month_dir(&dir).join("SHA256SUMS")).unwrap();
    changed[0] = if changed[0] == b'0' { b'1' } else { b'0' };
    let tampered = dir.path().join("SHA256SUMS.changed");
    std::fs::write(&tampered, changed).unwrap();
    let out = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(&allowed)
        .args(["-I", PRINCIPAL, "-n", "file", "-s"])
        .arg(month_dir(&dir).join("SHA256SUMS.sig"))
        .stdin(std::fs::File::open(&tampered).unwrap())
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[tokio::test]
async fn verify_passes_on_an_intact_bundle() {
    let bundle = build(&fixture(false), Some(&signer())).unwrap();
    let (dir, _) = published(&bundle).await;
    let loc = Location::parse(month_dir(&dir).to_str().unwrap()).unwrap();
    let allowed = allowed_signers(dir.path());
    let report = verify(&loc, Some(&allowed)).await.unwrap();
    assert!(report.ok(), "{report}");
    let sig = report.checks.iter().find(|c| c.file == "SHA256SUMS.sig").unwrap();
    assert_eq!(sig.status, Status::Passed);
    assert!(sig.detail.contains(PRINCIPAL), "{}", sig.detail);
    // 14 checksum lines + 13 manifest outputs + 1 signature.
    assert_eq!(
        report.checks.iter().filter(|c| c.status == Status::Passed).count(),
        14 + 13 + 1,
        "{report}"
    );

    // Without allowed_signers: checked against the manifest's key, with a note.
    let report = verify(&loc, None).await.unwrap();
    assert!(report.ok(), "{report}");
    assert!(
        report
            .checks
            .iter()
            .any(|c| c.status == Status::Note && c.detail.contains("allowed_signers"))
    );

    // A key that did not sign is refused.
    let other = dir.path().join("other_signers");
    std::fs::write(&other, Signer::generate_demo([3; 32], "x").allowed_signers_line(PRINCIPAL)).unwrap();
    let report = verify(&loc, Some(&other)).await.unwrap();
    assert!(!report.ok());
    assert!(report.problem_files().contains("SHA256SUMS.sig"), "{report}");
}

#[tokio::test]
async fn verify_accepts_an_unsigned_bundle_only_when_no_signature_is_expected() {
    let bundle = build(&fixture(false), None).unwrap();
    let (dir, _) = published(&bundle).await;
    let loc = Location::parse(month_dir(&dir).to_str().unwrap()).unwrap();
    let report = verify(&loc, None).await.unwrap();
    assert!(report.ok(), "{report}");
    let sig: Vec<_> = report.checks.iter().filter(|c| c.file == "SHA256SUMS.sig").collect();
    assert_eq!(sig.len(), 1);
    assert_eq!(sig[0].status, Status::Note);
    let allowed = allowed_signers(dir.path());
    let report = verify(&loc, Some(&allowed)).await.unwrap();
    assert!(!report.ok());
    assert_eq!(
        report.problem_files().into_iter().collect::<Vec<_>>(),
        ["SHA256SUMS.sig"],
        "{report}"
    );
}

#[tokio::test]
async fn verify_names_every_tampered_missing_or_extra_file() {
    let bundle = build(&fixture(false), Some(&signer())).unwrap();
    let cases: &[(&str, &str)] = &[
        ("report.html", "flip"),
        ("report.xlsx", "flip"),
        ("data/followup_by_province.csv", "flip"),
        ("data/supervision_map.parquet", "flip"),
        ("manifest.json", "flip"),
        ("SHA256SUMS", "flip"),
        ("SHA256SUMS.sig", "flip"),
        ("data/data_quality.csv", "delete"),
        ("data/extra.csv", "add"),
        ("SHA256SUMS.sig", "delete"),
    ];
    for (file, how) in cases {
        let (dir, _) = published(&bundle).await;
        let path = month_dir(&dir).join(file);
        match *how {
            "flip" => {
                let mut bytes = std::fs::read(&path).unwrap();
                let i = bytes.len() / 2;
                bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
                std::fs::write(&path, bytes).unwrap();
            }
            "delete" => std::fs::remove_file(&path).unwrap(),
            _ => std::fs::write(&path, "x\n").unwrap(),
        }
        let loc = Location::parse(month_dir(&dir).to_str().unwrap()).unwrap();
        let allowed = allowed_signers(dir.path());
        let report = verify(&loc, Some(&allowed)).await.unwrap();
        assert!(!report.ok(), "{how} {file} went unnoticed:\n{report}");
        assert!(
            report.problem_files().contains(file),
            "{how} {file}: problems name {:?}\n{report}",
            report.problem_files()
        );
    }
}

fn unzip(bytes: &[u8]) -> BTreeMap<String, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let name = f.name().unwrap().to_string();
        let stamp = f.last_modified().unwrap_or_default();
        assert_eq!(
            (stamp.year(), stamp.month(), stamp.day()),
            (1980, 1, 1),
            "{name} has a wall-clock timestamp"
        );
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        out.insert(name, text);
    }
    out
}

/// The `<si>` index of a shared string.
fn shared_string_index(shared: &str, text: &str) -> Option<usize> {
    shared.split("<si>").skip(1).position(|si| si.contains(text))
}

#[test]
fn xlsx_has_typed_cells_frozen_headers_no_formulas_and_neutralised_text() {
    let bundle = build(&fixture(true), None).unwrap();
    let parts = unzip(&bundle.files["report.xlsx"]);
    let workbook = &parts["xl/workbook.xml"];
    let names: Vec<&str> = workbook
        .split("<sheet name=\"")
        .skip(1)
        .map(|s| s.split('"').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "followup_by_province",
            "followup_by_violation",
            "supervision_map",
            "insurance_crosscheck",
            "data_quality"
        ]
    );
    assert!(parts["docProps/core.xml"].contains("<dcterms:created xsi:type=\"dcterms:W3CDTF\">2026-11-01T00:00:00Z</dcterms:created>"));

    let sheets: Vec<&String> = parts
        .iter()
        .filter(|(k, _)| k.starts_with("xl/worksheets/sheet"))
        .map(|(_, v)| v)
        .collect();
    assert_eq!(sheets.len(), 5);
    for sheet in &sheets {
        assert!(!sheet.contains("<f>") && !sheet.contains("<f "), "a formula cell");
        assert!(
            sheet.contains("state=\"frozen\"") && sheet.contains("topLeftCell=\"A2\""),
            "header row not frozen"
        );
        assert!(sheet.contains("<cols>"), "no column widths");
    }
    // Numbers are numbers: the national `received` (D2) is a plain value, not a string.
    let input = fixture(true);
    let national = input.tables[0].batches[0]
        .column(3)
        .as_any()
        .downcast_ref::<Int64Array>()
        .unwrap()
        .value(0);
    let fbp = &parts["xl/worksheets/sheet1.xml"];
    let d2 = fbp.split("<c r=\"D2\"").nth(1).unwrap().split("</c>").next().unwrap();
    assert!(!d2.contains("t=\"s\"") && d2.contains(&format!("<v>{national}</v>")), "{d2}");

    // Formula-looking text is a shared string whose cell style has quotePrefix.
    let shared = &parts["xl/sharedStrings.xml"];
    let styles = &parts["xl/styles.xml"];
    let xfs: Vec<&str> = styles
        .split("<cellXfs")
        .nth(1)
        .unwrap()
        .split("</cellXfs>")
        .next()
        .unwrap()
        .split("<xf ")
        .skip(1)
        .collect();
    for (sheet_file, text) in [("xl/worksheets/sheet5.xml", "=1+1"), ("xl/worksheets/sheet2.xml", "HYPERLINK")] {
        let idx = shared_string_index(shared, text).unwrap_or_else(|| panic!("{text} not a shared string"));
        let sheet = &parts[sheet_file];
        let cell = sheet
            .split("<c ")
            .find(|c| c.contains("t=\"s\"") && c.contains(&format!("<v>{idx}</v>")))
            .unwrap_or_else(|| panic!("no cell holds shared string {idx}"));
        let style: usize = cell.split("s=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
        assert!(xfs[style].contains("quotePrefix=\"1\""), "{text}: style {style} = {}", xfs[style]);
    }
}

/// Text with the tags removed and whitespace collapsed.
fn visible_text(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every `src=`/`href=` attribute value.
fn link_targets(html: &str) -> Vec<String> {
    let mut out = Vec::new();
    for attr in ["src=", "href="] {
        for part in html.split(attr).skip(1) {
            let quote = part.chars().next().unwrap_or(' ');
            let value: String = if quote == '"' || quote == '\'' {
                part[1..].chars().take_while(|c| *c != quote).collect()
            } else {
                part.chars().take_while(|c| !c.is_whitespace() && *c != '>').collect()
            };
            out.push(value);
        }
    }
    out
}

#[test]
fn html_is_self_contained_indonesian_and_escaped() {
    let input = fixture(true);
    let bundle = build(&input, None).unwrap();
    let html = std::str::from_utf8(&bundle.files["report.html"]).unwrap();
    let targets = link_targets(html);
    assert!(!targets.is_empty());
    for t in &targets {
        let lower = t.to_ascii_lowercase();
        assert!(!lower.starts_with("http") && !lower.starts_with("//"), "external link {t}");
        assert!(
            t.starts_with('#') || t.starts_with("data/") || t == "report.xlsx" || t == "manifest.json",
            "unexpected link {t}"
        );
    }
    assert!(!html.contains("<script"), "a script element");
    assert!(
        !html.contains("<link") && !html.contains("@import") && !html.contains("url("),
        "an external resource"
    );
    assert!(
        html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        "hostile text not escaped"
    );
    assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"id\">"));

    let text = visible_text(html);
    assert!(text.contains("Periode Oktober 2026 · data s.d. 2026-11-27"), "{}", &text[..300]);
    let national = &input.trend.last().unwrap();
    assert_eq!(national.month, MONTH);
    let fmt = |v: i64| {
        let s = v.to_string();
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push('.');
            }
            out.push(c);
        }
        out
    };
    assert!(national.received >= 1000);
    assert!(
        text.contains(&format!("Aduan diterima {}", fmt(national.received))),
        "headline received"
    );
    assert!(
        text.contains("Median hari s.d. tindak lanjut 14,3 hari"),
        "median the Indonesian way"
    );
    // The change against the previous month.
    let prev = &input.trend[10];
    let d = national.received - prev.received;
    let change = if d > 0 { format!("+{}", fmt(d)) } else { format!("-{}", fmt(-d)) };
    assert!(
        text.contains(&format!("{change} dibanding Sep 2026")),
        "change of received: {change}"
    );
    // Tile map: every short label, and the legend.
    for label in ["ACEH", "DKI", "PAPTENG", "PBD", "MALUT"] {
        assert!(
            html.contains(&format!("\n{label}\n")) || html.contains(&format!(">{label}<")),
            "tile {label}"
        );
    }
    assert!(html.contains("tidak ada aduan terbuka"));
    assert_eq!(html.matches("<svg class=\"chart\"").count(), 6, "map, trend and four bar charts");
    // Every table, its query file and SQL hash; warnings; footnotes.
    for t in &input.tables {
        assert!(html.contains(&format!("id=\"tabel-{}\"", t.name)), "{}", t.name);
        assert!(html.contains(&t.query_file) && html.contains(&t.sql_sha256), "{}", t.name);
    }
    assert!(text.contains("Snapshot employers memakai ekstrak 2026-10-22"));
    assert!(text.contains("00.30 WITA") && text.contains("pemekaran 2022"));
    assert!(text.contains("2026-10-05 2026-10-06"), "rejected nights");
    assert!(
        text.contains(
            "inspection (companies, inspectors, complaints, complaint_events, inspections): kiriman ditolak untuk malam 2026-10-05, 2026-10-06"
        ),
        "grouped data-quality note"
    );
    assert!(text.contains("12 baris dikarantina"));
    assert!(html.contains("@media print") && html.contains("size:A4"));
}

#[tokio::test]
async fn publish_is_atomic_cleans_leftovers_and_indexes_months() {
    let dir = tempfile::tempdir().unwrap();
    let root = Location::parse(dir.path().to_str().unwrap()).unwrap();
    let v1 = build(&fixture(false), Some(&signer())).unwrap();
    publish(&root, &v1).await.unwrap();

    // A second version of the month, whose publication is killed while staging.
    let mut input2 = fixture(false);
    input2.as_of = NaiveDate::from_ymd_opt(2026, 11, 28).unwrap();
    let v2 = build(&input2, Some(&signer())).unwrap();
    assert_ne!(v1.files["manifest.json"], v2.files["manifest.json"]);
    let staging = dir.path().join(".staging-2026-10-4242");
    write_staging(&staging, &v2).unwrap();
    std::fs::remove_file(staging.join("SHA256SUMS.sig")).unwrap();

    // Readers still see v1, complete.
    let month_loc = Location::parse(month_dir(&dir).to_str().unwrap()).unwrap();
    let allowed = allowed_signers(dir.path());
    let report = verify(&month_loc, Some(&allowed)).await.unwrap();
    assert!(report.ok(), "{report}");
    assert_eq!(
        std::fs::read(month_dir(&dir).join("manifest.json")).unwrap(),
        v1.files["manifest.json"]
    );
    let index = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    assert!(!index.contains(".staging"));

    // The next publish swaps atomically and removes the leftover.
    let how = publish_local(dir.path(), &v2).unwrap();
    println!("swap used: {how:?}");
    assert_ne!(how, Swap::New, "the month existed: expected an exchange");
    assert!(!staging.exists(), "leftover staging folder not cleaned");
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let on_disk: Vec<(String, u64)> = Location::parse(month_dir(&dir).to_str().unwrap())
        .unwrap()
        .list_all("")
        .await
        .unwrap();
    assert_eq!(on_disk.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), EXPECTED_FILES);
    for (path, bytes) in &v2.files {
        assert_eq!(&std::fs::read(month_dir(&dir).join(path)).unwrap(), bytes, "{path}");
    }

    // Another month; the index lists both, newest first, with headline numbers.
    let mut sept = fixture(false);
    sept.month = MONTH.prev();
    sept.trend.pop();
    let bundle = build(&sept, Some(&signer())).unwrap();
    publish(&root, &bundle).await.unwrap();
    let index = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
    let oct = index.find("href=\"2026-10/report.html\"").expect("October listed");
    let sep = index.find("href=\"2026-09/report.html\"").expect("September listed");
    assert!(oct < sep, "newest first");
    assert!(index.contains("Oktober 2026") && index.contains("September 2026") && index.contains("2026-11-28"));
    let received = input2.trend.last().unwrap().received;
    assert!(
        index.contains(&format!("{}.{:03}", received / 1000, received % 1000)),
        "national received in the index"
    );
    for t in link_targets(&index) {
        assert!(!t.starts_with("http"), "{t}");
    }
}

#[tokio::test]
async fn publish_to_an_object_store_replaces_stale_files_and_verifies() {
    let store: Arc<dyn object_store::ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    let root = Location::from_store(store.clone(), "memory:///pub");
    let bundle = build(&fixture(false), Some(&signer())).unwrap();
    // A stale file of an earlier publication of the month is removed.
    root.put("2026-10/data/old_table.csv", bytes::Bytes::from_static(b"x"))
        .await
        .unwrap();
    publish(&root, &bundle).await.unwrap();
    let month = Location::from_store(store, "memory:///pub/2026-10");
    let files: Vec<String> = month.list_all("").await.unwrap().into_iter().map(|(p, _)| p).collect();
    assert_eq!(files, EXPECTED_FILES);
    let report = verify(&month, None).await.unwrap();
    assert!(report.ok(), "{report}");
    let index = root.get("index.html").await.unwrap();
    assert!(std::str::from_utf8(&index).unwrap().contains("href=\"2026-10/report.html\""));
}
