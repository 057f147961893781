//! The lake: snapshot exactness, storage growth, crash consistency, and no
//! personal data in clear anywhere.

use std::collections::BTreeMap;

use chrono::{Duration, NaiveDate};

use crate::common::*;

fn companies_csv(rows: &BTreeMap<u32, String>) -> String {
    let mut s =
        String::from("company_id,nib,name,province_code,regency_code,kbli_section,size_class,workers_total,wlkp_registered,updated_at\n");
    for (id, name) in rows {
        s.push_str(&format!(
            "CMP-{id:07},,{name},31,3171,C,KECIL,{},true,2026-09-01T09:00:00+07:00\n",
            id % 97
        ));
    }
    s
}

const ROWS: u32 = 20_000;

/// 30 nights with 1% churn each (changes, arrivals, departures): every
/// night's snapshot is rebuilt exactly, and storage grows with changes.
#[tokio::test]
async fn snapshots_are_exact_as_of_every_night_and_storage_grows_with_changes() {
    let f = Fixture::new();
    let mut rows: BTreeMap<u32, String> = (1..=ROWS).map(|i| (i, format!("PT Contoh Nomor {i} Sejahtera Abadi"))).collect();
    let start = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    let mut expected: Vec<(NaiveDate, BTreeMap<u32, String>)> = Vec::new();
    let mut next_id = ROWS + 1;
    for n in 0..30u32 {
        let night = start + Duration::days(n as i64);
        if n > 0 {
            // 1% churn: 100 renamed, 50 left, 50 arrived.
            for k in 0..100 {
                let id = 1 + (n * 37 + k * 131) % ROWS;
                if let Some(v) = rows.get_mut(&id) {
                    *v = format!("PT Berubah {n}-{k}");
                }
            }
            for k in 0..50 {
                let victim = *rows.keys().nth(((n * 13 + k * 7) as usize) % rows.len()).unwrap();
                rows.remove(&victim);
                rows.insert(next_id, format!("PT Baru {next_id}"));
                next_id += 1;
            }
        }
        let csv = companies_csv(&rows);
        f.inspection(&night.to_string(), &[("companies.csv.gz", csv.as_str()), ("complaints.csv.gz", "complaint_id,received_at,channel,reporter_type,union_name,complainant_name,complainant_nik,complainant_phone,company_id,province_code,violation_code,workers_affected,description,updated_at\n")], Done::Empty);
        expected.push((night, rows.clone()));
    }
    let r = f.ingest().await;
    assert_eq!(r.ingested(), 30);
    for (night, rows) in expected.iter().step_by(7).chain(expected.last()) {
        let got = query_csv(
            &f.lake_loc(),
            "SELECT company_id, name FROM companies ORDER BY company_id",
            None,
            Some(&night.to_string()),
        )
        .await;
        let want: String = std::iter::once("company_id,name\n".to_string())
            .chain(rows.iter().map(|(id, name)| format!("CMP-{id:07},{name}\n")))
            .collect();
        assert_eq!(got, want, "snapshot as of {night}");
    }
    let sizes: BTreeMap<String, u64> = f
        .lake_files()
        .into_iter()
        .filter(|(p, _)| p.starts_with("tables/companies/"))
        .map(|(p, b)| (p, b.len() as u64))
        .collect();
    let first = *sizes.values().next().unwrap();
    let total: u64 = sizes.values().sum();
    eprintln!("companies: first night {first} bytes, 30 nights {total} bytes");
    assert!(
        total < 2 * first,
        "30 nights of 1% churn take {total} bytes, one snapshot {first}: must be < 2x"
    );
}

#[tokio::test]
async fn no_personal_data_in_clear_in_lake_quarantine_or_ledger() {
    let f = Fixture::new();
    // Also a quarantined row carrying personal values (bad NIK length).
    let bad = format!(
        "{COMPLAINTS}ADU-2026-0000003,2026-10-02T09:00:00+07:00,ONLINE,WORKER,,Siti Aminah Sintetis,99010101010100,+62 812 0000 0001,,31,THR,1,THR belum dibayar,2026-10-02T09:00:00+07:00\n"
    );
    let bad_inspectors =
        format!("{INSPECTORS}INS-00003,19900101202001100,Wati Rahayu Sintetis,31,MUDA,false,true,2026-09-01T08:00:00+07:00\n");
    f.inspection(
        "2026-10-03",
        &[("complaints.csv.gz", bad.as_str()), ("inspectors.csv.gz", bad_inspectors.as_str())],
        Done::Empty,
    );
    let r = f.ingest().await;
    assert_eq!(r.ingested(), 1);
    let mut scanned = 0;
    for (path, bytes) in f.lake_files() {
        let text: String = if path.ends_with(".parquet") {
            parquet_text(&bytes)
        } else {
            String::from_utf8_lossy(&bytes).into_owned()
        };
        for p in PERSONAL {
            assert!(!text.contains(p), "{path} contains personal value {p:?}");
        }
        scanned += 1;
    }
    assert!(scanned >= 6, "scanned {scanned} files");
    // The rejection/quarantine reasons name the column, not the value.
    let q = crate::ingest::query_quarantine(&f, "complaints").await;
    assert_eq!(q.len(), 1);
    assert_eq!(q[0].2.as_deref(), Some("complainant_nik"));
    // The same person has the same pseudonym across tables and nights.
    let csv = query_csv(
        &f.lake_loc(),
        "SELECT count(DISTINCT complainant_nik_pseudonym) AS n FROM complaints",
        None,
        None,
    )
    .await;
    assert_eq!(csv, "n\n1\n");
}

/// Every cell of every column of a Parquet file, as text.
pub fn parquet_text(bytes: &[u8]) -> String {
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes.to_vec()))
        .unwrap()
        .build()
        .unwrap();
    let mut out = String::new();
    for b in reader {
        out.push_str(&arrow::util::pretty::pretty_format_batches(&[b.unwrap()]).unwrap().to_string());
    }
    out
}

/// A crash after the data files were written but before the ledger entry:
/// the night is invisible, and the next run ingests it exactly once.
#[tokio::test]
async fn crash_before_commit_leaves_the_night_invisible_and_rerun_ingests_once() {
    let f = Fixture::new();
    f.inspection("2026-10-03", &[], Done::Empty);
    f.inspection("2026-10-04", &[], Done::Sums);
    f.ingest().await;
    let complete = f.lake_files();
    // Simulate the crash: remove the last night's ledger entry (written last).
    let entry = f.lake.join("ledger/inspection/2026-10-04/v0001.json");
    std::fs::remove_file(&entry).unwrap();
    let csv = query_csv(
        &f.lake_loc(),
        "SELECT count(*) AS n FROM night_tables WHERE extract_date = DATE '2026-10-04'",
        None,
        None,
    )
    .await;
    assert_eq!(csv, "n\n0\n", "a night without its ledger entry is invisible");
    let r = f.ingest().await;
    assert_eq!(r.ingested(), 1);
    assert_eq!(
        f.lake_files(),
        complete,
        "the re-run rewrites the same files: the lake is as if nothing happened"
    );
}
