//! The synthetic landing generator behind `wasnaker demo` and the tests.
//!
//! It writes what the two upstream systems would deliver night after night
//! (see `spec/extracts.md`): for each night the five inspection files and the
//! two insurance files, gzip-compressed, then `_DONE` last. The data is
//! invented but shaped like the real thing, so that every figure of the
//! monthly report has something to show: most complaints come from the five
//! big Java provinces, THR complaints spike around Eid, some provinces follow
//! up slowly or never, inspectors fall short of need, employers run arrears.
//! Every tricky-but-valid situation the contract allows is placed somewhere
//! and listed in [`DemoSummary`] (late and orphan events, re-sends, missing and
//! re-delivered nights, BOMs, CRLF, reordered columns, several gzip members,
//! timestamps in `Z`, `+08:00` and `+09:00`, ...).
//!
//! What it must never do:
//! - produce a row that breaks the contract (broken deliveries are the tests'
//!   business) or an extra column (that warns);
//! - produce a NIK that could be a real person's (all start with `99`) or a
//!   real-looking mobile number (all are `+62 800-...`);
//! - depend on anything but its options: no wall clock, no hash-map order, no
//!   platform maths; the same options give byte-identical files;
//! - hold more than one generated file at a time (entities are recomputed from
//!   the seed each night instead of stored);
//! - be used by anything but the `demo` command and the tests.
//!
//! Usage: `generate(&DemoOptions::demo(), &mut |file| { /* store it */ Ok(()) })`.
//! Files arrive in night order; within a night and system the contract files
//! first and `_DONE` last; a re-delivered night arrives a second time (same
//! paths, `_DONE` with checksums) after at least one later night.

mod complaints;
mod encode;
mod error;
mod reference;
mod registry;
pub(crate) mod rng;
pub mod run;
mod summary;
mod text;
mod time;

use chrono::NaiveDate;
use flate2::Compression;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use complaints::{CaseSet, ComplaintRow, NightRows, Sim, Status};
use encode::{CsvFile, CsvStyle, JsonlFile, NullForm, Rec, done_with_checksums, sha256_hex};
use reference::{Reference, is_eid_holiday};
use registry::{Employer, RANKS, Registry, SIZE_CLASSES, section_letter};
use rng::h;
use time::{TsStyle, WIT, WITA, date_of, day_of, days_from_civil, jkt_day, jkt_ms, month_of};

pub use error::DemoError;
pub use summary::{CasePlace, CaseReport, DemoSummary, EXAMPLES_PER_CASE, System, SystemNights, TrickyCase};

/// How big the generated world is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// Small and quick (≈3,000 companies, 8,000 employers, 150 inspectors,
    /// ≈3,000 complaints a year): what `wasnaker demo` and the tests use.
    Demo,
    /// Indonesia's size (≈300,000 companies, 850,000 employers, 1,500
    /// inspectors, 50,000 complaints a year): for benchmarks.
    National,
}

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoOptions {
    /// Seed of every random choice.
    pub seed: u64,
    pub scale: Scale,
    /// Multiplies companies, employers, inspectors and complaints (1 = as
    /// specified), for benchmarks; 1..=60.
    pub multiplier: u32,
    /// Extract date of the first night.
    pub first_night: NaiveDate,
    /// Number of consecutive nights (missing ones included); 30..=3660.
    pub nights: u32,
}

impl DemoOptions {
    /// The default demo: seed 20261, 2025-08-01 .. 2026-11-27 (16 months).
    pub fn demo() -> Self {
        DemoOptions {
            seed: 20261,
            scale: Scale::Demo,
            multiplier: 1,
            first_night: date_of(days_from_civil(2025, 8, 1)),
            nights: 484,
        }
    }

    /// National scale over 62 nights, 2026-09-27 .. 2026-11-27.
    pub fn national() -> Self {
        DemoOptions {
            seed: 20261,
            scale: Scale::National,
            multiplier: 1,
            first_night: date_of(days_from_civil(2026, 9, 27)),
            nights: 62,
        }
    }

    /// Extract date of the last night.
    pub fn last_night(&self) -> NaiveDate {
        date_of(day_of(self.first_night) + i64::from(self.nights) - 1)
    }

    fn validate(&self) -> Result<(), DemoError> {
        if !(1..=60).contains(&self.multiplier) {
            return Err(DemoError::InvalidOptions {
                option: "multiplier",
                reason: format!("{} is outside 1..=60 (ids are fixed width)", self.multiplier),
            });
        }
        let companies = match self.scale {
            Scale::Demo => 3_000u64,
            Scale::National => 300_000,
        } * u64::from(self.multiplier);
        if companies > 9_999_999 {
            return Err(DemoError::InvalidOptions {
                option: "multiplier",
                reason: format!(
                    "{} companies do not fit the 7-digit company ids; at national scale use at most 33",
                    companies
                ),
            });
        }
        if !(30..=3660).contains(&self.nights) {
            return Err(DemoError::InvalidOptions {
                option: "nights",
                reason: format!("{} is outside 30..=3660 (every tricky case needs about a month)", self.nights),
            });
        }
        let first = day_of(self.first_night);
        if first < days_from_civil(2010, 1, 1) || first > days_from_civil(2090, 1, 1) {
            return Err(DemoError::InvalidOptions {
                option: "first_night",
                reason: format!("{} is outside 2010-01-01 ..= 2090-01-01", self.first_night),
            });
        }
        Ok(())
    }
}

/// One generated file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    /// Path relative to the landing root, e.g. `inspection/2026-10-03/companies.csv.gz`.
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Everything derived from the options.
pub(crate) struct Params {
    pub seed: u64,
    pub first_day: i64,
    pub last_day: i64,
    /// Start of the history (three years before the first night).
    pub sim_start: i64,
    /// First day with complaints (a year before the first night).
    pub complaints_start: i64,
    /// First contribution period (month index), three months before the first night.
    pub contributions_start: i64,
    pub n_companies: u32,
    pub n_employers: u32,
    pub n_inspectors: u32,
    pub complaints_per_year: f64,
    /// Scales registered workers at demo scale, where a few thousand employers
    /// stand for a country: keeps the inspector need above the inspectors.
    pub workers_factor: u32,
    pub level: Compression,
}

impl Params {
    fn new(o: &DemoOptions) -> Self {
        let m = o.multiplier;
        let (companies, employers, inspectors, complaints, factor) = match o.scale {
            Scale::Demo => (3_000, 8_000, 150, 3_000.0, 8),
            Scale::National => (300_000, 850_000, 1_500, 50_000.0, 1),
        };
        let first_day = day_of(o.first_night);
        Params {
            seed: o.seed,
            first_day,
            last_day: first_day + i64::from(o.nights) - 1,
            sim_start: first_day - 3 * 365 - 1,
            complaints_start: first_day - 365,
            contributions_start: month_of(first_day) - 3,
            n_companies: companies * m,
            n_employers: employers * m,
            n_inspectors: inspectors * m,
            complaints_per_year: complaints * f64::from(m),
            workers_factor: factor,
            level: Compression::fast(),
        }
    }
}

const COMPANIES: &[&str] = &[
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
];
const INSPECTORS: &[&str] = &[
    "inspector_id",
    "nip",
    "name",
    "province_code",
    "rank",
    "is_ppns",
    "active",
    "updated_at",
];
const COMPLAINTS: &[&str] = &[
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
];
const EVENTS: &[&str] = &["event_id", "complaint_id", "event_at", "status", "inspector_id"];
const INSPECTIONS: &[&str] = &[
    "inspection_id",
    "company_id",
    "inspector_id",
    "visit_date",
    "inspection_type",
    "complaint_id",
    "findings",
    "outcome",
];
const EMPLOYERS: &[&'static str] = &[
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
    "registered_on",
];
const CONTRIBUTIONS: &[&'static str] = &["npp", "period", "workers_reported", "wage_total_idr", "contribution_idr", "paid_at"];
const EMPLOYER_STATUS: [&str; 3] = ["ACTIVE", "INACTIVE", "SUSPENDED"];

const T_NULLFORM: u64 = 101;
const T_PAIDSTYLE: u64 = 102;

/// Special nights, as day numbers.
#[derive(Debug, Clone)]
struct NightPlan {
    missing_both: i64,
    missing_inspection: i64,
    missing_insurance: i64,
    quiet: i64,
    /// (night, emitted again after this night)
    redeliver_inspection: (i64, i64),
    redeliver_insurance: (i64, i64),
}

impl NightPlan {
    fn new(p: &Params) -> Self {
        let n = p.last_day - p.first_day + 1;
        let at = |k: i64| p.first_day + k;
        let mut used: BTreeSet<i64> = BTreeSet::new();
        let take = |mut d: i64, used: &mut BTreeSet<i64>| {
            while used.contains(&d) || used.contains(&(d - 1)) || used.contains(&(d + 1)) {
                d += 1;
            }
            used.insert(d);
            d
        };
        let quiet_eid = (p.first_day + 1..p.last_day - 1).find(|&d| is_eid_holiday(d));
        let quiet = take(quiet_eid.unwrap_or(at(n / 5)), &mut used);
        let missing_both = take(at(n * 3 / 10), &mut used);
        let redeliver_inspection = take(at(n * 2 / 5), &mut used);
        // An inspection night missing on the last day of a month.
        let month_end =
            (at(n / 2)..at(n * 7 / 10)).find(|&d| time::civil(d + 1).1 != time::civil(d).1 && !used.iter().any(|u| (u - d).abs() <= 1));
        let missing_inspection = take(month_end.unwrap_or(at(n * 11 / 20)), &mut used);
        let redeliver_insurance = take(at(n * 13 / 20), &mut used);
        let missing_insurance = take(at(n * 3 / 4), &mut used);
        NightPlan {
            missing_both,
            missing_inspection,
            missing_insurance,
            quiet,
            redeliver_inspection: (redeliver_inspection, redeliver_inspection + 2),
            redeliver_insurance: (redeliver_insurance, redeliver_insurance + 3),
        }
    }

    fn missing(&self, system: System, day: i64) -> bool {
        day == self.missing_both
            || match system {
                System::Inspection => day == self.missing_inspection,
                System::Insurance => day == self.missing_insurance,
            }
    }
}

/// CSV style of an inspection file (`file` 0..5) on night index `idx`.
fn csv_style(idx: i64, file: i64) -> CsvStyle {
    let bom = (idx + file) % 9 == 4;
    CsvStyle {
        bom,
        crlf: idx % 11 == 6,
        reorder: idx % 29 == 13,
        all_quoted: idx % 31 == 17,
        blank_line_before_header: !bom && idx % 37 == 20,
        no_final_newline: (idx + file) % 41 == 11,
        multi_member: (file == 3 && idx % 17 == 8) || (file == 0 && idx % 34 == 25),
    }
}

/// Changes between the first delivery of a re-delivered night and the second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    Ordinary,
    /// First delivery of a night that will be re-delivered (has the mistakes).
    Flawed,
    /// The corrected re-delivery.
    Corrected,
}

struct Writer<'s, 'r> {
    reg: &'r Registry<'r>,
    sink: &'s mut dyn FnMut(GeneratedFile) -> Result<(), DemoError>,
    cases: summary::CaseLog,
    rows: BTreeMap<&'static str, u64>,
    last_snapshot_rows: BTreeMap<&'static str, u64>,
    files: u64,
    bytes: u64,
    emitted_complaints: BTreeSet<String>,
    complaints_with_events: BTreeSet<String>,
    emitted_events: BTreeSet<u64>,
    emitted_inspections: BTreeSet<u64>,
    first_snapshot: [bool; 2],
    /// The night being written lists checksums in its `_DONE`.
    need_sums: bool,
    /// Size of each file the last time it was written.
    last_size: BTreeMap<&'static str, usize>,
    rec: Rec,
}

/// Context of one night's writing.
#[derive(Clone, Copy)]
struct Night {
    system: System,
    day: i64,
    idx: i64,
    delivery: Delivery,
    /// Previous delivered night of the same system.
    prev: Option<i64>,
}

impl Night {
    fn date(&self) -> NaiveDate {
        date_of(self.day)
    }
    fn path(&self, file: &str) -> String {
        format!("{}/{}/{}", self.system.dir(), self.date(), file)
    }
    fn redelivery(&self) -> bool {
        self.delivery == Delivery::Corrected
    }
}

fn company_id(i: u32) -> String {
    format!("CMP-{:07}", u64::from(i) + 1)
}
fn inspector_id(j: u32) -> String {
    format!("INS-{:05}", u64::from(j) + 1)
}

fn special_text(s: &str) -> bool {
    s.contains([',', '"', '\n'])
}
fn formula_like(s: &str) -> bool {
    s.starts_with(['=', '+', '-', '@'])
}

impl<'s, 'r> Writer<'s, 'r> {
    fn note(&mut self, case: TrickyCase, n: &Night, file: &'static str, key: impl FnOnce() -> Option<String>) {
        self.cases.record(case, n.system, n.date(), n.redelivery(), file, key);
    }

    /// Output buffer to reserve for a file: a little more than last time,
    /// rounded up to a power of two so that night after night the same size
    /// is asked for (a buffer growing by a few bytes each night would never
    /// fit the hole the previous one left, and the heap would grow by a file
    /// per night).
    fn capacity(&self, file: &'static str) -> usize {
        self.last_size.get(file).map_or(0, |n| (n + n / 8 + 4096).next_power_of_two())
    }

    fn emit(&mut self, path: String, bytes: Vec<u8>) -> Result<(), DemoError> {
        self.files += 1;
        self.bytes += bytes.len() as u64;
        (self.sink)(GeneratedFile { path, bytes })
    }

    /// Finish a table file: count, checksum, emit. Returns its checksum.
    fn finish_table(
        &mut self,
        n: &Night,
        table: &'static str,
        file: &'static str,
        snapshot: bool,
        multi_member: bool,
        done: (String, Vec<u8>, u64),
    ) -> Result<(&'static str, String), DemoError> {
        let (path, bytes, rows) = done;
        *self.rows.entry(table).or_insert(0) += rows;
        if snapshot {
            self.last_snapshot_rows.insert(table, rows);
        } else if rows == 0 {
            self.note(TrickyCase::HeaderOnlyIncremental, n, file, || None);
        }
        if multi_member {
            self.note(TrickyCase::GzipMultiMember, n, file, || None);
            self.note(TrickyCase::GzipEmptyMember, n, file, || None);
        }
        self.last_size.insert(file, bytes.len());
        // Checksums are only needed on nights whose _DONE lists them.
        let sum = if self.need_sums { sha256_hex(&bytes) } else { String::new() };
        self.emit(path, bytes)?;
        Ok((file, sum))
    }

    fn csv(&mut self, n: &Night, file: &'static str, columns: &[&str], style: CsvStyle) -> Result<CsvFile, DemoError> {
        if n.system == System::Inspection {
            let flags = [
                (style.bom, TrickyCase::CsvBom),
                (style.crlf, TrickyCase::CsvCrlf),
                (style.reorder, TrickyCase::CsvColumnOrder),
                (style.all_quoted, TrickyCase::CsvAllFieldsQuoted),
                (style.blank_line_before_header, TrickyCase::CsvBlankLineBeforeHeader),
                (style.no_final_newline, TrickyCase::CsvNoFinalNewline),
            ];
            for (on, case) in flags {
                if on {
                    self.note(case, n, file, || None);
                }
            }
        }
        CsvFile::new(n.path(file), columns, style, self.reg.p.level, self.capacity(file))
    }

    fn write_done(&mut self, n: &Night, sums: &[(&'static str, String)], checksums: bool, blank: bool) -> Result<(), DemoError> {
        let body = if checksums {
            self.note(TrickyCase::DoneChecksums, n, "_DONE", || None);
            let binary: Vec<bool> = match (n.redelivery(), n.system) {
                (true, System::Inspection) => vec![true; sums.len()],
                (true, System::Insurance) => vec![false, true],
                _ => Vec::new(),
            };
            if binary.iter().any(|b| *b) {
                self.note(TrickyCase::DoneBinaryMode, n, "_DONE", || None);
            }
            let entries: Vec<(&str, String)> = sums.iter().map(|(f, s)| (*f, s.clone())).collect();
            done_with_checksums(&entries, &binary)
        } else if blank {
            self.note(TrickyCase::DoneBlankLines, n, "_DONE", || None);
            b"\n\n".to_vec()
        } else {
            self.note(TrickyCase::DoneEmpty, n, "_DONE", || None);
            Vec::new()
        };
        self.emit(n.path("_DONE"), body)
    }

    // ----- inspection -----

    fn inspection_night(
        &mut self,
        n: &Night,
        rows: &NightRows,
        sim: &mut Sim,
        last_complaints: &BTreeMap<String, ComplaintRow>,
    ) -> Result<(), DemoError> {
        let style_idx = if n.redelivery() { n.idx + 7 } else { n.idx };
        let checksums = n.redelivery() || n.idx % 6 == 2;
        self.need_sums = checksums;
        let mut sums = Vec::new();
        sums.push(self.companies(n, csv_style(style_idx, 0))?);
        sums.push(self.inspectors(n, csv_style(style_idx, 1))?);
        sums.push(self.complaints(n, csv_style(style_idx, 2), rows, last_complaints)?);
        sums.push(self.events(n, csv_style(style_idx, 3), rows, sim)?);
        sums.push(self.inspections(n, csv_style(style_idx, 4), rows)?);
        self.write_done(n, &sums, checksums, n.idx % 23 == 7)?;
        self.first_snapshot[0] = false;
        Ok(())
    }

    fn companies(&mut self, n: &Night, style: CsvStyle) -> Result<(&'static str, String), DemoError> {
        const F: &str = "companies.csv.gz";
        let reg = self.reg;
        let first = self.first_snapshot[0];
        let mut f = self.csv(n, F, COMPANIES, style)?;
        let count = reg.companies.count(n.day);
        let employers = reg.employers.count(n.day);
        let typo = 30u32;
        for i in 0..count {
            let c = reg.company(i);
            let (updated, workers, size) = reg.company_version(&c, n.day);
            let rec = &mut self.rec;
            rec.clear();
            rec.str(0, &company_id(i));
            rec.opt(1, c.nib.as_deref());
            if n.delivery == Delivery::Flawed && i == typo {
                rec.str(2, &c.name.replace(' ', "  "));
            } else {
                rec.str(2, &c.name);
            }
            let prov = &reg.r.provinces[c.province].code;
            rec.str(3, prov);
            {
                use std::fmt::Write as _;
                let _ = write!(rec.text(4), "{prov}{:02}", c.regency);
            }
            match c.section {
                Some(s) => rec.text(5).push(section_letter(s)),
                None => rec.null(5),
            }
            rec.str(6, SIZE_CLASSES[size]);
            rec.opt_int(7, workers.map(u64::from));
            rec.bool(8, c.wlkp);
            rec.ts(9, updated, TsStyle::JAKARTA);
            f.write(&self.rec)?;
            if n.delivery == Delivery::Corrected && i == typo {
                self.note(TrickyCase::CorrectedInRedelivery, n, F, || Some(company_id(i)));
            }
            if first {
                if special_text(&c.name) {
                    self.note(TrickyCase::QuotedSpecialCharacters, n, F, || Some(company_id(i)));
                }
                if formula_like(&c.name) {
                    self.note(TrickyCase::FormulaLikeText, n, F, || Some(company_id(i)));
                }
                let has_employer = i < employers && reg.employer(i).core.linked && c.nib.is_some();
                if !has_employer {
                    self.note(TrickyCase::CompanyWithoutEmployer, n, F, || Some(company_id(i)));
                }
            }
        }
        let done = f.finish()?;
        self.finish_table(n, "companies", F, true, style.multi_member, done)
    }

    fn inspectors(&mut self, n: &Night, style: CsvStyle) -> Result<(&'static str, String), DemoError> {
        const F: &str = "inspectors.csv.gz";
        let reg = self.reg;
        let end = time::jkt_day_end(n.day);
        let mut f = self.csv(n, F, INSPECTORS, style)?;
        let mut active_in = vec![false; reg.r.provinces.len()];
        for (j, ins) in reg.inspectors.iter().enumerate() {
            if ins.join_ms > end {
                continue;
            }
            let active = ins.active_at(end);
            active_in[ins.province] |= active;
            let updated = match ins.leave_ms {
                Some(l) if l <= end => l,
                _ => ins.join_ms,
            };
            let rec = &mut self.rec;
            rec.clear();
            rec.str(0, &inspector_id(j as u32));
            rec.str(1, &ins.nip);
            rec.str(2, &ins.name);
            rec.str(3, &reg.r.provinces[ins.province].code);
            rec.str(4, RANKS[ins.rank]);
            rec.bool(5, ins.ppns);
            rec.bool(6, active);
            rec.ts(7, updated, TsStyle::JAKARTA);
            f.write(&self.rec)?;
        }
        if self.first_snapshot[0] {
            for (pi, on) in active_in.iter().enumerate() {
                if !on {
                    let code = reg.r.provinces[pi].code.clone();
                    self.note(TrickyCase::ProvinceWithoutActiveInspector, n, F, || Some(code));
                }
            }
        }
        let done = f.finish()?;
        self.finish_table(n, "inspectors", F, true, style.multi_member, done)
    }

    fn complaints(
        &mut self,
        n: &Night,
        style: CsvStyle,
        rows: &NightRows,
        last_complaints: &BTreeMap<String, ComplaintRow>,
    ) -> Result<(&'static str, String), DemoError> {
        const F: &str = "complaints.csv.gz";
        let mut f = self.csv(n, F, COMPLAINTS, style)?;
        let mut list: Vec<(ComplaintRow, CaseSet)> = rows.complaints.values().cloned().collect();
        // The re-delivery corrects the first complaint of the night.
        if n.delivery == Delivery::Corrected {
            if let Some((c, tags)) = list.first_mut() {
                c.workers = Some(c.workers.map_or(2, |w| w + 2));
                *tags = tags.with(TrickyCase::CorrectedInRedelivery);
            }
        }
        // The first delivery wrongly re-sends a complaint of an earlier night.
        if n.delivery == Delivery::Flawed {
            if let Some(c) = last_complaints.values().find(|c| !rows.complaints.contains_key(&c.id)) {
                let mut c = c.clone();
                c.workers = Some(c.workers.map_or(40, |w| w * 10));
                c.updated_ms = jkt_ms(n.day, 11 * 3600);
                list.push((c, CaseSet::default().with(TrickyCase::ResendDroppedInRedelivery)));
            }
        }
        let reg = self.reg;
        for (c, tags) in &list {
            let rec = &mut self.rec;
            rec.clear();
            rec.str(0, &c.id);
            rec.ts(1, c.received_ms, c.received_style);
            rec.str(2, c.channel);
            rec.str(3, c.reporter);
            rec.opt(4, c.union_name.as_deref());
            rec.opt(5, c.name.as_deref());
            rec.opt(6, c.nik.as_deref());
            rec.opt(7, c.phone.as_deref());
            match c.company {
                Some(i) => rec.str(8, &company_id(i)),
                None => rec.null(8),
            }
            rec.str(9, &reg.r.provinces[c.province].code);
            rec.str(10, &reg.r.violations[c.violation]);
            rec.opt_int(11, c.workers.map(u64::from));
            rec.opt(12, c.description.as_deref());
            rec.ts(13, c.updated_ms, TsStyle::JAKARTA);
            f.write(&self.rec)?;
            self.complaint_cases(n, c, *tags);
        }
        let done = f.finish()?;
        self.finish_table(n, "complaints", F, false, style.multi_member, done)
    }

    fn complaint_cases(&mut self, n: &Night, c: &ComplaintRow, tags: CaseSet) {
        const F: &str = "complaints.csv.gz";
        let key = || Some(c.id.clone());
        let seen = self.emitted_complaints.contains(&c.id);
        for case in [
            TrickyCase::PreviousMonthInJakarta,
            TrickyCase::PersonalDataInDescription,
            TrickyCase::ResendDroppedInRedelivery,
            TrickyCase::CorrectedInRedelivery,
        ] {
            if tags.has(case) {
                self.note(case, n, F, key);
            }
        }
        if tags.has(TrickyCase::CorrectedResend) && seen {
            self.note(TrickyCase::CorrectedResend, n, F, key);
        }
        if tags.has(TrickyCase::ComplaintRowAfterItsEvents) && !seen && self.complaints_with_events.contains(&c.id) {
            self.note(TrickyCase::ComplaintRowAfterItsEvents, n, F, key);
        }
        if c.company.is_none() {
            self.note(TrickyCase::NullCompanyId, n, F, key);
        }
        if c.reporter == "ANONYMOUS" {
            self.note(TrickyCase::AnonymousComplainant, n, F, key);
        }
        if c.description.as_deref().is_some_and(special_text) {
            self.note(TrickyCase::QuotedSpecialCharacters, n, F, key);
        }
        if c.union_name.as_deref().is_some_and(formula_like) {
            self.note(TrickyCase::FormulaLikeText, n, F, key);
        }
        self.timestamp_cases(n, F, c.received_ms, c.received_style, key);
        if n.delivery != Delivery::Flawed {
            self.emitted_complaints.insert(c.id.clone());
        }
    }

    fn timestamp_cases(&mut self, n: &Night, file: &'static str, ms: i64, style: TsStyle, key: impl Fn() -> Option<String>) {
        match style.offset_min {
            None => self.note(TrickyCase::TimestampZulu, n, file, &key),
            Some(WITA) => self.note(TrickyCase::TimestampWita, n, file, &key),
            Some(WIT) => self.note(TrickyCase::TimestampWit, n, file, &key),
            _ => {}
        }
        if style.millis || ms % 1000 != 0 {
            self.note(TrickyCase::FractionalSeconds, n, file, &key);
        }
    }

    fn events(&mut self, n: &Night, style: CsvStyle, rows: &NightRows, sim: &mut Sim) -> Result<(&'static str, String), DemoError> {
        const F: &str = "complaint_events.csv.gz";
        let mut f = self.csv(n, F, EVENTS, style)?;
        let ts_style = if n.idx % 13 == 5 { TsStyle::ZULU_MILLIS } else { TsStyle::JAKARTA };
        let mut list: Vec<(complaints::EventRow, CaseSet)> = rows.events.values().cloned().collect();
        if n.delivery == Delivery::Flawed {
            // A mistaken closing event that the re-delivery no longer has.
            if let Some(c) = rows.complaints.values().next() {
                let id = sim.alloc_event_id();
                let row = complaints::EventRow {
                    id,
                    complaint_id: c.0.id.clone(),
                    at_ms: jkt_ms(n.day, 10 * 3600).max(c.0.received_ms + 1),
                    status: Status::ClosedUnresolved,
                    inspector: None,
                    received_ms: c.0.received_ms,
                };
                list.push((row, CaseSet::default().with(TrickyCase::RowDroppedInRedelivery)));
            }
        }
        for (e, tags) in &list {
            let key = || Some(format!("EVT-{:09}", e.id));
            let rec = &mut self.rec;
            rec.clear();
            {
                use std::fmt::Write as _;
                let _ = write!(rec.text(0), "EVT-{:09}", e.id);
            }
            rec.str(1, &e.complaint_id);
            rec.ts(2, e.at_ms, ts_style);
            rec.str(3, e.status.code());
            match e.inspector {
                Some(j) => rec.str(4, &inspector_id(j)),
                None => rec.null(4),
            }
            f.write(&self.rec)?;
            for case in [
                TrickyCase::OrphanEvent,
                TrickyCase::ReopenedComplaint,
                TrickyCase::EqualEventTimestamps,
                TrickyCase::SkippedStages,
                TrickyCase::RowDroppedInRedelivery,
            ] {
                if tags.has(case) {
                    self.note(case, n, F, key);
                }
            }
            if tags.has(TrickyCase::CorrectedResend) && self.emitted_events.contains(&e.id) {
                self.note(TrickyCase::CorrectedResend, n, F, key);
            }
            if n.prev.is_some_and(|p| jkt_day(e.at_ms) <= p) && !self.emitted_events.contains(&e.id) {
                self.note(TrickyCase::LateEvent, n, F, key);
            }
            if e.at_ms < e.received_ms {
                self.note(TrickyCase::EventBeforeReceived, n, F, key);
            }
            self.timestamp_cases(n, F, e.at_ms, ts_style, key);
            if n.delivery != Delivery::Flawed {
                self.emitted_events.insert(e.id);
                self.complaints_with_events.insert(e.complaint_id.clone());
            }
        }
        let done = f.finish()?;
        self.finish_table(n, "complaint_events", F, false, style.multi_member, done)
    }

    fn inspections(&mut self, n: &Night, style: CsvStyle, rows: &NightRows) -> Result<(&'static str, String), DemoError> {
        const F: &str = "inspections.csv.gz";
        let mut f = self.csv(n, F, INSPECTIONS, style)?;
        let mut list: Vec<(complaints::InspectionRow, CaseSet)> = rows.inspections.values().cloned().collect();
        if n.delivery == Delivery::Corrected {
            if let Some((i, tags)) = list.last_mut() {
                i.findings += 1;
                if i.outcome == "COMPLIANT" {
                    i.outcome = "NOTA_1";
                }
                *tags = tags.with(TrickyCase::CorrectedInRedelivery);
            }
        }
        for (i, tags) in &list {
            let key = || Some(format!("PMR-{:08}", i.id));
            let rec = &mut self.rec;
            rec.clear();
            {
                use std::fmt::Write as _;
                let _ = write!(rec.text(0), "PMR-{:08}", i.id);
            }
            rec.str(1, &company_id(i.company));
            rec.str(2, &inspector_id(i.inspector));
            rec.date(3, i.visit_day);
            rec.str(4, i.kind);
            rec.opt(5, i.complaint_id.as_deref());
            rec.int(6, u64::from(i.findings));
            rec.str(7, i.outcome);
            f.write(&self.rec)?;
            if tags.has(TrickyCase::CorrectedResend) && self.emitted_inspections.contains(&i.id) {
                self.note(TrickyCase::CorrectedResend, n, F, key);
            }
            if tags.has(TrickyCase::CorrectedInRedelivery) {
                self.note(TrickyCase::CorrectedInRedelivery, n, F, key);
            }
            self.emitted_inspections.insert(i.id);
        }
        let done = f.finish()?;
        self.finish_table(n, "inspections", F, false, style.multi_member, done)
    }

    // ----- insurance -----

    fn insurance_night(&mut self, n: &Night) -> Result<(), DemoError> {
        let checksums = n.redelivery() || (n.idx + 3) % 6 == 2;
        self.need_sums = checksums;
        let mut sums = Vec::new();
        sums.push(self.employers(n)?);
        sums.push(self.contributions(n)?);
        self.write_done(n, &sums, checksums, (n.idx + 5) % 23 == 7)?;
        self.first_snapshot[1] = false;
        Ok(())
    }

    fn json_null_cases(&mut self, n: &Night, file: &'static str, form: NullForm, key: impl FnOnce() -> Option<String>) {
        let case = match form {
            NullForm::Explicit => TrickyCase::JsonExplicitNull,
            NullForm::Absent => TrickyCase::JsonAbsentKey,
        };
        self.note(case, n, file, key);
    }

    fn employers(&mut self, n: &Night) -> Result<(&'static str, String), DemoError> {
        const F: &str = "employers.jsonl.gz";
        let reg = self.reg;
        let p = reg.p;
        let reorder = n.idx % 19 == 3;
        if reorder {
            self.note(TrickyCase::JsonKeyOrderChanged, n, F, || None);
        }
        let first = self.first_snapshot[1];
        let multi = n.idx % 19 == 9;
        let mut f = JsonlFile::new(n.path(F), EMPLOYERS, reorder, multi, p.level, self.capacity(F));
        let count = reg.employers.count(n.day);
        let fix = 40u32.min(count.saturating_sub(1));
        for i in 0..count {
            let emp = reg.employer(i);
            let Employer {
                core: e,
                npp,
                nib,
                name,
                kbli,
                bps,
                parent_code,
            } = &*emp;
            let parent_code = *parent_code;
            let status = reg.employer_status(e, n.day);
            let (arrears_months, mut arrears_amount) = reg.arrears(e, n.day);
            if n.delivery == Delivery::Flawed && i == fix {
                arrears_amount += 1_000_000;
            }
            let programs = reg.programs_json(e, n.day, status);
            let rec = &mut self.rec;
            rec.clear();
            rec.str(0, npp);
            rec.opt(1, nib.as_deref());
            rec.str(2, name);
            rec.str(3, bps);
            rec.opt(4, kbli.as_deref());
            rec.str(5, EMPLOYER_STATUS[status]);
            rec.int(6, u64::from(reg.employer_workers(e, n.day)));
            rec.raw(7, &programs);
            rec.int(8, arrears_months);
            rec.int(9, arrears_amount);
            rec.date(10, e.reg_day);
            let has_null = nib.is_none() || kbli.is_none();
            let form = if h(p.seed, T_NULLFORM, u64::from(i), n.day as u64) % 2 == 0 {
                NullForm::Explicit
            } else {
                NullForm::Absent
            };
            f.write(&self.rec, form)?;
            let key = || Some(npp.clone());
            if n.delivery == Delivery::Corrected && i == fix {
                self.note(TrickyCase::CorrectedInRedelivery, n, F, key);
            }
            if first {
                if has_null {
                    self.json_null_cases(n, F, form, key);
                }
                if nib.is_none() {
                    self.note(TrickyCase::EmployerWithoutNib, n, F, key);
                } else if !e.linked {
                    self.note(TrickyCase::EmployerNotInRegistry, n, F, key);
                }
                if parent_code {
                    self.note(TrickyCase::PapuaParentBpsCode, n, F, key);
                }
                if programs == "[]" {
                    self.note(TrickyCase::EmptyPrograms, n, F, key);
                }
                if status == 0 && arrears_months >= 3 {
                    self.note(TrickyCase::EmployerInArrears, n, F, key);
                }
                if formula_like(name) {
                    self.note(TrickyCase::FormulaLikeText, n, F, key);
                }
            }
        }
        let done = f.finish()?;
        self.finish_table(n, "employers", F, true, multi, done)
    }

    fn contributions(&mut self, n: &Night) -> Result<(&'static str, String), DemoError> {
        const F: &str = "contributions.jsonl.gz";
        let reg = self.reg;
        let p = reg.p;
        let mut f = JsonlFile::new(n.path(F), CONTRIBUTIONS, n.idx % 19 == 3, false, p.level, self.capacity(F));
        let blank_line = n.idx % 23 == 12;
        let count = reg.employers.count(n.day);
        let p_hi = month_of(n.day) - 1;
        let mut written = 0u64;
        let mut dropped = false;
        let mut corrected = false;
        for i in 0..count {
            let emp = reg.employer(i);
            let e = &emp.core;
            let npp = emp.npp.as_str();
            let mut p_lo = match n.prev {
                None => p.contributions_start,
                Some(prev) => month_of(prev) - 3,
            };
            if let (Some(prev), Some(rd), Some(s)) = (n.prev, e.recover_day, e.arrears_start) {
                if rd > prev && rd <= n.day {
                    p_lo = p_lo.min(s);
                }
            }
            for period in p_lo.max(p.contributions_start)..=p_hi {
                if !reg.contributes(e, period) {
                    continue;
                }
                let versions = reg.contribution_versions(e, period);
                let Some((vi, v)) = versions
                    .iter()
                    .enumerate()
                    .filter_map(|(k, v)| v.map(|v| (k, v)))
                    .filter(|(_, v)| v.day <= n.day)
                    .last()
                else {
                    continue;
                };
                if n.prev.is_some_and(|prev| v.day <= prev) {
                    continue;
                }
                let key = || {
                    let mut s = npp.to_owned();
                    s.push(' ');
                    time::write_month(&mut s, period);
                    Some(s)
                };
                // The re-delivered night lacks its first row and corrects its second.
                let mut wage_fix = 0;
                if v.day == n.day && n.delivery != Delivery::Ordinary {
                    if !dropped {
                        dropped = true;
                        if n.delivery == Delivery::Flawed {
                            self.note(TrickyCase::RowDroppedInRedelivery, n, F, key);
                        } else {
                            continue;
                        }
                    } else if !corrected {
                        corrected = true;
                        if n.delivery == Delivery::Corrected {
                            wage_fix = 1_000;
                            self.note(TrickyCase::CorrectedInRedelivery, n, F, key);
                        }
                    }
                }
                let workers = reg.employer_workers(e, time::month_start(period) + 14);
                let (wage, contribution) = reg.monthly_contribution(e, workers, v.wage_pct);
                let rec = &mut self.rec;
                rec.clear();
                rec.str(0, npp);
                rec.month(1, period);
                rec.int(2, u64::from(workers));
                rec.int(3, wage + wage_fix);
                rec.int(4, contribution);
                let x = h(p.seed, T_PAIDSTYLE, u64::from(i), period as u64);
                let style = if x % 10 < 7 { TsStyle::ZULU_MILLIS } else { TsStyle::JAKARTA };
                match v.paid_ms {
                    Some(ms) => rec.ts(5, ms, style),
                    None => rec.null(5),
                }
                let form = if (x >> 8) % 2 == 0 { NullForm::Explicit } else { NullForm::Absent };
                f.write(&self.rec, form)?;
                written += 1;
                if blank_line && written == 10 {
                    f.blank_line()?;
                    self.note(TrickyCase::JsonBlankLine, n, F, || None);
                }
                if v.paid_ms.is_none() {
                    self.json_null_cases(n, F, form, key);
                }
                if vi > 0 && n.prev.is_some_and(|prev| versions[0].is_some_and(|v0| v0.day <= prev)) {
                    let unpaid_before = versions[0].is_some_and(|v0| v0.paid_ms.is_none()) && v.paid_ms.is_some();
                    self.note(
                        if unpaid_before {
                            TrickyCase::UnpaidThenPaidResend
                        } else {
                            TrickyCase::CorrectedResend
                        },
                        n,
                        F,
                        key,
                    );
                }
            }
        }
        let done = f.finish()?;
        self.finish_table(n, "contributions", F, false, false, done)
    }
}

/// Generate the landing, handing each file to `sink` in delivery order.
pub fn generate(opts: &DemoOptions, sink: &mut dyn FnMut(GeneratedFile) -> Result<(), DemoError>) -> Result<DemoSummary, DemoError> {
    opts.validate()?;
    let reference = Reference::load()?;
    let params = Params::new(opts);
    let reg = Registry::new(&params, &reference);
    let plan = NightPlan::new(&params);
    let mut sim = Sim::new(&params, &reference);
    let mut w = Writer {
        reg: &reg,
        sink,
        cases: summary::CaseLog::new(),
        rows: BTreeMap::new(),
        last_snapshot_rows: BTreeMap::new(),
        files: 0,
        bytes: 0,
        emitted_complaints: BTreeSet::new(),
        complaints_with_events: BTreeSet::new(),
        emitted_events: BTreeSet::new(),
        emitted_inspections: BTreeSet::new(),
        first_snapshot: [true, true],
        need_sums: false,
        last_size: BTreeMap::new(),
        rec: Rec::new(COMPLAINTS.len()),
    };
    let mut nights = [SystemNights::default(), SystemNights::default()];
    let mut prev: [Option<i64>; 2] = [None, None];
    let mut last_complaints: BTreeMap<String, ComplaintRow> = BTreeMap::new();
    // Stashed for re-delivery: (night context, rows).
    let mut stash_inspection: Option<(Night, NightRows, BTreeMap<String, ComplaintRow>)> = None;
    let mut stash_insurance: Option<Night> = None;

    for day in params.sim_start..=params.last_day {
        sim.simulate_day(day, &reg);
        if day < params.first_day {
            continue;
        }
        let idx = day - params.first_day;
        for (k, system) in [System::Inspection, System::Insurance].into_iter().enumerate() {
            if plan.missing(system, day) {
                nights[k].missing.push(date_of(day));
                let case = if day == plan.missing_both {
                    TrickyCase::MissingNightBothSystems
                } else {
                    TrickyCase::MissingNightOneSystem
                };
                w.cases.record(case, system, date_of(day), false, "(no folder)", || None);
                if system == System::Inspection && day == plan.missing_inspection {
                    w.cases.record(
                        TrickyCase::MissingMonthEndSnapshot,
                        system,
                        date_of(day),
                        false,
                        "(no folder)",
                        || None,
                    );
                }
                continue;
            }
            let redeliver = match system {
                System::Inspection => plan.redeliver_inspection.0,
                System::Insurance => plan.redeliver_insurance.0,
            };
            let n = Night {
                system,
                day,
                idx,
                delivery: if day == redeliver { Delivery::Flawed } else { Delivery::Ordinary },
                prev: prev[k],
            };
            let checksums = match system {
                System::Inspection => idx % 6 == 2,
                System::Insurance => (idx + 3) % 6 == 2,
            };
            if checksums {
                nights[k].done_with_checksums.push(date_of(day));
            }
            match system {
                System::Inspection => {
                    let rows = if day == plan.quiet { NightRows::default() } else { sim.drain(day) };
                    w.inspection_night(&n, &rows, &mut sim, &last_complaints)?;
                    let before = std::mem::replace(
                        &mut last_complaints,
                        rows.complaints.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect(),
                    );
                    if n.delivery == Delivery::Flawed {
                        stash_inspection = Some((n, rows, before));
                    }
                }
                System::Insurance => {
                    w.insurance_night(&n)?;
                    if n.delivery == Delivery::Flawed {
                        stash_insurance = Some(n);
                    }
                }
            }
            nights[k].delivered.push(date_of(day));
            prev[k] = Some(day);
        }
        if day == plan.redeliver_inspection.1 {
            if let Some((mut n, rows, before)) = stash_inspection.take() {
                n.delivery = Delivery::Corrected;
                w.cases
                    .record(TrickyCase::RedeliveredNight, n.system, n.date(), true, "_DONE", || None);
                w.inspection_night(&n, &rows, &mut sim, &before)?;
                nights[0].redelivered.push((n.date(), date_of(day)));
            }
        }
        if day == plan.redeliver_insurance.1 {
            if let Some(mut n) = stash_insurance.take() {
                n.delivery = Delivery::Corrected;
                w.cases
                    .record(TrickyCase::RedeliveredNight, n.system, n.date(), true, "_DONE", || None);
                w.insurance_night(&n)?;
                nights[1].redelivered.push((n.date(), date_of(day)));
            }
        }
    }
    let [inspection, insurance] = nights;
    Ok(DemoSummary {
        first_night: date_of(params.first_day),
        last_night: date_of(params.last_day),
        inspection,
        insurance,
        rows: w.rows,
        last_snapshot_rows: w.last_snapshot_rows,
        files: w.files,
        bytes: w.bytes,
        cases: w.cases.into_reports(),
    })
}

/// A sink writing each file under `root` (folders created as needed; a
/// re-delivery overwrites). For the demo command and tests on local disk.
pub fn dir_sink(root: &Path) -> impl FnMut(GeneratedFile) -> Result<(), DemoError> + '_ {
    move |file: GeneratedFile| {
        let path = root.join(&file.path);
        let wrap = |e: std::io::Error| DemoError::Sink {
            path: file.path.clone(),
            source: Box::new(e),
        };
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(wrap)?;
        }
        std::fs::write(&path, &file.bytes).map_err(wrap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn night_plan_keeps_special_nights_apart() {
        for opts in [DemoOptions::demo(), DemoOptions::national()] {
            let p = Params::new(&opts);
            let plan = NightPlan::new(&p);
            let days = [
                plan.missing_both,
                plan.missing_inspection,
                plan.missing_insurance,
                plan.quiet,
                plan.redeliver_inspection.0,
                plan.redeliver_insurance.0,
            ];
            for (a, x) in days.iter().enumerate() {
                assert!(*x > p.first_day && *x < p.last_day - 3, "{x} outside the run");
                for y in &days[a + 1..] {
                    assert!((x - y).abs() > 1, "{x} and {y} too close");
                }
            }
            assert!(plan.redeliver_insurance.1 <= p.last_day);
            // The inspection gap is a month end.
            assert_ne!(time::civil(plan.missing_inspection + 1).1, time::civil(plan.missing_inspection).1);
        }
    }

    #[test]
    fn options_are_validated() {
        let mut o = DemoOptions::demo();
        o.multiplier = 0;
        assert!(matches!(
            generate(&o, &mut |_| Ok(())),
            Err(DemoError::InvalidOptions { option: "multiplier", .. })
        ));
        let mut o = DemoOptions::demo();
        o.nights = 5;
        assert!(matches!(
            generate(&o, &mut |_| Ok(())),
            Err(DemoError::InvalidOptions { option: "nights", .. })
        ));
        let mut o = DemoOptions::national();
        o.multiplier = 34;
        assert!(matches!(
            generate(&o, &mut |_| Ok(())),
            Err(DemoError::InvalidOptions { option: "multiplier", .. })
        ));
    }

    #[test]
    fn demo_ends_before_the_end_of_november_2026() {
        assert_eq!(DemoOptions::demo().last_night(), date_of(days_from_civil(2026, 11, 27)));
        assert_eq!(DemoOptions::national().last_night(), date_of(days_from_civil(2026, 11, 27)));
    }
}
