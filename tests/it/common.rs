//! Shared fixtures: a landing area built from small hand-written extracts.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use wasnaker::clock::FixedClock;
use wasnaker::ingest::pseudonym::Pseudonymiser;
use wasnaker::ingest::{IngestOptions, IngestReport, NoProgress};
use wasnaker::lake::ledger::Ledger;
use wasnaker::storage::Location;

pub const KEY: &[u8] = b"test-key-0123456789abcdef0123456789abcdef";

pub const COMPANIES: &str =
    "company_id,nib,name,province_code,regency_code,kbli_section,size_class,workers_total,wlkp_registered,updated_at
CMP-0000001,1234567890123,PT Maju Jaya,31,3171,C,BESAR,120,true,2026-10-01T09:00:00+07:00
CMP-0000002,,CV Dua Saudara,32,3201,G,KECIL,15,false,2026-10-02T10:00:00+07:00
";
pub const INSPECTORS: &str = "inspector_id,nip,name,province_code,rank,is_ppns,active,updated_at
INS-00001,199001012020011001,Budi Santosa Sintetis,31,MUDA,false,true,2026-09-01T08:00:00+07:00
INS-00002,199202022021012002,Wati Rahayu Sintetis,32,PERTAMA,true,true,2026-09-01T08:00:00+07:00
";
pub const COMPLAINTS: &str = "complaint_id,received_at,channel,reporter_type,union_name,complainant_name,complainant_nik,complainant_phone,company_id,province_code,violation_code,workers_affected,description,updated_at
ADU-2026-0000001,2026-10-02T09:00:00+07:00,ONLINE,WORKER,,Siti Aminah Sintetis,9901010101010001,+62 812 0000 0001,CMP-0000001,31,THR,12,\"THR belum dibayar, hubungi Siti di +62 812 0000 0001\",2026-10-02T09:00:00+07:00
ADU-2026-0000002,2026-10-02T23:30:00Z,HOTLINE,ANONYMOUS,,,,,,32,K3,,,2026-10-02T23:30:00Z
";
pub const EVENTS: &str = "event_id,complaint_id,event_at,status,inspector_id
EVT-000000001,ADU-2026-0000001,2026-10-02T09:00:00+07:00,RECEIVED,
EVT-000000002,ADU-2026-0000001,2026-10-03T10:00:00+07:00,ASSIGNED,INS-00001
";
pub const INSPECTIONS: &str = "inspection_id,company_id,inspector_id,visit_date,inspection_type,complaint_id,findings,outcome
INSP-0000001,CMP-0000001,INS-00001,2026-10-03,ROUTINE,,0,COMPLIANT
";
pub const EMPLOYERS: &str = r#"{"npp":"12345678","nib":"1234567890123","employer_name":"PT Maju Jaya","province_code":"31","kbli":"10110","status":"ACTIVE","registered_workers":100,"programs":["JKK","JHT"],"arrears_months":0,"arrears_amount_idr":0,"registered_on":"2020-01-15"}
{"npp":"87654321","employer_name":"PT Papua Sejahtera","province_code":"94","kbli":null,"status":"ACTIVE","registered_workers":40,"programs":[],"arrears_months":4,"arrears_amount_idr":12000000,"registered_on":"2019-05-01"}
"#;
pub const CONTRIBUTIONS: &str = r#"{"npp":"12345678","period":"2026-09","workers_reported":100,"wage_total_idr":500000000,"contribution_idr":25000000,"paid_at":"2026-10-01T10:00:00+07:00"}
"#;

/// Personal values used in the fixtures; none may appear in clear anywhere.
pub const PERSONAL: &[&str] = &[
    "Siti Aminah Sintetis",
    "9901010101010001",
    "+62 812 0000 0001",
    "199001012020011001",
    "Budi Santosa Sintetis",
    "199202022021012002",
    "Wati Rahayu Sintetis",
    "THR belum dibayar",
];

pub fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

pub fn sha256(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// How to write `_DONE`.
#[derive(Clone, Debug)]
pub enum Done {
    /// Empty `_DONE`.
    Empty,
    /// Checksums of the files as written.
    Sums,
    /// This exact text.
    Text(String),
    /// No `_DONE` at all.
    Missing,
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub landing: PathBuf,
    pub lake: PathBuf,
    pub work: PathBuf,
}

impl Fixture {
    pub fn new() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let landing = dir.path().join("landing");
        let lake = dir.path().join("lake");
        let work = dir.path().join("work");
        for d in [&landing, &lake, &work] {
            std::fs::create_dir_all(d).unwrap();
        }
        Fixture { dir, landing, lake, work }
    }

    pub fn night_dir(&self, system: &str, night: &str) -> PathBuf {
        self.landing.join(system).join(night)
    }

    /// Write a night with the given (file name, raw bytes as stored) pairs.
    pub fn write_raw(&self, system: &str, night: &str, files: &[(&str, Vec<u8>)], done: Done) {
        let dir = self.night_dir(system, night);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in files {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
        let text = match done {
            Done::Empty => Some(String::new()),
            Done::Sums => Some(
                files
                    .iter()
                    .filter(|(n, _)| n.ends_with(".gz"))
                    .map(|(n, b)| format!("{}  {n}\n", sha256(b)))
                    .collect(),
            ),
            Done::Text(t) => Some(t),
            Done::Missing => None,
        };
        if let Some(t) = text {
            std::fs::write(dir.join("_DONE"), t).unwrap();
        }
    }

    /// Write a night from plain-text contents (gzip applied).
    pub fn write(&self, system: &str, night: &str, files: &[(&str, &str)], done: Done) {
        let raw: Vec<(&str, Vec<u8>)> = files.iter().map(|(n, c)| (*n, gz(c.as_bytes()))).collect();
        self.write_raw(system, night, &raw, done);
    }

    /// The standard inspection night, with replacements.
    pub fn inspection(&self, night: &str, replace: &[(&str, &str)], done: Done) {
        let files = merge(
            &[
                ("companies.csv.gz", COMPANIES),
                ("inspectors.csv.gz", INSPECTORS),
                ("complaints.csv.gz", COMPLAINTS),
                ("complaint_events.csv.gz", EVENTS),
                ("inspections.csv.gz", INSPECTIONS),
            ],
            replace,
        );
        self.write("inspection", night, &files, done);
    }

    /// The standard insurance night, with replacements.
    pub fn insurance(&self, night: &str, replace: &[(&str, &str)], done: Done) {
        let files = merge(
            &[("employers.jsonl.gz", EMPLOYERS), ("contributions.jsonl.gz", CONTRIBUTIONS)],
            replace,
        );
        self.write("insurance", night, &files, done);
    }

    pub fn landing_loc(&self) -> Location {
        Location::parse(self.landing.to_str().unwrap()).unwrap()
    }

    pub fn lake_loc(&self) -> Location {
        Location::parse(self.lake.to_str().unwrap()).unwrap()
    }

    pub async fn ingest_at(&self, now: DateTime<Utc>, opts: IngestOptions) -> IngestReport {
        wasnaker::ingest::ingest(
            &self.landing_loc(),
            &self.lake_loc(),
            Some(Arc::new(Pseudonymiser::new(KEY))),
            &self.work,
            &FixedClock(now),
            36,
            &opts,
            &NoProgress,
        )
        .await
        .unwrap()
    }

    pub async fn ingest(&self) -> IngestReport {
        self.ingest_at("2026-12-01T00:00:00Z".parse().unwrap(), IngestOptions::default())
            .await
    }

    pub async fn ledger(&self) -> Ledger {
        Ledger::load(&self.lake_loc()).await.unwrap()
    }

    /// Every file under the lake, relative path → bytes.
    pub fn lake_files(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        walk(&self.lake, &self.lake, &mut out);
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(root, &p, out);
        } else {
            out.push((
                p.strip_prefix(root).unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            ));
        }
    }
}

fn merge<'a>(base: &[(&'a str, &'a str)], replace: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut files: Vec<(&str, &str)> = base.to_vec();
    for (n, c) in replace {
        match files.iter_mut().find(|(f, _)| f == n) {
            Some(slot) => slot.1 = c,
            None => files.push((n, c)),
        }
    }
    files.retain(|(_, c)| *c != REMOVE);
    files
}

/// Use as a replacement content to leave a file out.
pub const REMOVE: &str = "\u{0}remove";

pub fn date(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Run a SQL query on the lake views and return the rows as CSV text.
pub async fn query_csv(lake: &Location, sql: &str, month: Option<&str>, as_of: Option<&str>) -> String {
    let ledger = Ledger::load(lake).await.unwrap();
    let opts = wasnaker::lake::context::ViewOptions {
        month: month.map(|m| m.parse().unwrap()),
        as_of: as_of.map(date),
        allow_stale_snapshot: true,
        ..Default::default()
    };
    let views = wasnaker::lake::context::open(&wasnaker::engine::Engine::Local, lake, &ledger, &opts)
        .await
        .unwrap();
    let batches = views.ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let mut buf = Vec::new();
    {
        let mut w = arrow::csv::WriterBuilder::new().with_header(true).build(&mut buf);
        for b in &batches {
            w.write(b).unwrap();
        }
    }
    String::from_utf8(buf).unwrap()
}

/// Complaint events of a later night: a follow-up of complaint 1 and the
/// RECEIVED event of complaint 2, so the report has more than zeros.
pub const EVENTS_LATE: &str = "event_id,complaint_id,event_at,status,inspector_id
EVT-000000003,ADU-2026-0000001,2026-10-20T10:00:00+07:00,INSPECTED,INS-00001
EVT-000000004,ADU-2026-0000002,2026-10-03T06:30:00Z,RECEIVED,
";

/// Both systems on 2026-10-03 and 2026-10-31: a lake that can report October.
pub fn october_landing(f: &Fixture) {
    for night in ["2026-10-03", "2026-10-31"] {
        let events = if night == "2026-10-31" { EVENTS_LATE } else { EVENTS };
        f.inspection(night, &[("complaint_events.csv.gz", events)], Done::Empty);
        f.insurance(night, &[], Done::Empty);
    }
}

/// The path of this checkout's `queries/`.
pub fn queries_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("queries")
}

/// Principal of the test signing key.
pub const SIGNER: &str = "wasnaker-test";

pub fn test_signer() -> wasnaker::publish::Signer {
    wasnaker::publish::Signer::generate_demo([7; 32], SIGNER)
}

/// Write `<fixture>/<name>` for reporting over the fixture's lake (this
/// checkout's queries, a signing key, `publish` as the publish root, and
/// `report_extra` lines in `[report]`); returns its path and the loaded config.
pub fn report_config(f: &Fixture, name: &str, publish: &str, report_extra: &str) -> (PathBuf, wasnaker::config::Config) {
    let dir = f.dir.path();
    std::fs::write(dir.join("pseudonym.key"), KEY).unwrap();
    let key = dir.join("signing_ed25519");
    if !key.exists() {
        test_signer().write_private_openssh(&key).unwrap();
    }
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "[locations]\nlanding = \"landing\"\nlake = \"lake\"\npublish = {publish:?}\n\n[pseudonymisation]\nkey_file = \"pseudonym.key\"\n\n\
             [ingest]\nwork_dir = \"work\"\nlate_after_hours = 100000\n\n[report]\nqueries_dir = {:?}\n{report_extra}\n\n\
             [signing]\nkey_file = \"signing_ed25519\"\n",
            queries_dir().to_string_lossy()
        ),
    )
    .unwrap();
    let cfg = wasnaker::config::Config::load(&path).unwrap();
    (path, cfg)
}

/// Every file under `root`, relative path → bytes, sorted.
pub fn tree(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The first line of a command's stderr that starts with `prefix`.
pub fn line_starting<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    text.lines().find(|l| l.starts_with(prefix))
}

/// How many bundle files a recomputation found byte-identical.
pub fn recomputed_identical(report: &wasnaker::verify::VerifyReport) -> usize {
    use wasnaker::verify::{CheckKind, Status};
    report
        .checks
        .iter()
        .filter(|c| c.kind == CheckKind::Recompute && c.status == Status::Passed)
        .count()
}
