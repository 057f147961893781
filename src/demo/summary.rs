//! What a generation run produced: nights per system, rows per table, and
//! where each tricky-but-valid case of the contract was placed.

use chrono::NaiveDate;
use std::collections::BTreeMap;
use std::fmt;

/// Examples kept per case (the count covers all occurrences).
pub const EXAMPLES_PER_CASE: usize = 5;

/// One of the two upstream systems.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum System {
    /// The labour-inspection system (`inspection/`).
    Inspection,
    /// The social-insurance system (`insurance/`).
    Insurance,
}

impl System {
    /// Folder name under the landing root.
    pub fn dir(self) -> &'static str {
        match self {
            System::Inspection => "inspection",
            System::Insurance => "insurance",
        }
    }
}

macro_rules! cases {
    ($($(#[doc = $doc:literal])* $name:ident => $text:literal,)*) => {
        /// A tricky-but-valid situation the contract allows and the generator places.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum TrickyCase { $($(#[doc = $doc])* $name,)* }

        impl TrickyCase {
            /// Every case, in a stable order.
            pub const ALL: &'static [TrickyCase] = &[$(TrickyCase::$name,)*];

            /// One-line description for printouts.
            pub fn description(self) -> &'static str {
                match self { $(TrickyCase::$name => $text,)* }
            }
        }
    };
}

cases! {
    /// No folder at all for either system on a night.
    MissingNightBothSystems => "night missing for both systems (no folder)",
    /// No folder for one system on a night (the other delivered).
    MissingNightOneSystem => "night missing for one system only",
    /// A missing inspection night that is the last day of a month (snapshot from the day before).
    MissingMonthEndSnapshot => "inspection night missing on a month's last day",
    /// A night delivered a second time, later, with checksums in `_DONE`.
    RedeliveredNight => "night re-delivered later (corrected, _DONE with checksums)",
    /// An empty `_DONE`.
    DoneEmpty => "_DONE empty",
    /// A `_DONE` of blank lines only (counts as empty).
    DoneBlankLines => "_DONE of blank lines only",
    /// A `_DONE` listing checksums in text mode.
    DoneChecksums => "_DONE with sha256 checksums",
    /// A `_DONE` with at least one binary-mode `*name` line.
    DoneBinaryMode => "_DONE with binary-mode *name lines",
    /// CSV starting with a UTF-8 BOM.
    CsvBom => "CSV with UTF-8 BOM",
    /// CSV with `\r\n` line ends.
    CsvCrlf => "CSV with CRLF line ends",
    /// CSV columns in another order than the contract lists them.
    CsvColumnOrder => "CSV columns in a different order",
    /// Every CSV field quoted, header included (empty quoted field = null).
    CsvAllFieldsQuoted => "CSV with every field quoted (header too)",
    /// An empty line before the CSV header.
    CsvBlankLineBeforeHeader => "CSV with an empty line before the header",
    /// The last CSV record without a line break.
    CsvNoFinalNewline => "CSV whose last record has no line break",
    /// A file made of several gzip members.
    GzipMultiMember => "gzip file of several members",
    /// An empty gzip member between two others.
    GzipEmptyMember => "empty gzip member inside a file",
    /// An incremental CSV with a header and no records (quiet night).
    HeaderOnlyIncremental => "header-only incremental file (quiet night)",
    /// A JSON Lines file with a blank line (spaces, tab, `\r`).
    JsonBlankLine => "JSON Lines file with a blank line",
    /// JSON keys in another order than the contract lists them.
    JsonKeyOrderChanged => "JSON keys in a different order",
    /// A null written as an explicit `null`.
    JsonExplicitNull => "JSON null written as null",
    /// A null written as an absent key.
    JsonAbsentKey => "JSON null written as an absent key",
    /// An event whose `event_at` is on or before the previous delivered extract date.
    LateEvent => "late event (event_at before the previous extract)",
    /// An incremental row re-sent in a later extract with changed values.
    CorrectedResend => "incremental row re-sent later with corrected values",
    /// A contribution first sent unpaid and re-sent later with `paid_at`.
    UnpaidThenPaidResend => "contribution re-sent later with paid_at set",
    /// A row of a first delivery that its re-delivery lacks (gone).
    RowDroppedInRedelivery => "row in the first delivery, absent from the re-delivery",
    /// A re-send in a first delivery that its re-delivery lacks: the earlier extract's row wins.
    ResendDroppedInRedelivery => "re-send dropped by the re-delivery (earlier row wins)",
    /// A row whose values the re-delivery corrects.
    CorrectedInRedelivery => "row corrected by the re-delivery",
    /// A complaint row arriving in a later extract than its events.
    ComplaintRowAfterItsEvents => "complaint row arriving after its events",
    /// Events whose complaint never gets a row.
    OrphanEvent => "orphan event (complaint row never delivered)",
    /// A non-terminal event after a terminal one.
    ReopenedComplaint => "re-opened complaint (non-terminal event after a terminal one)",
    /// Two events of one complaint with the same `event_at` (tie broken by event_id).
    EqualEventTimestamps => "two events of one complaint at the same instant",
    /// An event dated before its complaint's `received_at`.
    EventBeforeReceived => "event dated before the complaint's received_at",
    /// A lifecycle that skips stages (RECEIVED straight to RESOLVED, INSPECTED without ASSIGNED).
    SkippedStages => "skipped stages",
    /// A timestamp written in UTC (`Z`).
    TimestampZulu => "timestamp with Z",
    /// A timestamp written with `+08:00`.
    TimestampWita => "timestamp with +08:00",
    /// A timestamp written with `+09:00`.
    TimestampWit => "timestamp with +09:00",
    /// A timestamp with fractional seconds.
    FractionalSeconds => "timestamp with fractional seconds",
    /// A complaint received 00:30 +08:00 on the 1st (previous month in Jakarta).
    PreviousMonthInJakarta => "received 00:30 +08:00 on the 1st (previous month in Jakarta)",
    /// A complaint with a null `company_id`.
    NullCompanyId => "complaint without company_id",
    /// An anonymous complainant (no name, NIK or phone).
    AnonymousComplainant => "anonymous complainant",
    /// A description containing a (fake) NIK or phone number.
    PersonalDataInDescription => "description containing a NIK or phone number",
    /// A field with an embedded comma, quote or line break.
    QuotedSpecialCharacters => "field with embedded comma, quote or newline",
    /// Text starting with `=`, `+`, `-` or `@`.
    FormulaLikeText => "text starting with = + - @",
    /// A province without any active inspector.
    ProvinceWithoutActiveInspector => "province without an active inspector",
    /// An insurance employer without NIB.
    EmployerWithoutNib => "insurance employer without NIB",
    /// An insurance employer whose NIB matches no company.
    EmployerNotInRegistry => "insurance employer whose NIB matches no company",
    /// A company with no insurance employer of its NIB.
    CompanyWithoutEmployer => "company without a matching insurance employer",
    /// An employer in a new Papua province carrying the pre-2022 parent BPS code.
    PapuaParentBpsCode => "Papua employer with the pre-2022 parent BPS code",
    /// An employer with an empty `programs` array.
    EmptyPrograms => "employer with empty programs",
    /// An active employer three or more months in arrears.
    EmployerInArrears => "employer with 3+ months of arrears",
}

/// Where one occurrence of a case was placed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CasePlace {
    pub system: System,
    /// Extract date of the night.
    pub night: NaiveDate,
    /// True for the second delivery of a re-delivered night.
    pub redelivery: bool,
    /// File name inside the night folder.
    pub file: &'static str,
    /// Key of the row, when the case is about a row.
    pub key: Option<String>,
}

/// Occurrences of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReport {
    pub case: TrickyCase,
    /// Occurrences (for snapshot-row cases: in the first snapshot only).
    pub count: u64,
    /// The first few occurrences, in emission order.
    pub examples: Vec<CasePlace>,
}

/// Nights of one system.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemNights {
    /// Nights delivered (each once, even if re-delivered).
    pub delivered: Vec<NaiveDate>,
    /// Nights without a folder.
    pub missing: Vec<NaiveDate>,
    /// Re-delivered nights and the night after which the second delivery was emitted.
    pub redelivered: Vec<(NaiveDate, NaiveDate)>,
    /// Nights (first deliveries) whose `_DONE` lists checksums.
    pub done_with_checksums: Vec<NaiveDate>,
}

/// What [`super::generate`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoSummary {
    pub first_night: NaiveDate,
    pub last_night: NaiveDate,
    pub inspection: SystemNights,
    pub insurance: SystemNights,
    /// Data rows emitted per file name (`companies`, ...), all deliveries counted.
    pub rows: BTreeMap<&'static str, u64>,
    /// Rows of the last night's snapshot per snapshot table.
    pub last_snapshot_rows: BTreeMap<&'static str, u64>,
    /// Files emitted (`_DONE` included, re-deliveries counted).
    pub files: u64,
    /// Bytes emitted.
    pub bytes: u64,
    /// Every case of [`TrickyCase::ALL`], in that order.
    pub cases: Vec<CaseReport>,
}

impl DemoSummary {
    /// The report of one case.
    pub fn case(&self, case: TrickyCase) -> Option<&CaseReport> {
        self.cases.iter().find(|c| c.case == case)
    }

    /// Cases with no occurrence (empty for the built-in options).
    pub fn absent_cases(&self) -> Vec<TrickyCase> {
        self.cases.iter().filter(|c| c.count == 0).map(|c| c.case).collect()
    }
}

impl fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "nights {} .. {}", self.first_night, self.last_night)?;
        for (name, s) in [("inspection", &self.inspection), ("insurance", &self.insurance)] {
            let missing: Vec<String> = s.missing.iter().map(|d| d.to_string()).collect();
            let redelivered: Vec<String> = s
                .redelivered
                .iter()
                .map(|(d, after)| format!("{d} (again after {after})"))
                .collect();
            writeln!(
                f,
                "  {name}: {} nights delivered; missing: {}; re-delivered: {}",
                s.delivered.len(),
                if missing.is_empty() { "none".to_owned() } else { missing.join(" ") },
                if redelivered.is_empty() {
                    "none".to_owned()
                } else {
                    redelivered.join(", ")
                },
            )?;
        }
        writeln!(f, "  files: {}, bytes: {}", self.files, self.bytes)?;
        for (table, rows) in &self.rows {
            let last = self
                .last_snapshot_rows
                .get(table)
                .map(|n| format!(" (last snapshot {n})"))
                .unwrap_or_default();
            writeln!(f, "  {table}: {rows} rows{last}")?;
        }
        writeln!(f, "tricky cases:")?;
        for c in &self.cases {
            let first = c.examples.first().map(|p| {
                format!(
                    "{}/{}{}/{}{}",
                    p.system.dir(),
                    p.night,
                    if p.redelivery { " (re-delivery)" } else { "" },
                    p.file,
                    p.key.as_deref().map(|k| format!(" {k}")).unwrap_or_default()
                )
            });
            writeln!(f, "  {:<58} {:>8}  {}", c.case.description(), c.count, first.unwrap_or_default())?;
        }
        Ok(())
    }
}

/// Collects case occurrences during generation.
pub(crate) struct CaseLog {
    reports: BTreeMap<TrickyCase, CaseReport>,
}

impl CaseLog {
    pub(crate) fn new() -> Self {
        let reports = TrickyCase::ALL
            .iter()
            .map(|&c| {
                (
                    c,
                    CaseReport {
                        case: c,
                        count: 0,
                        examples: Vec::new(),
                    },
                )
            })
            .collect();
        CaseLog { reports }
    }

    /// Record one occurrence; `key` is only computed for kept examples.
    pub(crate) fn record(
        &mut self,
        case: TrickyCase,
        system: System,
        night: NaiveDate,
        redelivery: bool,
        file: &'static str,
        key: impl FnOnce() -> Option<String>,
    ) {
        if let Some(r) = self.reports.get_mut(&case) {
            r.count += 1;
            if r.examples.len() < EXAMPLES_PER_CASE {
                r.examples.push(CasePlace {
                    system,
                    night,
                    redelivery,
                    file,
                    key: key(),
                });
            }
        }
    }

    pub(crate) fn into_reports(self) -> Vec<CaseReport> {
        TrickyCase::ALL.iter().filter_map(|c| self.reports.get(c).cloned()).collect()
    }
}
