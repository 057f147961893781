//! Ingest: every row of "Broken deliveries" in extracts.md, idempotence,
//! re-deliveries, crash consistency and personal data.

use wasnaker::ingest::{Action, IngestOptions, NightOutcome};
use wasnaker::lake::ledger::DeliveryStatus;

use crate::common::*;

const N1: &str = "2026-10-03";
const N2: &str = "2026-10-04";

fn rejection(report: &wasnaker::ingest::IngestReport, system: &str) -> String {
    let r = report
        .results
        .iter()
        .find(|r| r.system.name() == system)
        .expect("a result for the system");
    match &r.outcome {
        NightOutcome::Rejected(rej) => rej.to_string(),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

fn files_of(report: &wasnaker::ingest::IngestReport, system: &str) -> Vec<wasnaker::lake::ledger::FileEntry> {
    let r = report
        .results
        .iter()
        .find(|r| r.system.name() == system)
        .expect("a result for the system");
    match &r.outcome {
        NightOutcome::Ingested { files, .. } => files.clone(),
        other => panic!("expected ingested, got {other:?}"),
    }
}

fn file<'a>(files: &'a [wasnaker::lake::ledger::FileEntry], table: &str) -> &'a wasnaker::lake::ledger::FileEntry {
    files.iter().find(|f| f.table == table).unwrap()
}

#[tokio::test]
async fn clean_nights_ingest_and_rerun_is_a_no_op() {
    let f = Fixture::new();
    f.inspection(N1, &[], Done::Empty);
    f.insurance(N1, &[], Done::Sums);
    let r = f.ingest().await;
    assert_eq!((r.ingested(), r.rejected(), r.failed()), (2, 0, 0));
    let files = files_of(&r, "inspection");
    assert_eq!(file(&files, "companies").rows_read, 2);
    assert_eq!(file(&files, "complaints").rows_accepted, 2);
    assert_eq!(file(&files, "complaint_events").rows_accepted, 2);
    let before = f.lake_files();
    let again = f.ingest().await;
    assert_eq!(again.results.len(), 0);
    let seen: Vec<_> = again
        .plan
        .nights
        .iter()
        .filter(|n| !matches!(n.action, Action::Late { .. }))
        .collect();
    assert_eq!(seen.len(), 2);
    assert!(seen.iter().all(|n| matches!(
        n.action,
        Action::Seen {
            version: 1,
            status: DeliveryStatus::Ingested
        }
    )));
    // Nights after N1 with no delivery 36 h after they ended are reported late.
    let late = again.plan.nights.iter().find(|n| matches!(n.action, Action::Late { .. })).unwrap();
    assert_eq!(late.night, date(N2));
    assert_eq!(f.lake_files(), before, "a second run must not write anything");
    let csv = query_csv(&f.lake_loc(), "SELECT count(*) AS n FROM complaints", None, None).await;
    assert_eq!(csv, "n\n2\n");
    let csv = query_csv(
        &f.lake_loc(),
        "SELECT npp, province_code, province_code_bps FROM employers ORDER BY npp",
        None,
        None,
    )
    .await;
    assert_eq!(csv, "npp,province_code,province_code_bps\n12345678,31,31\n87654321,91,94\n");
}

#[tokio::test]
async fn folder_without_done_waits_and_is_late_after_36_hours() {
    let f = Fixture::new();
    f.insurance(N1, &[], Done::Missing);
    // The night ends 2026-10-04 00:00 WIB = 2026-10-03T17:00Z; 36 h later is 2026-10-05T05:00Z.
    let r = f.ingest_at("2026-10-05T04:59:00Z".parse().unwrap(), IngestOptions::default()).await;
    assert_eq!(r.results.len(), 0);
    assert_eq!(r.plan.nights[0].action, Action::Waiting);
    let r = f.ingest_at("2026-10-05T05:00:00Z".parse().unwrap(), IngestOptions::default()).await;
    assert_eq!(r.plan.nights[0].action, Action::Late { hours: 36 });
    assert!(f.ledger().await.entries().next().is_none());
    // Later complete nights are ingested meanwhile.
    f.insurance(N2, &[], Done::Empty);
    let r = f.ingest().await;
    assert_eq!(r.ingested(), 1);
}

/// A night is rejected whole: nothing of it is visible, other nights still ingest.
async fn assert_rejected(f: &Fixture, system: &str, expect: &[&str]) {
    let other = if system == "inspection" { "insurance" } else { "inspection" };
    if other == "inspection" {
        f.inspection(N1, &[], Done::Empty);
    } else {
        f.insurance(N1, &[], Done::Empty);
    }
    let r = f.ingest().await;
    let msg = rejection(&r, system);
    for e in expect {
        assert!(msg.contains(e), "rejection message {msg:?} should contain {e:?}");
    }
    let ledger = f.ledger().await;
    let sys = if system == "inspection" {
        wasnaker::contract::System::Inspection
    } else {
        wasnaker::contract::System::Insurance
    };
    assert!(ledger.effective(sys, date(N1)).is_none());
    assert_eq!(ledger.deliveries(sys, date(N1))[0].status, DeliveryStatus::Rejected);
    assert_eq!(r.ingested(), 1, "the other system's night still ingests");
    assert!(
        f.lake_files()
            .iter()
            .all(|(p, _)| !p.starts_with("tables/") || !p.contains(&format!("night={N1}")) || {
                let t = p.split('/').nth(1).unwrap();
                wasnaker::contract::table(t).unwrap().system.name() == other
            }),
        "no lake file of the rejected night"
    );
}

#[tokio::test]
async fn truncated_gzip_rejects_the_night() {
    let f = Fixture::new();
    let mut bytes = gz(EMPLOYERS.as_bytes());
    bytes.truncate(bytes.len() - 10);
    f.write_raw(
        "insurance",
        N1,
        &[
            ("employers.jsonl.gz", bytes),
            ("contributions.jsonl.gz", gz(CONTRIBUTIONS.as_bytes())),
        ],
        Done::Empty,
    );
    assert_rejected(&f, "insurance", &["employers.jsonl.gz", "gzip"]).await;
}

#[tokio::test]
async fn corrupt_gzip_rejects_the_night() {
    let f = Fixture::new();
    let mut bytes = gz(COMPANIES.as_bytes());
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xFF;
    bytes[mid + 1] ^= 0xFF;
    f.write_raw("inspection", N1, &inspection_raw(&[("companies.csv.gz", bytes)]), Done::Empty);
    assert_rejected(&f, "inspection", &["companies.csv.gz", "gzip"]).await;
}

#[tokio::test]
async fn bytes_after_the_last_member_reject_the_night() {
    let f = Fixture::new();
    let mut bytes = gz(INSPECTIONS.as_bytes());
    bytes.extend_from_slice(b"garbage");
    f.write_raw("inspection", N1, &inspection_raw(&[("inspections.csv.gz", bytes)]), Done::Empty);
    assert_rejected(&f, "inspection", &["inspections.csv.gz", "gzip"]).await;
}

#[tokio::test]
async fn empty_file_without_header_rejects_the_night() {
    let f = Fixture::new();
    f.inspection(N1, &[("complaints.csv.gz", "")], Done::Empty);
    assert_rejected(&f, "inspection", &["complaints.csv.gz", "no header"]).await;
    let g = Fixture::new();
    g.write_raw("inspection", N1, &inspection_raw(&[("complaints.csv.gz", Vec::new())]), Done::Empty);
    assert_rejected(&g, "inspection", &["complaints.csv.gz", "empty"]).await;
}

#[tokio::test]
async fn missing_contract_file_rejects_the_night() {
    let f = Fixture::new();
    f.inspection(N1, &[("inspectors.csv.gz", REMOVE)], Done::Empty);
    assert_rejected(&f, "inspection", &["inspectors.csv.gz", "missing"]).await;
}

#[tokio::test]
async fn checksum_mismatch_rejects_the_night() {
    let f = Fixture::new();
    let good = gz(EMPLOYERS.as_bytes());
    let done = format!(
        "{}  employers.jsonl.gz\n{}  contributions.jsonl.gz\n",
        sha256(b"something else"),
        sha256(&gz(CONTRIBUTIONS.as_bytes()))
    );
    f.write_raw(
        "insurance",
        N1,
        &[
            ("employers.jsonl.gz", good),
            ("contributions.jsonl.gz", gz(CONTRIBUTIONS.as_bytes())),
        ],
        Done::Text(done),
    );
    assert_rejected(&f, "insurance", &["employers.jsonl.gz", "checksum mismatch"]).await;
}

#[tokio::test]
async fn done_listing_some_files_or_other_lines_rejects_the_night() {
    let f = Fixture::new();
    let e = gz(EMPLOYERS.as_bytes());
    let done = format!("{}  employers.jsonl.gz\n", sha256(&e));
    f.write_raw(
        "insurance",
        N1,
        &[
            ("employers.jsonl.gz", e.clone()),
            ("contributions.jsonl.gz", gz(CONTRIBUTIONS.as_bytes())),
        ],
        Done::Text(done),
    );
    assert_rejected(&f, "insurance", &["_DONE", "contributions.jsonl.gz"]).await;

    let g = Fixture::new();
    let c = gz(CONTRIBUTIONS.as_bytes());
    let done = format!("{}  employers.jsonl.gz\n{}  contributions.jsonl.gz\nOK\n", sha256(&e), sha256(&c));
    g.write_raw(
        "insurance",
        N1,
        &[("employers.jsonl.gz", e), ("contributions.jsonl.gz", c)],
        Done::Text(done),
    );
    assert_rejected(&g, "insurance", &["_DONE, line 3"]).await;
}

#[tokio::test]
async fn header_problems_reject_the_night() {
    let cases: &[(&str, String, &[&str])] = &[
        (
            "missing column",
            INSPECTIONS.replace(",outcome\n", "\n").replace(",COMPLIANT\n", "\n"),
            &["inspections.csv.gz", "line 1", "outcome"],
        ),
        (
            "renamed column",
            INSPECTIONS.replace("findings", "finding_count"),
            &["findings", "missing or renamed"],
        ),
        (
            "column twice",
            INSPECTIONS
                .replace(",outcome\n", ",outcome,findings\n")
                .replace("COMPLIANT\n", "COMPLIANT,0\n"),
            &["findings", "2 times"],
        ),
        ("wrong delimiter", INSPECTIONS.replace(',', ";"), &["wrong delimiter"]),
    ];
    for (what, content, expect) in cases {
        let f = Fixture::new();
        f.inspection(N1, &[("inspections.csv.gz", content.as_str())], Done::Empty);
        eprintln!("case: {what}");
        assert_rejected(&f, "inspection", expect).await;
    }
}

/// A bad header stops the reading at line 1, but a large file's checksum
/// is still computed over all of it: a `_DONE` that lists the right
/// checksum gets the header problem, not a checksum mismatch.
#[tokio::test]
async fn a_header_problem_of_a_large_file_is_not_reported_as_a_checksum_mismatch() {
    let f = Fixture::new();
    let mut content = INSPECTIONS.lines().next().unwrap().replace("findings", "finding_count") + "\n";
    // Rows that do not compress to nothing, so the reader stops well before the end.
    for n in 0..60_000u64 {
        let h = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        content.push_str(&format!(
            "INSP-{n:07},CMP-{:07},INS-{:05},2026-10-03,ROUTINE,,{},COMPLIANT\n",
            h % 9_999_999,
            (h >> 24) % 99_999,
            (h >> 40) % 50
        ));
    }
    assert!(content.len() > 3 << 20);
    f.inspection(N1, &[("inspections.csv.gz", content.as_str())], Done::Sums);
    assert_rejected(&f, "inspection", &["inspections.csv.gz", "findings", "missing or renamed"]).await;
}

#[cfg(unix)]
#[tokio::test]
async fn symbolic_link_in_night_folder_rejects_the_night() {
    let f = Fixture::new();
    f.insurance(N1, &[], Done::Empty);
    let dir = f.night_dir("insurance", N1);
    std::fs::rename(dir.join("contributions.jsonl.gz"), f.dir.path().join("elsewhere.gz")).unwrap();
    std::os::unix::fs::symlink(f.dir.path().join("elsewhere.gz"), dir.join("contributions.jsonl.gz")).unwrap();
    assert_rejected(&f, "insurance", &["contributions.jsonl.gz", "symbolic link"]).await;
}

#[tokio::test]
async fn snapshot_with_zero_records_rejects_the_night() {
    let f = Fixture::new();
    f.insurance(N1, &[("employers.jsonl.gz", "\n\n")], Done::Empty);
    assert_rejected(&f, "insurance", &["employers.jsonl.gz", "0 data records"]).await;
}

#[tokio::test]
async fn collapsed_snapshot_rejects_the_night_and_falls_back() {
    let f = Fixture::new();
    let mut big = String::from(COMPANIES);
    for i in 3..=10 {
        big.push_str(&format!(
            "CMP-00000{i:02},,PT Lain {i},31,,,MIKRO,,false,2026-10-01T09:00:00+07:00\n"
        ));
    }
    f.inspection(N1, &[("companies.csv.gz", big.as_str())], Done::Empty);
    assert_eq!(f.ingest().await.ingested(), 1);
    // 10 records, then 4 (< half): rejected; 5 would be exactly half: accepted.
    let four: String = big.lines().take(5).map(|l| format!("{l}\n")).collect();
    f.inspection(
        N2,
        &[("companies.csv.gz", four.as_str()), ("complaints.csv.gz", COMPLAINTS)],
        Done::Empty,
    );
    let r = f.ingest().await;
    assert!(rejection(&r, "inspection").contains("fewer than half of the 10"));
    let csv = query_csv(&f.lake_loc(), "SELECT count(*) AS n FROM companies", None, Some(N2)).await;
    assert_eq!(csv, "n\n10\n", "the snapshot falls back to the previous night");
    let five: String = big.lines().take(6).map(|l| format!("{l}\n")).collect();
    f.inspection("2026-10-05", &[("companies.csv.gz", five.as_str())], Done::Empty);
    assert_eq!(f.ingest().await.ingested(), 1);
}

#[tokio::test]
async fn broken_redelivery_keeps_the_earlier_delivery() {
    let f = Fixture::new();
    f.insurance(N1, &[], Done::Empty);
    assert_eq!(f.ingest().await.ingested(), 1);
    let e = gz(EMPLOYERS.as_bytes());
    let c = gz(CONTRIBUTIONS.as_bytes());
    let done = format!("{}  employers.jsonl.gz\n{}  contributions.jsonl.gz\n", sha256(&e), sha256(b"x"));
    f.write_raw(
        "insurance",
        N1,
        &[("employers.jsonl.gz", e), ("contributions.jsonl.gz", c)],
        Done::Text(done),
    );
    let r = f.ingest().await;
    assert!(rejection(&r, "insurance").contains("checksum mismatch"));
    let ledger = f.ledger().await;
    let sys = wasnaker::contract::System::Insurance;
    assert_eq!(ledger.effective(sys, date(N1)).unwrap().version, 1);
    assert_eq!(ledger.deliveries(sys, date(N1)).len(), 2);
    assert_eq!(
        query_csv(&f.lake_loc(), "SELECT count(*) AS n FROM contributions", None, None).await,
        "n\n1\n"
    );
}

fn inspection_raw(replace: &[(&'static str, Vec<u8>)]) -> Vec<(&'static str, Vec<u8>)> {
    let mut files: Vec<(&'static str, Vec<u8>)> = vec![
        ("companies.csv.gz", gz(COMPANIES.as_bytes())),
        ("inspectors.csv.gz", gz(INSPECTORS.as_bytes())),
        ("complaints.csv.gz", gz(COMPLAINTS.as_bytes())),
        ("complaint_events.csv.gz", gz(EVENTS.as_bytes())),
        ("inspections.csv.gz", gz(INSPECTIONS.as_bytes())),
    ];
    for (n, b) in replace {
        if let Some(slot) = files.iter_mut().find(|(f, _)| f == n) {
            slot.1 = b.clone();
        }
    }
    files
}

/// Each row-level break of the contract: the row is quarantined with file,
/// record, line, column and reason; the rest of the file is ingested.
#[tokio::test]
async fn bad_rows_are_quarantined_with_their_reason() {
    const H: &str = "complaint_id,received_at,channel,reporter_type,union_name,complainant_name,complainant_nik,complainant_phone,company_id,province_code,violation_code,workers_affected,description,updated_at\n";
    const OK: &str = "ADU-2026-0000009,2026-10-02T09:00:00+07:00,ONLINE,WORKER,,,,,,31,THR,1,,2026-10-02T09:00:00+07:00\n";
    let cases: &[(&str, &[u8], Option<&str>, &str)] = &[
        (
            "bad timestamp",
            b"ADU-2026-0000001,2026-10-02 9am,ONLINE,WORKER,,,,,,31,THR,1,,2026-10-02T09:00:00+07:00\n",
            Some("received_at"),
            "RFC 3339",
        ),
        (
            "after the extract date",
            b"ADU-2026-0000001,2026-10-04T00:00:00+07:00,ONLINE,WORKER,,,,,,31,THR,1,,2026-10-02T09:00:00+07:00\n",
            Some("received_at"),
            "after the end of the extract date",
        ),
        (
            "unknown code",
            b"ADU-2026-0000001,2026-10-02T09:00:00+07:00,FAX,WORKER,,,,,,31,THR,1,,2026-10-02T09:00:00+07:00\n",
            Some("channel"),
            "valid values are ONLINE",
        ),
        (
            "unknown province",
            b"ADU-2026-0000001,2026-10-02T09:00:00+07:00,ONLINE,WORKER,,,,,,99,THR,1,,2026-10-02T09:00:00+07:00\n",
            Some("province_code"),
            "province code",
        ),
        (
            "null in non-null",
            b"ADU-2026-0000001,2026-10-02T09:00:00+07:00,ONLINE,WORKER,,,,,,31,,1,,2026-10-02T09:00:00+07:00\n",
            Some("violation_code"),
            "required",
        ),
        (
            "negative count",
            b"ADU-2026-0000001,2026-10-02T09:00:00+07:00,ONLINE,WORKER,,,,,,31,THR,-4,,2026-10-02T09:00:00+07:00\n",
            Some("workers_affected"),
            "negative",
        ),
        (
            "wrong digits",
            b"ADU-2026-0000001,2026-10-02T09:00:00+07:00,ONLINE,WORKER,,,990101010101000,,,31,THR,1,,2026-10-02T09:00:00+07:00\n",
            Some("complainant_nik"),
            "exactly 16 digits",
        ),
        (
            "not UTF-8",
            b"ADU-2026-0000001,2026-10-02T09:00:00+07:00,ONLINE,UNION,SP \xff\xfe,,,,,31,THR,1,,2026-10-02T09:00:00+07:00\n",
            Some("union_name"),
            "UTF-8",
        ),
        (
            "too few fields",
            b"ADU-2026-0000001,2026-10-02T09:00:00+07:00,ONLINE\n",
            None,
            "has 3 fields but the header has 14",
        ),
        (
            "too many fields",
            b"ADU-2026-0000001,2026-10-02T09:00:00+07:00,ONLINE,WORKER,,,,,,31,THR,1,,2026-10-02T09:00:00+07:00,extra\n",
            None,
            "has 15 fields",
        ),
    ];
    for (what, row, column, reason) in cases {
        let f = Fixture::new();
        let mut content = H.as_bytes().to_vec();
        content.extend_from_slice(OK.as_bytes());
        content.extend_from_slice(row);
        f.write_raw(
            "inspection",
            N1,
            &inspection_raw(&[("complaints.csv.gz", gz(&content))]),
            Done::Empty,
        );
        let r = f.ingest().await;
        let files = files_of(&r, "inspection");
        let c = file(&files, "complaints");
        assert_eq!((c.rows_read, c.rows_accepted, c.rows_quarantined), (2, 1, 1), "{what}");
        let q = query_quarantine(&f, "complaints").await;
        assert_eq!(q.len(), 1, "{what}");
        let (record, line, col, why) = &q[0];
        assert_eq!((*record, *line), (2, 3), "{what}: record 2 is on line 3");
        assert_eq!(col.as_deref(), *column, "{what}");
        assert!(why.contains(reason), "{what}: reason {why:?} should contain {reason:?}");
    }
}

#[tokio::test]
async fn cross_column_rules_and_json_type_errors_are_quarantined() {
    let f = Fixture::new();
    let companies = format!("{COMPANIES}CMP-0000003,,PT Salah Kabupaten,31,3271,C,BESAR,5,true,2026-10-01T09:00:00+07:00\n");
    let inspections = format!(
        "{INSPECTIONS}INSP-0000002,CMP-0000001,INS-00001,2026-10-03,ROUTINE,ADU-2026-0000001,0,COMPLIANT\nINSP-0000003,CMP-0000001,INS-00001,2026-10-03,COMPLAINT,,0,COMPLIANT\n"
    );
    f.inspection(
        N1,
        &[
            ("companies.csv.gz", companies.as_str()),
            ("inspections.csv.gz", inspections.as_str()),
        ],
        Done::Empty,
    );
    let employers = format!(
        "{EMPLOYERS}{}\n{}\n{}\n[1,2]\n{{\"npp\": \n{}\n",
        r#"{"npp":"11111111","employer_name":"A","province_code":"31","status":"ACTIVE","registered_workers":"25","programs":[],"arrears_months":0,"arrears_amount_idr":0,"registered_on":"2020-01-01"}"#,
        r#"{"npp":"22222222","employer_name":"B","province_code":"31","status":"ACTIVE","registered_workers":25.0,"programs":[],"arrears_months":0,"arrears_amount_idr":0,"registered_on":"2020-01-01"}"#,
        r#"{"npp":"33333333","employer_name":"C","province_code":"31","status":"ACTIVE","registered_workers":2.5e1,"programs":["JKK","JKK"],"arrears_months":0,"arrears_amount_idr":0,"registered_on":"2020-01-01"}"#,
        r#"{"npp":"44444444","employer_name":"D","province_code":"31","status":"ACTIVE","registered_workers":1,"programs":["JKK"],"arrears_months":0,"arrears_amount_idr":0,"registered_on":"2020-01-01","extra_key":1}"#,
    );
    f.insurance(N1, &[("employers.jsonl.gz", employers.as_str())], Done::Empty);
    let r = f.ingest().await;
    assert_eq!(r.ingested(), 2);
    let q = query_quarantine(&f, "companies").await;
    assert_eq!(q, vec![(3, 4, Some("regency_code".into()), q[0].3.clone())]);
    assert!(q[0].3.contains("regency of the row's province_code"));
    let q = query_quarantine(&f, "inspections").await;
    assert_eq!(
        q.iter().map(|x| (x.0, x.2.clone())).collect::<Vec<_>>(),
        vec![(2, Some("complaint_id".into())), (3, Some("complaint_id".into()))]
    );
    let q = query_quarantine(&f, "employers").await;
    let got: Vec<(u64, Option<String>)> = q.iter().map(|x| (x.0, x.2.clone())).collect();
    assert_eq!(
        got,
        vec![
            (3, Some("registered_workers".into())),
            (4, Some("registered_workers".into())),
            (5, Some("registered_workers".into())),
            (6, None),
            (7, None)
        ]
    );
    assert!(q[0].3.contains("wrong JSON type"));
    assert!(q[1].3.contains("without fraction or exponent"));
    assert!(q[3].3.contains("not a JSON object"));
    assert!(q[4].3.contains("not valid JSON"));
    let files = files_of(&r, "insurance");
    let e = file(&files, "employers");
    assert_eq!(
        (e.rows_read, e.rows_accepted, e.rows_quarantined),
        (8, 3, 5),
        "line 8 (npp 44444444) is accepted"
    );
    assert!(e.warnings.iter().any(|w| w.contains("extra_key")), "{:?}", e.warnings);
}

/// An employers line of a synthetic employer.
fn employer_line(npp: u32, name: &str, extra: &str) -> String {
    format!(
        r#"{{"npp":"{npp:08}","employer_name":"{name}","province_code":"31","status":"ACTIVE","registered_workers":5,"programs":["JKK"],"arrears_months":0,"arrears_amount_idr":0,"registered_on":"2020-01-01"{extra}}}"#
    )
}

/// 9,000 lines (~2.4 MB with one line of 700 KB: 4–5 of the 512 KB parts
/// that are parsed on separate threads, one line longer than a part), with
/// problems spread over the parts: the file's records are still counted,
/// numbered, quarantined and warned about in file order.
#[tokio::test]
async fn a_large_json_lines_file_is_read_in_parts_in_file_order() {
    let f = Fixture::new();
    let long_name = "x".repeat(700_000);
    let lines: Vec<String> = (1..=9000u32)
        .map(|n| match n {
            10 => r#"{"npp": "#.to_string(),
            2600 => employer_line(n, "PT Uji", "").replace(r#""registered_workers":5"#, r#""registered_workers":"25""#),
            3000 => "  \r".to_string(),
            4000 | 5800 => employer_line(n, "PT Uji", r#","k_b":1"#),
            5000 => "[1,2]".to_string(),
            5500 => employer_line(n, "PT Uji", r#","k_a":1"#),
            8900 => employer_line(100, "PT Uji Kembar", ""),
            7000 => employer_line(n, &long_name, ""),
            n => employer_line(n, "PT Uji", ""),
        })
        .collect();
    // The last line has no newline.
    let text = lines.join("\n");
    f.inspection(N1, &[], Done::Empty);
    f.insurance(N1, &[("employers.jsonl.gz", text.as_str())], Done::Empty);
    let r = f.ingest().await;
    assert_eq!(r.ingested(), 2);
    let files = files_of(&r, "insurance");
    let e = file(&files, "employers");
    assert_eq!((e.rows_read, e.rows_accepted, e.rows_quarantined), (8999, 8994, 5));
    assert!(
        e.warnings.iter().any(|w| w.ends_with("unknown key(s) ignored: k_b, k_a")),
        "{:?}",
        e.warnings
    );
    let q = query_quarantine(&f, "employers").await;
    let got: Vec<(u64, u64, Option<String>)> = q.iter().map(|x| (x.0, x.1, x.2.clone())).collect();
    assert_eq!(
        got,
        vec![
            (10, 10, None),
            (2600, 2600, Some("registered_workers".into())),
            (5000, 5000, None),
            (100, 100, None),
            (8900, 8900, None)
        ]
    );
    assert!(q[0].3.contains("not valid JSON") && q[2].3.contains("not a JSON object"));
    assert!(q[3].3.contains("duplicate key") && q[4].3.contains("duplicate key"));
    let csv = query_csv(
        &f.lake_loc(),
        "SELECT count(*) AS n, count(DISTINCT npp) AS keys, sum(CASE WHEN npp IN ('00007000', '00009000') THEN 1 ELSE 0 END) AS ends FROM employers",
        None,
        None,
    )
    .await;
    assert_eq!(csv, "n,keys,ends\n8994,8994,2\n");
}

/// A gzip stream cut in a later part: the rejection counts exactly the
/// records that were read whole before the break.
#[tokio::test]
async fn truncated_gzip_after_several_parts_counts_the_records_read() {
    use std::io::Read;
    let f = Fixture::new();
    let text: String = (1..=9000u32).map(|n| employer_line(n, "PT Uji", "") + "\n").collect();
    let mut bytes = gz(text.as_bytes());
    bytes.truncate(bytes.len() * 3 / 5);
    // What any reader gets out of the cut stream before the error.
    let mut decoded = Vec::new();
    let mut d = flate2::read::MultiGzDecoder::new(bytes.as_slice());
    let mut buf = [0u8; 4096];
    while let Ok(n) = d.read(&mut buf) {
        if n == 0 {
            break;
        }
        decoded.extend_from_slice(&buf[..n]);
    }
    let whole = decoded.iter().filter(|&&b| b == b'\n').count();
    assert!(whole > 4000 && whole < 9000, "{whole}");
    f.write_raw(
        "insurance",
        N1,
        &[
            ("employers.jsonl.gz", bytes),
            ("contributions.jsonl.gz", gz(CONTRIBUTIONS.as_bytes())),
        ],
        Done::Empty,
    );
    assert_rejected(&f, "insurance", &["employers.jsonl.gz", &format!("after {whole} data record(s)")]).await;
}

#[tokio::test]
async fn duplicate_keys_quarantine_every_row_and_keep_the_previous_version() {
    let f = Fixture::new();
    f.inspection(N1, &[], Done::Empty);
    f.ingest().await;
    let dup = format!(
        "{}CMP-0000001,1234567890123,PT Maju Jaya Baru,31,3171,C,BESAR,130,true,2026-10-04T09:00:00+07:00\n",
        COMPANIES.replace("PT Maju Jaya", "PT Maju Jaya Lama")
    );
    let events = format!("{EVENTS}EVT-000000002,ADU-2026-0000001,2026-10-04T10:00:00+07:00,INSPECTED,INS-00001\n");
    f.inspection(
        N2,
        &[("companies.csv.gz", dup.as_str()), ("complaint_events.csv.gz", events.as_str())],
        Done::Empty,
    );
    let r = f.ingest().await;
    let files = files_of(&r, "inspection");
    assert_eq!(file(&files, "companies").rows_quarantined, 2);
    assert_eq!(file(&files, "complaint_events").rows_quarantined, 2);
    let csv = query_csv(
        &f.lake_loc(),
        "SELECT company_id, name FROM companies ORDER BY company_id",
        None,
        Some(N2),
    )
    .await;
    assert_eq!(csv, "company_id,name\nCMP-0000001,PT Maju Jaya\nCMP-0000002,CV Dua Saudara\n");
    let csv = query_csv(
        &f.lake_loc(),
        "SELECT event_id, status FROM complaint_events ORDER BY event_id",
        None,
        None,
    )
    .await;
    assert_eq!(
        csv, "event_id,status\nEVT-000000001,RECEIVED\nEVT-000000002,ASSIGNED\n",
        "the event keeps its previous version"
    );
    let q = query_quarantine(&f, "companies").await;
    assert!(q.iter().all(|x| x.3.contains("duplicate key")));
}

#[tokio::test]
async fn valid_oddities_are_accepted() {
    let f = Fixture::new();
    // BOM, CRLF, blank lines before the header and between records, quoted header
    // names, a quoted newline and comma, a changed column order, an extra column,
    // one differing only in case, formula-like text kept verbatim.
    let companies = "\u{feff}\r\n\r\n\"company_id\",name,nib,province_code,regency_code,kbli_section,size_class,workers_total,wlkp_registered,updated_at,Name,note\r\nCMP-0000001,\"=HYPERLINK(\"\"x\"\"), PT\r\nMaju\",1234567890123,31,3171,C,BESAR,120,true,2026-10-01T09:00:00.5+08:00,x,y\r\n\r\nCMP-0000002,@CV Dua,,32,,,KECIL,,false,2026-10-02T02:00:00Z,x,y";
    let mut multi = gz(INSPECTIONS.lines().next().unwrap().as_bytes());
    multi.extend(gz(b""));
    multi.extend(gz(format!("\n{}\n", INSPECTIONS.lines().nth(1).unwrap()).as_bytes()));
    let events_header_only = "event_id,complaint_id,event_at,status,inspector_id\n";
    let mut files = inspection_raw(&[
        ("companies.csv.gz", gz(companies.as_bytes())),
        ("inspections.csv.gz", multi),
        ("complaint_events.csv.gz", gz(events_header_only.as_bytes())),
    ]);
    files.push(("README.txt", b"hello".to_vec()));
    f.write_raw("inspection", N1, &files, Done::Sums);
    let r = f.ingest().await;
    let res = &r.results[0];
    let NightOutcome::Ingested { files, ignored_files, .. } = &res.outcome else {
        panic!("{:?}", res.outcome)
    };
    assert_eq!(ignored_files, &vec!["README.txt".to_string()]);
    let c = file(files, "companies");
    assert_eq!((c.rows_read, c.rows_accepted, c.rows_quarantined), (2, 2, 0));
    assert!(c.warnings[0].contains("Name, note"), "{:?}", c.warnings);
    assert_eq!(file(files, "inspections").rows_accepted, 1);
    assert_eq!(file(files, "complaint_events").rows_read, 0);
    let csv = query_csv(
        &f.lake_loc(),
        "SELECT company_id, name, nib, arrow_cast(updated_at, 'Utf8') AS t FROM companies ORDER BY company_id",
        None,
        None,
    )
    .await;
    assert_eq!(
        csv,
        "company_id,name,nib,t\nCMP-0000001,\"=HYPERLINK(\"\"x\"\"), PT\r\nMaju\",1234567890123,2026-10-01T01:00:00.500Z\nCMP-0000002,@CV Dua,,2026-10-02T02:00:00Z\n"
    );
}

#[tokio::test]
async fn very_long_fields_are_accepted() {
    let f = Fixture::new();
    let long = "x".repeat(3 << 20);
    let complaints = format!(
        "{COMPLAINTS}ADU-2026-0000003,2026-10-02T09:00:00+07:00,UNION_LETTER,UNION,SP {long},,,,,31,LEMBUR,3,{long},2026-10-02T09:00:00+07:00\n"
    );
    f.inspection(N1, &[("complaints.csv.gz", complaints.as_str())], Done::Empty);
    let r = f.ingest().await;
    assert_eq!(file(&files_of(&r, "inspection"), "complaints").rows_accepted, 3);
    let csv = query_csv(
        &f.lake_loc(),
        "SELECT length(union_name) AS n FROM complaints WHERE complaint_id = 'ADU-2026-0000003'",
        None,
        None,
    )
    .await;
    assert_eq!(csv, format!("n\n{}\n", (3 << 20) + 3));
}

#[tokio::test]
async fn redelivered_night_supersedes_and_identical_redelivery_is_a_no_op() {
    let f = Fixture::new();
    f.inspection(N1, &[], Done::Empty);
    f.ingest().await;
    // Same _DONE again: nothing to do.
    f.inspection(N1, &[], Done::Empty);
    assert_eq!(f.ingest().await.results.len(), 0);
    // Corrected: complaint 2 is gone, complaint 1 changed; _DONE with checksums.
    let corrected = COMPLAINTS
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join("\n")
        .replace(",THR,12,", ",UPAH_MINIMUM,12,");
    f.inspection(N1, &[("complaints.csv.gz", corrected.as_str())], Done::Sums);
    let r = f.ingest().await;
    assert_eq!(r.results[0].version, 2);
    let ledger = f.ledger().await;
    assert_eq!(
        ledger.deliveries(wasnaker::contract::System::Inspection, date(N1)).len(),
        2,
        "the old delivery stays recorded"
    );
    let csv = query_csv(
        &f.lake_loc(),
        "SELECT complaint_id, violation_code FROM complaints ORDER BY 1",
        None,
        None,
    )
    .await;
    assert_eq!(csv, "complaint_id,violation_code\nADU-2026-0000001,UPAH_MINIMUM\n");
    let csv = query_csv(
        &f.lake_loc(),
        "SELECT sum(rows_read) AS n FROM night_tables WHERE table_name = 'complaints'",
        None,
        None,
    )
    .await;
    assert_eq!(csv, "n\n1\n", "nothing counted twice");
}

#[tokio::test]
async fn latest_extract_wins_and_dry_run_writes_nothing() {
    let f = Fixture::new();
    f.inspection(N1, &[], Done::Empty);
    let changed = COMPLAINTS
        .replace(",K3,", ",LEMBUR,")
        .replace("2026-10-02T23:30:00Z\n", "2026-10-03T01:00:00Z\n");
    f.inspection(N2, &[("complaints.csv.gz", changed.as_str())], Done::Empty);
    let dry = f
        .ingest_at(
            "2026-12-01T00:00:00Z".parse().unwrap(),
            IngestOptions {
                dry_run: true,
                ..Default::default()
            },
        )
        .await;
    assert_eq!(dry.plan.to_ingest(), 2);
    assert!(f.lake_files().is_empty(), "dry run writes nothing");
    // Ingest the later night first (--date), then the earlier one: order of ingestion never matters.
    let only = IngestOptions {
        from: Some(date(N2)),
        to: Some(date(N2)),
        dry_run: false,
    };
    assert_eq!(f.ingest_at("2026-12-01T00:00:00Z".parse().unwrap(), only).await.ingested(), 1);
    assert_eq!(f.ingest().await.ingested(), 1);
    let csv = query_csv(
        &f.lake_loc(),
        "SELECT complaint_id, violation_code, _extract_date FROM complaints ORDER BY 1",
        None,
        None,
    )
    .await;
    assert_eq!(
        csv,
        "complaint_id,violation_code,_extract_date\nADU-2026-0000001,THR,2026-10-04\nADU-2026-0000002,LEMBUR,2026-10-04\n"
    );
    let csv = query_csv(
        &f.lake_loc(),
        "SELECT complaint_id, violation_code FROM complaints ORDER BY 1",
        None,
        Some(N1),
    )
    .await;
    assert_eq!(
        csv, "complaint_id,violation_code\nADU-2026-0000001,THR\nADU-2026-0000002,K3\n",
        "as_of selects the extracts"
    );
}

/// Quarantine rows of a table: (record, line, column, reason).
pub async fn query_quarantine(f: &Fixture, table: &str) -> Vec<(u64, u64, Option<String>, String)> {
    use arrow::array::AsArray;
    let mut out = Vec::new();
    for (path, bytes) in f.lake_files() {
        if !path.starts_with(&format!("quarantine/{table}/")) {
            continue;
        }
        let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
            .unwrap()
            .build()
            .unwrap();
        for b in reader {
            let b = b.unwrap();
            let rec = b
                .column_by_name("record")
                .unwrap()
                .as_primitive::<arrow::datatypes::Int64Type>()
                .clone();
            let line = b
                .column_by_name("line")
                .unwrap()
                .as_primitive::<arrow::datatypes::Int64Type>()
                .clone();
            let col = b.column_by_name("column").unwrap().as_string::<i32>().clone();
            let reason = b.column_by_name("reason").unwrap().as_string::<i32>().clone();
            for i in 0..b.num_rows() {
                let c = (!arrow::array::Array::is_null(&col, i)).then(|| col.value(i).to_string());
                out.push((rec.value(i) as u64, line.value(i) as u64, c, reason.value(i).to_string()));
            }
        }
    }
    out
}

/// The usual row of company `n`.
fn company(n: u32) -> String {
    format!(
        "CMP-{n:07},{},PT Uji {n},31,3171,C,KECIL,{n},true,2026-10-01T09:00:00+07:00",
        1_000_000_000_000u64 + n as u64
    )
}

/// A companies file of these rows; the columns in reverse order when `reversed`.
fn companies_csv(rows: &[String], reversed: bool, eol: &str) -> String {
    let header = "company_id,nib,name,province_code,regency_code,kbli_section,size_class,workers_total,wlkp_registered,updated_at";
    let flip = |line: &str| -> String {
        if reversed {
            line.split(',').rev().collect::<Vec<_>>().join(",")
        } else {
            line.to_string()
        }
    };
    std::iter::once(header)
        .chain(rows.iter().map(String::as_str))
        .map(|l| flip(l) + eol)
        .collect()
}

/// The usual line of employer `n`; in the other form (`other`): keys and the
/// set in reverse order, spaces, an escape in the name.
fn employer(n: u32, other: bool) -> String {
    let npp = 10_000_000 + n;
    if other {
        format!(
            r#"{{ "registered_on": "2020-01-01", "arrears_amount_idr": 0, "arrears_months": 0, "programs": ["JP", "JKK", "JHT"], "registered_workers": {n}, "status": "ACTIVE", "kbli": null, "province_code": "31", "employer_name": "PT Uji\u0020{n}", "nib": null, "npp": "{npp}" }}"#
        )
    } else {
        format!(
            r#"{{"npp":"{npp}","nib":null,"employer_name":"PT Uji {n}","province_code":"31","kbli":null,"status":"ACTIVE","registered_workers":{n},"programs":["JKK","JHT","JP"],"arrears_months":0,"arrears_amount_idr":0,"registered_on":"2020-01-01"}}"#
        )
    }
}

/// The nights of the recognition test: each fixture gets the same files.
/// Night 1: companies and employers 1–20. Night 2: 7 has left, 21 arrived,
/// 5 changed; the other form of every file. Night 3: 3 twice as it was, 4 as
/// it was and changed, 8 invalid (held back at its earlier row). Night 4: as
/// night 2. Employer 9 has an unknown key on nights 2 and 3.
fn write_recognition_nights(f: &Fixture) -> Vec<&'static str> {
    let nights = vec!["2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06"];
    let ids: Vec<u32> = (1..=21).filter(|n| *n != 7).collect();
    let changed_5 = "CMP-0000005,1000000000005,PT Uji 5,31,3171,C,KECIL,55,true,2026-10-04T09:00:00+07:00".to_string();
    let companies_later = |bad: bool| -> Vec<String> {
        (ids.iter())
            .map(|&n| match n {
                5 => changed_5.clone(),
                8 if bad => company(8).replace(",31,3171,", ",99,3171,"),
                _ => company(n),
            })
            .collect()
    };
    let mut night3 = companies_later(true);
    night3.insert(3, company(3));
    night3.push(company(4).replace(",KECIL,4,true,2026-10-01", ",KECIL,44,true,2026-10-05"));
    let companies = [
        companies_csv(&(1..=20).map(company).collect::<Vec<_>>(), false, "\n"),
        companies_csv(&companies_later(false), true, "\r\n"),
        companies_csv(&night3, false, "\n"),
        companies_csv(&companies_later(false), false, "\n"),
    ];
    let employers_later = |other: bool, night3: bool| -> String {
        let mut lines: Vec<String> = (ids.iter())
            .map(|&n| match n {
                5 => employer(5, false).replace(r#""registered_workers":5,"#, r#""registered_workers":55,"#),
                8 if night3 => employer(8, false).replace(r#""registered_workers":8,"#, r#""registered_workers":-8,"#),
                9 if !night3 && !other => employer(9, false),
                9 if night3 || other => employer(9, false).replace(r#""registered_on""#, r#""note":"x","registered_on""#),
                _ => employer(n, other),
            })
            .collect();
        if night3 {
            lines.insert(3, employer(3, false));
        }
        lines.iter().map(|l| format!("{l}\n")).collect()
    };
    let employers = [
        (1..=20).map(|n| employer(n, false) + "\n").collect::<String>(),
        employers_later(true, false),
        employers_later(false, true),
        employers_later(true, false).replace(r#""note":"x","#, ""),
    ];
    for (i, night) in nights.iter().enumerate() {
        f.inspection(night, &[("companies.csv.gz", companies[i].as_str())], Done::Empty);
        f.insurance(night, &[("employers.jsonl.gz", employers[i].as_str())], Done::Empty);
    }
    nights
}

/// Most of a snapshot comes back unchanged each night, in other forms (CSV
/// columns in another order and other line ends, JSON keys and sets in
/// another order, spaces, escapes): such rows are recognised instead of
/// validated again, within a run and, through the state a run leaves in the
/// work folder, from one run to the next. The lake must be the one of
/// reading every row whole, byte for byte, with rows changed, gone, new,
/// invalid (held back), duplicated as they were (recognised twice: the file
/// is read again) and duplicated with a change, and a line with an unknown
/// key (its warning every night). Four ways to ingest the same nights:
/// all in one run; one run per night; the same with the state of night 1
/// put back before night 3 (stale: not used); and with no state kept.
#[tokio::test]
async fn rows_recognised_as_unchanged_give_the_lake_of_rows_read_whole() {
    let (once, nightly, stale, cold) = (Fixture::new(), Fixture::new(), Fixture::new(), Fixture::new());
    let nights = write_recognition_nights(&once);
    for f in [&nightly, &stale, &cold] {
        write_recognition_nights(f);
    }
    let recognised = |results: &[wasnaker::ingest::NightResult]| -> Vec<(String, u64)> {
        let mut out: Vec<(String, u64)> = (results.iter())
            .map(|r| match &r.outcome {
                NightOutcome::Ingested { rows_recognised, .. } => (format!("{} {}", r.system, r.night), *rows_recognised),
                other => panic!("{} {}: {other:?}", r.system, r.night),
            })
            .collect();
        out.sort();
        out
    };
    let expect = |counts: [(u64, u64); 4]| -> Vec<(String, u64)> {
        let mut out = Vec::new();
        for (system, pick) in [("inspection", 0), ("insurance", 1)] {
            for (night, c) in nights.iter().zip(counts) {
                out.push((format!("{system} {night}"), if pick == 0 { c.0 } else { c.1 }));
            }
        }
        out
    };

    let all_at_once = once.ingest().await.results;
    let now = "2026-12-01T00:00:00Z".parse().unwrap();
    let state_dir = |f: &Fixture| f.work.join("state");
    let (mut one_by_one, mut with_stale, mut without) = (Vec::new(), Vec::new(), Vec::new());
    let saved = tempfile::tempdir().unwrap();
    for (i, night) in nights.iter().enumerate() {
        let opts = IngestOptions {
            to: Some(date(night)),
            ..Default::default()
        };
        one_by_one.extend(nightly.ingest_at(now, opts.clone()).await.results);
        if i == 2 {
            for e in std::fs::read_dir(saved.path()).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), state_dir(&stale).join(e.file_name())).unwrap();
            }
        }
        with_stale.extend(stale.ingest_at(now, opts.clone()).await.results);
        if i == 0 {
            for e in std::fs::read_dir(state_dir(&stale)).unwrap() {
                let e = e.unwrap();
                std::fs::copy(e.path(), saved.path().join(e.file_name())).unwrap();
            }
        }
        let _ = std::fs::remove_dir_all(state_dir(&cold));
        without.extend(cold.ingest_at(now, opts).await.results);
    }
    // Of the 20 entities of nights 2–4 (and the 2 inspectors from night 2):
    // night 2: all but 5 (changed) and 21 (new); night 3: all but 3 (and the
    // company 4: duplicated, read whole again) and 8 (invalid); night 4: all
    // (3, 4 and 8 are back as they were). Employer 9's unknown key is no
    // part of its row: it is recognised (and warned about).
    let usual = expect([(0, 0), (18 + 2, 18), (17 + 2, 18), (20 + 2, 20)]);
    assert_eq!(recognised(&all_at_once), usual);
    assert_eq!(recognised(&one_by_one), usual);
    // Night 3 rebuilt its base from the lake (no fingerprints), so on night 4
    // the rows it kept from earlier (3, 4, 8) are not recognised.
    assert_eq!(recognised(&with_stale), expect([(0, 0), (18 + 2, 18), (0, 0), (17 + 2, 18)]));
    assert_eq!(recognised(&without), expect([(0, 0); 4]));
    for results in [&all_at_once, &one_by_one, &with_stale, &without] {
        let e = results
            .iter()
            .filter(|r| r.system.to_string() == "insurance" && r.night != date(nights[0]) && r.night != date(nights[3]))
            .map(|r| match &r.outcome {
                NightOutcome::Ingested { files, .. } => file(files, "employers").warnings.clone(),
                _ => unreachable!(),
            })
            .collect::<Vec<_>>();
        assert!(e.iter().all(|w| w.iter().any(|w| w.contains("note"))), "{e:?}");
    }
    let la = once.lake_files();
    for other in [&nightly, &stale, &cold] {
        let lb = other.lake_files();
        assert_eq!(
            la.iter().map(|f| &f.0).collect::<Vec<_>>(),
            lb.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        for ((path, x), (_, y)) in la.iter().zip(&lb) {
            assert!(x == y, "{path} differs");
        }
    }
    // Night 3's quarantine holds both rows of companies 3 and 4, with their values.
    let q = query_quarantine(&once, "companies").await;
    assert_eq!(q.iter().filter(|x| x.3.contains("duplicate key")).count(), 4, "{q:?}");
    assert_eq!(q.len(), 5, "and company 8's bad row: {q:?}");
}

/// Ingest night N1, then the rest, in two fixtures with the same landing:
/// `warm` keeps the state N1 left in its work folder, `cold` loses it (so
/// its later nights recognise nothing). The second run's results, warm first.
async fn ingest_warm_and_cold(warm: &Fixture, cold: &Fixture) -> Vec<Vec<wasnaker::ingest::NightResult>> {
    let now = "2026-12-01T00:00:00Z".parse().unwrap();
    let mut out = Vec::new();
    for f in [warm, cold] {
        let opts = IngestOptions {
            to: Some(date(N1)),
            ..Default::default()
        };
        f.ingest_at(now, opts).await;
        if std::ptr::eq(f, cold) {
            std::fs::remove_dir_all(f.work.join("state")).unwrap();
        }
        out.push(f.ingest().await.results);
    }
    out
}

/// The two rows of a duplicated key are recognised on different worker
/// threads (a JSON Lines file of several parts, the rows far apart, either
/// may be met first): the file is read again and both rows are quarantined
/// with their values, as when nothing is recognised.
#[tokio::test]
async fn a_duplicated_key_recognised_in_two_parts_of_a_large_file_is_read_whole() {
    let (warm, cold) = (Fixture::new(), Fixture::new());
    let n = 6_000;
    let first: String = (1..=n).map(|i| employer(i, false) + "\n").collect();
    let second = (1..=n).map(|i| employer(i, true) + "\n").collect::<String>() + &employer(1, false) + "\n";
    assert!(second.len() > 1_500_000, "at least 3 parts of 512 KB");
    for f in [&warm, &cold] {
        f.insurance(N1, &[("employers.jsonl.gz", first.as_str())], Done::Empty);
        f.insurance(N2, &[("employers.jsonl.gz", second.as_str())], Done::Empty);
    }
    let mut recognised = Vec::new();
    for results in ingest_warm_and_cold(&warm, &cold).await {
        let night2 = results.iter().find(|r| r.night == date(N2)).unwrap();
        let NightOutcome::Ingested {
            files, rows_recognised, ..
        } = &night2.outcome
        else {
            panic!("{:?}", night2.outcome)
        };
        assert_eq!(file(files, "employers").rows_quarantined, 2);
        recognised.push(*rows_recognised);
    }
    assert_eq!(recognised, vec![u64::from(n) - 1, 0]);
    assert_eq!(warm.lake_files(), cold.lake_files());
    let q = query_quarantine(&warm, "employers").await;
    assert_eq!(q.iter().map(|x| x.1).collect::<Vec<_>>(), vec![1, u64::from(n) + 1], "{q:?}");
}

/// Records are looked up in the base a batch at a time; records that cannot
/// be looked up (a CSV record with a field missing, a line that is not JSON
/// or not an object) and records that fail validation fall between
/// recognised ones: each is quarantined in file order, and the lake is the
/// one of reading every row whole.
#[tokio::test]
async fn bad_records_between_recognised_ones_are_quarantined_in_file_order() {
    let (warm, cold) = (Fixture::new(), Fixture::new());
    let n = 40;
    let companies_2: Vec<String> = (1..=n)
        .map(|i| match i {
            8 => company(i).replace(",31,3171,", ",99,3171,"),
            10 => company(i).rsplit_once(',').unwrap().0.to_string(),
            30 => company(i).replace(",KECIL,30,", ",KECIL,31,"),
            _ => company(i),
        })
        .collect();
    let employers_2: String = (1..=n)
        .map(|i| match i {
            3 => employer(i, false).replace(r#""registered_workers":3"#, r#""registered_workers":-3"#),
            5 => r#"{"npp": "#.to_string(),
            12 => "[1]".to_string(),
            20 => employer(i, false).replace(r#""registered_workers":20"#, r#""registered_workers":"x""#),
            33 => employer(i, true).replace(r#""registered_workers": 33"#, r#""registered_workers": 34"#),
            _ => employer(i, i % 2 == 0),
        } + "\n")
        .collect();
    for f in [&warm, &cold] {
        let companies_1 = companies_csv(&(1..=n).map(company).collect::<Vec<_>>(), false, "\n");
        let employers_1: String = (1..=n).map(|i| employer(i, false) + "\n").collect();
        f.inspection(N1, &[("companies.csv.gz", companies_1.as_str())], Done::Empty);
        f.insurance(N1, &[("employers.jsonl.gz", employers_1.as_str())], Done::Empty);
        f.inspection(
            N2,
            &[("companies.csv.gz", companies_csv(&companies_2, true, "\n").as_str())],
            Done::Empty,
        );
        f.insurance(N2, &[("employers.jsonl.gz", employers_2.as_str())], Done::Empty);
    }
    let mut recognised = Vec::new();
    for results in ingest_warm_and_cold(&warm, &cold).await {
        for r in results.iter().filter(|r| r.night == date(N2)) {
            let NightOutcome::Ingested { rows_recognised, .. } = &r.outcome else {
                panic!("{:?}", r.outcome)
            };
            recognised.push((r.system.to_string(), *rows_recognised));
        }
    }
    recognised.sort();
    let expected = |c: u64, e: u64| vec![("inspection".to_string(), c), ("insurance".to_string(), e)];
    // Warm: all but the bad and changed records, plus the fixture's 2 inspectors; cold: none.
    let mut both = [expected(0, 0), expected(37 + 2, 35)].concat();
    both.sort();
    assert_eq!(recognised, both);
    assert_eq!(warm.lake_files(), cold.lake_files());
    let records = |q: Vec<(u64, u64, Option<String>, String)>| q.into_iter().map(|x| x.0).collect::<Vec<_>>();
    assert_eq!(records(query_quarantine(&warm, "companies").await), vec![8, 10]);
    assert_eq!(records(query_quarantine(&warm, "employers").await), vec![3, 5, 12, 20]);
}
