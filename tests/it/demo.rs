//! The demo generator: deterministic, and every file it writes keeps the
//! extract contract (`spec/extracts.md`), checked here independently with the
//! csv and serde_json crates.

use chrono::{DateTime, NaiveDate, NaiveTime, TimeZone};
use flate2::read::MultiGzDecoder;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use wasnaker::demo::{DemoError, DemoOptions, DemoSummary, GeneratedFile, TrickyCase, generate};

const PROVINCES: &str = include_str!("../../spec/provinces.csv");
const VIOLATIONS: &str = include_str!("../../spec/violations.csv");

fn jakarta() -> chrono::FixedOffset {
    chrono::FixedOffset::east_opt(7 * 3600).expect("+07:00 is a valid offset")
}

fn spec_codes(text: &str, column: usize) -> BTreeSet<String> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    r.records()
        .filter_map(Result::ok)
        .filter_map(|rec| rec.get(column).map(str::to_owned))
        .collect()
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let read = MultiGzDecoder::new(bytes).read_to_end(&mut out);
    assert!(read.is_ok(), "gzip does not decode: {read:?}");
    out
}

/// A contract check of one generated landing, fed file by file.
struct Checker {
    kemendagri: BTreeSet<String>,
    bps: BTreeSet<String>,
    violations: BTreeSet<String>,
    /// Checksums of the files of the current night folder.
    sums: BTreeMap<String, String>,
    /// Latest snapshot row count per table (earlier nights only).
    snapshot_rows: BTreeMap<String, (String, usize)>,
    /// Nights whose `_DONE` was written (system/date).
    done: Vec<String>,
    nik_count: usize,
    rows: usize,
    files: usize,
}

fn end_of(date: &str) -> Option<DateTime<chrono::FixedOffset>> {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let t = NaiveTime::from_hms_opt(23, 59, 59)?;
    jakarta().from_local_datetime(&d.and_time(t)).single()
}

impl Checker {
    fn new() -> Self {
        Checker {
            kemendagri: spec_codes(PROVINCES, 0),
            bps: spec_codes(PROVINCES, 1),
            violations: spec_codes(VIOLATIONS, 0),
            sums: BTreeMap::new(),
            snapshot_rows: BTreeMap::new(),
            done: Vec::new(),
            nik_count: 0,
            rows: 0,
            files: 0,
        }
    }

    fn file(&mut self, f: &GeneratedFile) {
        self.files += 1;
        let parts: Vec<&str> = f.path.split('/').collect();
        assert_eq!(parts.len(), 3, "{}", f.path);
        let (system, date, name) = (parts[0], parts[1], parts[2]);
        let folder = format!("{system}/{date}");
        assert!(!self.done.last().is_some_and(|d| d == &folder), "{} written after _DONE", f.path);
        let end = end_of(date).unwrap_or_else(|| panic!("bad night folder {}", f.path));
        if name == "_DONE" {
            self.check_done(system, &folder, &f.bytes);
            self.done.push(folder);
            return;
        }
        self.sums.insert(format!("{folder}/{name}"), hex::encode(Sha256::digest(&f.bytes)));
        let content = gunzip(&f.bytes);
        let rows = match (system, name) {
            ("inspection", n) if n.ends_with(".csv.gz") => self.check_csv(&f.path, n, &content, end),
            ("insurance", n) if n.ends_with(".jsonl.gz") => self.check_jsonl(&f.path, n, &content, end),
            _ => panic!("unexpected file {}", f.path),
        };
        self.rows += rows;
        let snapshot = matches!(name, "companies.csv.gz" | "inspectors.csv.gz" | "employers.jsonl.gz");
        if snapshot {
            assert!(rows > 0, "{}: empty snapshot", f.path);
            if let Some((prev_date, prev)) = self.snapshot_rows.get(name) {
                if prev_date != date {
                    assert!(rows * 2 >= *prev, "{}: snapshot shrank from {prev} to {rows}", f.path);
                }
            }
            self.snapshot_rows.insert(name.to_owned(), (date.to_owned(), rows));
        }
        if name == "contributions.jsonl.gz" {
            assert!(rows > 0, "{}: a JSON Lines file needs at least one row", f.path);
        }
    }

    fn check_done(&self, system: &str, folder: &str, body: &[u8]) {
        let text = std::str::from_utf8(body).unwrap_or_else(|_| panic!("{folder}/_DONE not UTF-8"));
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        if lines.is_empty() {
            return;
        }
        let expected: BTreeSet<&str> = match system {
            "inspection" => [
                "companies.csv.gz",
                "inspectors.csv.gz",
                "complaints.csv.gz",
                "complaint_events.csv.gz",
                "inspections.csv.gz",
            ]
            .into(),
            _ => ["employers.jsonl.gz", "contributions.jsonl.gz"].into(),
        };
        let mut listed = BTreeSet::new();
        for line in lines {
            let (sum, rest) = line.split_at(64);
            let name = rest
                .strip_prefix("  ")
                .or_else(|| rest.strip_prefix(" *"))
                .unwrap_or_else(|| panic!("{folder}/_DONE: bad line {line}"));
            assert!(expected.contains(name), "{folder}/_DONE lists {name}");
            let actual = self
                .sums
                .get(&format!("{folder}/{name}"))
                .unwrap_or_else(|| panic!("{folder}/{name} not written"));
            assert_eq!(sum, actual, "{folder}/_DONE: checksum of {name}");
            listed.insert(name);
        }
        assert_eq!(listed, expected, "{folder}/_DONE must list every contract file");
    }

    fn ts(&self, path: &str, col: &str, v: &str, end: DateTime<chrono::FixedOffset>) {
        let t = DateTime::parse_from_rfc3339(v).unwrap_or_else(|e| panic!("{path} {col}: {v:?}: {e}"));
        assert!(v.as_bytes().get(10) == Some(&b'T'), "{path} {col}: {v}");
        assert!(t <= end, "{path} {col}: {v} after the extract date");
    }

    fn date(&self, path: &str, col: &str, v: &str, end: DateTime<chrono::FixedOffset>) {
        let d = NaiveDate::parse_from_str(v, "%Y-%m-%d").unwrap_or_else(|e| panic!("{path} {col}: {v:?}: {e}"));
        assert!(d <= end.date_naive(), "{path} {col}: {v} after the extract date");
    }

    fn check_csv(&mut self, path: &str, name: &str, content: &[u8], end: DateTime<chrono::FixedOffset>) -> usize {
        let text = std::str::from_utf8(content).unwrap_or_else(|_| panic!("{path}: not UTF-8"));
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let text = text.trim_start_matches(['\r', '\n']);
        let mut r = csv::ReaderBuilder::new().from_reader(text.as_bytes());
        let header: Vec<String> = r.headers().map(|h| h.iter().map(str::to_owned).collect()).unwrap_or_default();
        let expected: &[&str] = match name {
            "companies.csv.gz" => &[
                "company_id",
                "nib",
                "name",
                "province_code",
                "regency_code",
                "kbli_section",
                "size_class",
                "workers_total",
                "wlkp_registered",
                "updated_at",
            ],
            "inspectors.csv.gz" => &[
                "inspector_id",
                "nip",
                "name",
                "province_code",
                "rank",
                "is_ppns",
                "active",
                "updated_at",
            ],
            "complaints.csv.gz" => &[
                "complaint_id",
                "received_at",
                "channel",
                "reporter_type",
                "union_name",
                "complainant_name",
                "complainant_nik",
                "complainant_phone",
                "company_id",
                "province_code",
                "violation_code",
                "workers_affected",
                "description",
                "updated_at",
            ],
            "complaint_events.csv.gz" => &["event_id", "complaint_id", "event_at", "status", "inspector_id"],
            "inspections.csv.gz" => &[
                "inspection_id",
                "company_id",
                "inspector_id",
                "visit_date",
                "inspection_type",
                "complaint_id",
                "findings",
                "outcome",
            ],
            _ => panic!("{path}: unknown file"),
        };
        let mut sorted_header = header.clone();
        sorted_header.sort();
        let mut sorted_expected: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        sorted_expected.sort();
        assert_eq!(sorted_header, sorted_expected, "{path}: header");
        let mut keys = BTreeSet::new();
        let mut n = 0;
        for rec in r.records() {
            let rec = rec.unwrap_or_else(|e| panic!("{path}: {e}"));
            n += 1;
            let row: BTreeMap<&str, Option<&str>> = header
                .iter()
                .map(String::as_str)
                .zip(rec.iter().map(|v| (!v.is_empty()).then_some(v)))
                .collect();
            let get = |c: &str| row.get(c).copied().flatten();
            let need = |c: &str| get(c).unwrap_or_else(|| panic!("{path} record {n}: {c} is null"));
            assert!(
                keys.insert(need(expected[0]).to_owned()),
                "{path}: duplicate key {}",
                need(expected[0])
            );
            match name {
                "companies.csv.gz" => {
                    assert!(need("company_id").starts_with("CMP-") && need("company_id").len() == 11);
                    if let Some(nib) = get("nib") {
                        assert!(digits(nib, 13), "{path}: nib {nib}");
                    }
                    let p = need("province_code");
                    assert!(self.kemendagri.contains(p), "{path}: province {p}");
                    if let Some(reg) = get("regency_code") {
                        assert!(digits(reg, 4) && reg.starts_with(p), "{path}: regency {reg} of {p}");
                    }
                    if let Some(s) = get("kbli_section") {
                        assert!(s.len() == 1 && ("A"..="U").contains(&s), "{path}: section {s}");
                    }
                    assert!(["MIKRO", "KECIL", "MENENGAH", "BESAR"].contains(&need("size_class")));
                    if let Some(w) = get("workers_total") {
                        assert!(w.parse::<u64>().is_ok(), "{path}: workers {w}");
                    }
                    assert!(["true", "false"].contains(&need("wlkp_registered")));
                    need("name");
                    self.ts(path, "updated_at", need("updated_at"), end);
                }
                "inspectors.csv.gz" => {
                    assert!(need("inspector_id").starts_with("INS-") && need("inspector_id").len() == 9);
                    assert!(digits(need("nip"), 18));
                    assert!(self.kemendagri.contains(need("province_code")));
                    assert!(["PERTAMA", "MUDA", "MADYA", "UTAMA"].contains(&need("rank")));
                    assert!(["true", "false"].contains(&need("is_ppns")) && ["true", "false"].contains(&need("active")));
                    need("name");
                    self.ts(path, "updated_at", need("updated_at"), end);
                }
                "complaints.csv.gz" => {
                    let id = need("complaint_id");
                    assert!(id.starts_with("ADU-") && id.len() == 16, "{path}: id {id}");
                    self.ts(path, "received_at", need("received_at"), end);
                    self.ts(path, "updated_at", need("updated_at"), end);
                    assert!(["ONLINE", "WALK_IN", "EMAIL", "HOTLINE", "UNION_LETTER", "MEDIA", "REFERRAL"].contains(&need("channel")));
                    let reporter = need("reporter_type");
                    assert!(["WORKER", "UNION", "ANONYMOUS", "OTHER"].contains(&reporter));
                    if reporter == "ANONYMOUS" {
                        assert!(
                            get("complainant_name").is_none() && get("complainant_nik").is_none() && get("complainant_phone").is_none()
                        );
                    }
                    if let Some(nik) = get("complainant_nik") {
                        assert!(digits(nik, 16) && nik.starts_with("99"), "{path}: NIK not synthetic");
                        self.nik_count += 1;
                    }
                    if let Some(phone) = get("complainant_phone") {
                        assert!(phone.starts_with("+62 800-"), "{path}: phone not synthetic");
                    }
                    if let Some(c) = get("company_id") {
                        assert!(c.starts_with("CMP-") && c.len() == 11);
                    }
                    assert!(self.kemendagri.contains(need("province_code")));
                    assert!(self.violations.contains(need("violation_code")));
                    if let Some(w) = get("workers_affected") {
                        assert!(w.parse::<u64>().is_ok());
                    }
                    if let Some(d) = get("description") {
                        for word in d.split(|c: char| !c.is_ascii_digit()) {
                            if word.len() == 16 {
                                assert!(word.starts_with("99"), "{path}: description with a NIK-like number");
                            }
                        }
                    }
                }
                "complaint_events.csv.gz" => {
                    assert!(need("event_id").starts_with("EVT-") && need("event_id").len() == 13);
                    assert!(need("complaint_id").starts_with("ADU-"));
                    self.ts(path, "event_at", need("event_at"), end);
                    assert!(
                        [
                            "RECEIVED",
                            "VERIFIED",
                            "REJECTED",
                            "REDIRECTED",
                            "ASSIGNED",
                            "INSPECTED",
                            "NOTA_1",
                            "NOTA_2",
                            "SANCTION_RECOMMENDED",
                            "REFERRED_PPNS",
                            "RESOLVED",
                            "CLOSED_NO_VIOLATION",
                            "WITHDRAWN",
                            "CLOSED_UNRESOLVED",
                        ]
                        .contains(&need("status"))
                    );
                    if let Some(i) = get("inspector_id") {
                        assert!(i.starts_with("INS-"));
                    }
                }
                "inspections.csv.gz" => {
                    assert!(need("inspection_id").starts_with("PMR-") && need("inspection_id").len() == 12);
                    self.date(path, "visit_date", need("visit_date"), end);
                    let kind = need("inspection_type");
                    assert!(["ROUTINE", "COMPLAINT", "SPECIAL", "FOLLOW_UP"].contains(&kind));
                    assert_eq!(
                        kind == "COMPLAINT",
                        get("complaint_id").is_some(),
                        "{path}: complaint_id iff COMPLAINT"
                    );
                    assert!(need("findings").parse::<u64>().is_ok());
                    assert!(["COMPLIANT", "NOTA_1", "NOTA_2", "REFERRED_PPNS"].contains(&need("outcome")));
                    need("company_id");
                    need("inspector_id");
                }
                _ => {}
            }
        }
        n
    }

    fn check_jsonl(&mut self, path: &str, name: &str, content: &[u8], end: DateTime<chrono::FixedOffset>) -> usize {
        let text = std::str::from_utf8(content).unwrap_or_else(|_| panic!("{path}: not UTF-8"));
        let mut keys = BTreeSet::new();
        let mut n = 0;
        for line in text.split('\n') {
            if line.trim_matches([' ', '\t', '\r']).is_empty() {
                continue;
            }
            n += 1;
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{path} line {n}: {e}"));
            let obj = v.as_object().unwrap_or_else(|| panic!("{path} line {n}: not an object"));
            let s = |k: &str| obj.get(k).and_then(|v| v.as_str());
            let need = |k: &str| s(k).unwrap_or_else(|| panic!("{path} line {n}: {k} missing"));
            let int = |k: &str| {
                let v = obj.get(k).unwrap_or_else(|| panic!("{path} line {n}: {k} missing"));
                assert!(v.is_u64(), "{path} line {n}: {k} = {v} is not a non-negative integer");
                assert!(!v.to_string().contains(['.', 'e', 'E']), "{path} line {n}: {k} = {v}");
            };
            match name {
                "employers.jsonl.gz" => {
                    for k in obj.keys() {
                        assert!(
                            [
                                "npp",
                                "nib",
                                "employer_name",
                                "province_code",
                                "kbli",
                                "status",
                                "registered_workers",
                                "programs",
                                "arrears_months",
                                "arrears_amount_idr",
                                "registered_on"
                            ]
                            .contains(&k.as_str()),
                            "{path}: unknown key {k}"
                        );
                    }
                    assert!(digits(need("npp"), 8));
                    assert!(keys.insert(need("npp").to_owned()), "{path}: duplicate npp");
                    if let Some(nib) = s("nib") {
                        assert!(digits(nib, 13));
                    }
                    need("employer_name");
                    assert!(
                        self.bps.contains(need("province_code")),
                        "{path}: BPS code {}",
                        need("province_code")
                    );
                    if let Some(k) = s("kbli") {
                        assert!(digits(k, 5));
                    }
                    assert!(["ACTIVE", "INACTIVE", "SUSPENDED"].contains(&need("status")));
                    int("registered_workers");
                    int("arrears_months");
                    int("arrears_amount_idr");
                    let programs = obj
                        .get("programs")
                        .and_then(|p| p.as_array())
                        .unwrap_or_else(|| panic!("{path}: programs"));
                    let set: BTreeSet<&str> = programs.iter().filter_map(|p| p.as_str()).collect();
                    assert_eq!(set.len(), programs.len(), "{path}: repeated program");
                    assert!(set.iter().all(|p| ["JKK", "JKM", "JHT", "JP", "JKP"].contains(p)));
                    self.date(path, "registered_on", need("registered_on"), end);
                }
                "contributions.jsonl.gz" => {
                    assert!(digits(need("npp"), 8));
                    let period = need("period");
                    assert!(period.len() == 7 && NaiveDate::parse_from_str(&format!("{period}-01"), "%Y-%m-%d").is_ok());
                    assert!(keys.insert(format!("{} {period}", need("npp"))), "{path}: duplicate key");
                    int("workers_reported");
                    int("wage_total_idr");
                    int("contribution_idr");
                    if let Some(p) = s("paid_at") {
                        self.ts(path, "paid_at", p, end);
                    }
                }
                _ => panic!("{path}: unknown file"),
            }
        }
        n
    }
}

fn run(opts: &DemoOptions, mut each: impl FnMut(&GeneratedFile)) -> Result<DemoSummary, DemoError> {
    generate(opts, &mut |f: GeneratedFile| {
        each(&f);
        Ok(())
    })
}

fn digest(opts: &DemoOptions) -> Result<(String, DemoSummary), DemoError> {
    let mut hasher = Sha256::new();
    let summary = run(opts, |f| {
        hasher.update(f.path.as_bytes());
        hasher.update((f.bytes.len() as u64).to_le_bytes());
        hasher.update(&f.bytes);
    })?;
    Ok((hex::encode(hasher.finalize()), summary))
}

/// A short run (two months) for the tests that need two runs.
fn short() -> DemoOptions {
    DemoOptions {
        nights: 40,
        ..DemoOptions::demo()
    }
}

#[test]
fn demo_is_deterministic() -> Result<(), DemoError> {
    let (a, sa) = digest(&DemoOptions::demo())?;
    let (b, sb) = digest(&DemoOptions::demo())?;
    assert_eq!(a, b, "two runs with the same options differ");
    assert_eq!(sa, sb);
    let (c, _) = digest(&short())?;
    let (d, _) = digest(&DemoOptions { seed: 7, ..short() })?;
    assert_ne!(c, d, "the seed changes nothing");
    Ok(())
}

#[test]
fn default_demo_keeps_the_contract_and_places_every_case() -> Result<(), DemoError> {
    let mut checker = Checker::new();
    let mut order: Vec<String> = Vec::new();
    let start = std::time::Instant::now();
    let summary = run(&DemoOptions::demo(), |f| {
        checker.file(f);
        if f.path.ends_with("_DONE") {
            order.push(f.path.clone());
        }
    })?;
    println!("demo generated and checked in {:?}\n{summary}", start.elapsed());
    assert_eq!(summary.absent_cases(), Vec::<TrickyCase>::new(), "cases never placed");
    assert!(checker.nik_count > 1000, "few NIKs: {}", checker.nik_count);
    assert_eq!(checker.files as u64, summary.files);
    assert_eq!(summary.first_night.to_string(), "2025-08-01");
    assert_eq!(summary.last_night.to_string(), "2026-11-27");
    // 484 nights, one missing for both and one for each system.
    assert_eq!(summary.inspection.delivered.len(), 482);
    assert_eq!(summary.insurance.delivered.len(), 482);
    // Every delivered night has its _DONE, re-deliveries once more, after a later night.
    assert_eq!(order.len(), 482 * 2 + 2);
    for (night, after) in summary.inspection.redelivered.iter().chain(&summary.insurance.redelivered) {
        assert!(after > night);
        let paths: Vec<usize> = order
            .iter()
            .enumerate()
            .filter(|(_, p)| p.contains(&night.to_string()))
            .map(|(i, _)| i)
            .collect();
        assert!(paths.len() >= 3, "re-delivered night {night} delivered once");
    }
    let rows = |t: &str| summary.rows.get(t).copied().unwrap_or(0);
    assert!(rows("complaints") > 4000, "complaints: {}", rows("complaints"));
    assert!(rows("complaint_events") > 15000);
    assert!(rows("inspections") > 1000);
    Ok(())
}

#[test]
fn tricky_cases_fit_in_a_short_run() -> Result<(), DemoError> {
    let summary = run(
        &DemoOptions {
            nights: 62,
            ..DemoOptions::demo()
        },
        |_| {},
    )?;
    let absent = summary.absent_cases();
    assert!(absent.is_empty(), "absent in 62 nights: {absent:?}");
    Ok(())
}

/// National scale, for timing: `cargo test --release --test it national -- --ignored --nocapture`.
#[test]
#[ignore]
fn national_scale_generation_time() -> Result<(), DemoError> {
    let start = std::time::Instant::now();
    let mut bytes = 0u64;
    let summary = run(&DemoOptions::national(), |f| bytes += f.bytes.len() as u64)?;
    println!(
        "national: {:?}, {} files, {} bytes\n{summary}",
        start.elapsed(),
        summary.files,
        bytes
    );
    assert!(summary.absent_cases().is_empty(), "{:?}", summary.absent_cases());
    Ok(())
}

/// Generation time of the default demo alone (no checks, files dropped).
#[test]
#[ignore]
fn demo_generation_time() -> Result<(), DemoError> {
    let start = std::time::Instant::now();
    let summary = run(&DemoOptions::demo(), |_| {})?;
    println!("demo: {:?}, {} files, {} bytes", start.elapsed(), summary.files, summary.bytes);
    assert!(summary.absent_cases().is_empty());
    Ok(())
}

/// Writes the default demo landing under `$WASNAKER_DEMO_DIR` (for a look by hand).
#[test]
#[ignore]
fn write_demo_landing() -> Result<(), DemoError> {
    let Some(dir) = std::env::var_os("WASNAKER_DEMO_DIR") else {
        return Ok(());
    };
    let root = std::path::PathBuf::from(dir);
    let summary = generate(&DemoOptions::demo(), &mut wasnaker::demo::dir_sink(&root))?;
    println!("{summary}");
    assert!(root.join("inspection/2026-11-27/_DONE").is_file());
    Ok(())
}
