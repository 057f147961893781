//! The complaint simulation: complaints arriving day by day, each with its
//! whole lifecycle planned when it arrives (events, company identification,
//! corrections, inspections), and a queue of rows waiting for the extract
//! that will carry them.
//!
//! A row enters the queue under the Jakarta date from which upstream can
//! deliver it (never before the date of any timestamp in it); a night's
//! extract takes every queued row up to its date, so rows of a missing night
//! arrive in the next extract and none is ever delivered before it exists.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;

use super::Params;
use super::reference::{FollowUp, Reference, is_eid_holiday, thr_boost, violation_weight};
use super::registry::Registry;
use super::rng::{Weighted, choose, skewed};
use super::summary::TrickyCase;
use super::text;
use super::time::{DAY_MS, HOUR_MS, MINUTE_MS, TsStyle, WIB, civil, jkt_day, jkt_ms, month_of, weekday};

/// Complaint status codes of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Status {
    Received,
    Verified,
    Rejected,
    Redirected,
    Assigned,
    Inspected,
    Nota1,
    Nota2,
    SanctionRecommended,
    ReferredPpns,
    Resolved,
    ClosedNoViolation,
    Withdrawn,
    ClosedUnresolved,
}

impl Status {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Status::Received => "RECEIVED",
            Status::Verified => "VERIFIED",
            Status::Rejected => "REJECTED",
            Status::Redirected => "REDIRECTED",
            Status::Assigned => "ASSIGNED",
            Status::Inspected => "INSPECTED",
            Status::Nota1 => "NOTA_1",
            Status::Nota2 => "NOTA_2",
            Status::SanctionRecommended => "SANCTION_RECOMMENDED",
            Status::ReferredPpns => "REFERRED_PPNS",
            Status::Resolved => "RESOLVED",
            Status::ClosedNoViolation => "CLOSED_NO_VIOLATION",
            Status::Withdrawn => "WITHDRAWN",
            Status::ClosedUnresolved => "CLOSED_UNRESOLVED",
        }
    }
}

/// A set of [`TrickyCase`]s planned on a row.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CaseSet(u64);

impl CaseSet {
    fn bit(c: TrickyCase) -> u64 {
        let i = TrickyCase::ALL.iter().position(|&x| x == c).unwrap_or(63);
        1u64 << (i as u64 % 64)
    }
    pub(crate) fn with(mut self, c: TrickyCase) -> Self {
        self.0 |= Self::bit(c);
        self
    }
    pub(crate) fn has(self, c: TrickyCase) -> bool {
        self.0 & Self::bit(c) != 0
    }
}

#[derive(Debug, Clone)]
pub(crate) struct ComplaintRow {
    pub id: String,
    pub received_ms: i64,
    pub received_style: TsStyle,
    pub channel: &'static str,
    pub reporter: &'static str,
    pub union_name: Option<String>,
    pub name: Option<String>,
    pub nik: Option<String>,
    pub phone: Option<String>,
    pub company: Option<u32>,
    pub province: usize,
    pub violation: usize,
    pub workers: Option<u32>,
    pub description: Option<String>,
    pub updated_ms: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct EventRow {
    pub id: u64,
    pub complaint_id: String,
    pub at_ms: i64,
    pub status: Status,
    pub inspector: Option<u32>,
    /// The complaint's received_at (not a column: to recognise cases).
    pub received_ms: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct InspectionRow {
    pub id: u64,
    pub company: u32,
    pub inspector: u32,
    pub visit_day: i64,
    pub kind: &'static str,
    pub complaint_id: Option<String>,
    pub findings: u32,
    pub outcome: &'static str,
}

#[derive(Debug, Clone)]
enum Row {
    Complaint(ComplaintRow),
    Event(EventRow),
    Inspection(InspectionRow),
}

/// The incremental rows of one inspection night, one row per key (latest version).
#[derive(Debug, Clone, Default)]
pub(crate) struct NightRows {
    pub complaints: BTreeMap<String, (ComplaintRow, CaseSet)>,
    pub events: BTreeMap<u64, (EventRow, CaseSet)>,
    pub inspections: BTreeMap<u64, (InspectionRow, CaseSet)>,
}

/// Cases forced on the first complaint of some days, so that each appears
/// within a short run (the national benchmark has about two months).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Forced {
    None,
    Tie,
    Reopen,
    SkipAssigned,
    SkipToResolved,
    EventBeforeReceived,
    RowAfterEvents,
    CompanyLater,
}

const FORCED_ROTATION: [Forced; 7] = [
    Forced::Tie,
    Forced::Reopen,
    Forced::SkipAssigned,
    Forced::SkipToResolved,
    Forced::EventBeforeReceived,
    Forced::RowAfterEvents,
    Forced::CompanyLater,
];

pub(crate) struct Sim {
    rng: ChaCha8Rng,
    pending: BTreeMap<i64, Vec<(Row, CaseSet)>>,
    next_event: u64,
    next_inspection: u64,
    seq_by_year: BTreeMap<i32, u32>,
    provinces: Weighted,
    violations: Weighted,
    thr: usize,
    wita_provinces: [usize; 2],
    orphan_days: Vec<i64>,
    first_day: i64,
    last_day: i64,
    complaints_start: i64,
    daily_rate: f64,
}

struct Builder {
    complaint_id: String,
    received_ms: i64,
    today: i64,
    events: Vec<(i64, Status, Option<u32>, CaseSet)>,
    inspections: Vec<(i64, &'static str, bool, u32, &'static str, u32)>,
}

impl Sim {
    pub(crate) fn new(p: &Params, r: &Reference) -> Self {
        let provinces = Weighted::new(&r.provinces.iter().map(|x| x.complaint_weight).collect::<Vec<_>>());
        let violations = Weighted::new(&r.violations.iter().map(|v| violation_weight(v)).collect::<Vec<_>>());
        let n = p.last_day - p.first_day + 1;
        let orphan_days = (1..=5).map(|k| p.first_day + n * k / 6).collect();
        let pi = |code: &str| r.province_index(code).unwrap_or(0);
        Sim {
            rng: ChaCha8Rng::seed_from_u64(p.seed ^ 0x5EED_C0DE_2026),
            pending: BTreeMap::new(),
            next_event: 1,
            next_inspection: 1,
            seq_by_year: BTreeMap::new(),
            provinces,
            violations,
            thr: r.violation_index("THR"),
            wita_provinces: [pi("51"), pi("73")],
            orphan_days,
            first_day: p.first_day,
            last_day: p.last_day,
            complaints_start: p.complaints_start,
            daily_rate: p.complaints_per_year / 365.0,
        }
    }

    fn push(&mut self, day: i64, row: Row, tags: CaseSet) {
        self.pending.entry(day).or_default().push((row, tags));
    }

    /// A fresh event id (also used for rows injected into a first delivery).
    pub(crate) fn alloc_event_id(&mut self) -> u64 {
        let id = self.next_event;
        self.next_event += 1;
        id
    }

    fn count(&mut self, lambda: f64) -> u32 {
        let whole = lambda.floor();
        let extra = self.rng.random_bool((lambda - whole).clamp(0.0, 1.0));
        whole as u32 + u32::from(extra)
    }

    /// A working-hours instant on `day`, sometimes with milliseconds.
    fn work_time(&mut self, day: i64) -> i64 {
        let ms = jkt_ms(day, self.rng.random_range(8 * 3600..17 * 3600));
        if self.rng.random_bool(0.25) {
            ms + self.rng.random_range(1..1000)
        } else {
            ms
        }
    }

    /// An instant `lo..=hi` days (skewed towards `lo`) after `t`, strictly after it.
    fn later(&mut self, t: i64, lo: i64, hi: i64) -> i64 {
        let d = jkt_day(t) + skewed(&mut self.rng, lo, hi.max(lo), 2);
        let ms = self.work_time(d);
        if ms <= t {
            t + self.rng.random_range(MINUTE_MS..3 * HOUR_MS)
        } else {
            ms
        }
    }

    /// Simulate one Jakarta day: complaints received, inspections visited.
    pub(crate) fn simulate_day(&mut self, day: i64, reg: &Registry<'_>) {
        let holiday = is_eid_holiday(day);
        if day >= self.complaints_start && !holiday {
            let wd = weekday(day);
            let factor = match wd {
                5 => 0.55,
                6 => 0.25,
                _ => 1.2,
            };
            let base = self.daily_rate * factor;
            let forced = if day >= self.first_day + 2 && day <= self.last_day - 25 && (day - self.first_day - 2) % 5 == 0 {
                FORCED_ROTATION[(((day - self.first_day - 2) / 5) % 7) as usize]
            } else {
                Forced::None
            };
            let n = self.count(base).max(u32::from(forced != Forced::None));
            for k in 0..n {
                self.new_complaint(day, reg, None, if k == 0 { forced } else { Forced::None }, false);
            }
            let n_thr = self.count(base * thr_boost(day) * 1.6);
            for _ in 0..n_thr {
                self.new_complaint(day, reg, Some(self.thr), Forced::None, false);
            }
            let month_end = civil(day + 1).1 != civil(day).1;
            if day >= self.first_day && month_end {
                self.new_complaint(day, reg, None, Forced::None, true);
            }
            if self.orphan_days.contains(&day) {
                self.orphan(day, reg);
            }
        }
        if weekday(day) < 5 && !holiday {
            self.routine_inspections(day, reg);
        }
    }

    fn next_complaint_id(&mut self, received_ms: i64) -> String {
        let (year, _, _) = civil(jkt_day(received_ms));
        let seq = self.seq_by_year.entry(year).or_insert(0);
        *seq += 1;
        format!("ADU-{year:04}-{:07}", *seq)
    }

    fn new_complaint(&mut self, day: i64, reg: &Registry<'_>, violation: Option<usize>, forced: Forced, prev_month: bool) {
        let r = reg.r;
        let forced_active = forced != Forced::None;
        let province = if prev_month {
            self.wita_provinces[(month_of(day) % 2) as usize]
        } else if forced_active {
            // Forced cases need an office with inspectors.
            r.province_index(["31", "33", "34", "51"][self.rng.random_range(0..4)]).unwrap_or(0)
        } else {
            self.provinces.pick(&mut self.rng)
        };
        let violation = violation.unwrap_or_else(|| self.violations.pick(&mut self.rng));
        let reporter = if forced_active {
            "WORKER"
        } else {
            match self.rng.random_range(0..100) {
                0..55 => "WORKER",
                55..70 => "UNION",
                70..90 => "ANONYMOUS",
                _ => "OTHER",
            }
        };
        let channel = match reporter {
            "UNION" => *choose(&mut self.rng, &["UNION_LETTER", "UNION_LETTER", "UNION_LETTER", "ONLINE", "EMAIL"]),
            "ANONYMOUS" => *choose(&mut self.rng, &["HOTLINE", "HOTLINE", "ONLINE", "ONLINE", "ONLINE", "MEDIA"]),
            "OTHER" => *choose(&mut self.rng, &["REFERRAL", "REFERRAL", "MEDIA", "ONLINE", "WALK_IN"]),
            _ => *choose(
                &mut self.rng,
                &["ONLINE", "ONLINE", "ONLINE", "WALK_IN", "WALK_IN", "EMAIL", "HOTLINE", "REFERRAL"],
            ),
        };
        let received_ms = if prev_month {
            jkt_ms(day, 23 * 3600 + 30 * 60)
        } else {
            let secs = match channel {
                "ONLINE" | "EMAIL" | "MEDIA" => {
                    if self.rng.random_bool(0.8) {
                        self.rng.random_range(7 * 3600..22 * 3600)
                    } else {
                        self.rng.random_range(0..86_400)
                    }
                }
                "HOTLINE" => self.rng.random_range(7 * 3600..21 * 3600),
                _ => self.rng.random_range(8 * 3600..16 * 3600),
            };
            let ms = jkt_ms(day, secs);
            if channel == "ONLINE" && self.rng.random_bool(0.5) {
                ms + self.rng.random_range(1..1000)
            } else {
                ms
            }
        };
        let zone = r.provinces[province].zone;
        let received_style = if prev_month {
            TsStyle::local(zone)
        } else if zone != WIB && self.rng.random_bool(0.4) {
            TsStyle::local(zone)
        } else if self.rng.random_bool(0.08) {
            TsStyle::ZULU_MILLIS
        } else {
            TsStyle::JAKARTA
        };
        let company_null = match forced {
            Forced::CompanyLater => true,
            Forced::None => {
                let p_null = if channel == "HOTLINE" || reporter == "ANONYMOUS" {
                    0.3
                } else {
                    0.07
                };
                self.rng.random_bool(p_null)
            }
            _ => false,
        };
        let identified_later = company_null && (forced == Forced::CompanyLater || self.rng.random_bool(0.55));
        let company_pick = reg.pick_company(&mut self.rng, province, day);
        let company_now = if company_null { None } else { company_pick };
        let workers = if self.rng.random_bool(0.1) {
            None
        } else {
            Some(skewed(&mut self.rng, 1, 800, 3) as u32)
        };
        let (description, personal) = if self.rng.random_bool(0.05) {
            (None, false)
        } else {
            let (d, p) = text::description(&mut self.rng, &r.violations[violation], workers);
            (Some(d), p)
        };
        let (union_name, name, nik, phone) = match reporter {
            "ANONYMOUS" => (None, None, None, None),
            "UNION" => (
                Some(text::union_name(&mut self.rng)),
                self.rng.random_bool(0.8).then(|| text::person_name(&mut self.rng)),
                self.rng.random_bool(0.4).then(|| text::nik(&mut self.rng)),
                self.rng.random_bool(0.9).then(|| text::phone(&mut self.rng)),
            ),
            "OTHER" => (
                None,
                Some(text::person_name(&mut self.rng)),
                self.rng.random_bool(0.5).then(|| text::nik(&mut self.rng)),
                self.rng.random_bool(0.7).then(|| text::phone(&mut self.rng)),
            ),
            _ => (
                None,
                Some(text::person_name(&mut self.rng)),
                self.rng.random_bool(0.9).then(|| text::nik(&mut self.rng)),
                self.rng.random_bool(0.85).then(|| text::phone(&mut self.rng)),
            ),
        };
        let id = self.next_complaint_id(received_ms);
        let row_later = forced == Forced::RowAfterEvents || (forced == Forced::None && self.rng.random_bool(0.03));
        let updated0 = if prev_month {
            received_ms + 5 * MINUTE_MS
        } else if row_later {
            let delay = self.rng.random_range(2..=6);
            self.work_time(day + delay).max(received_ms + MINUTE_MS)
        } else {
            received_ms + self.rng.random_range(MINUTE_MS..120 * MINUTE_MS)
        };
        let mut row = ComplaintRow {
            id: id.clone(),
            received_ms,
            received_style,
            channel,
            reporter,
            union_name,
            name,
            nik,
            phone,
            company: company_now,
            province,
            violation,
            workers,
            description,
            updated_ms: updated0,
        };
        let mut tags0 = CaseSet::default();
        if prev_month {
            tags0 = tags0.with(TrickyCase::PreviousMonthInJakarta);
        }
        if personal {
            tags0 = tags0.with(TrickyCase::PersonalDataInDescription);
        }
        if row_later {
            tags0 = tags0.with(TrickyCase::ComplaintRowAfterItsEvents);
        }

        // Plan the lifecycle.
        let has_company = company_now.is_some() || (identified_later && company_pick.is_some());
        let mut b = Builder {
            complaint_id: id,
            received_ms,
            today: day,
            events: Vec::new(),
            inspections: Vec::new(),
        };
        let fast = forced_active;
        let profile = if fast { FollowUp::Good } else { r.provinces[province].follow_up };
        let inspect_ms = self.plan_lifecycle(&mut b, reg, province, profile, has_company, forced);

        // Complaint row versions: first row, company identified, a correction.
        let mut changes: Vec<(i64, u8)> = Vec::new();
        if identified_later {
            if let (Some(_), Some(t)) = (company_pick, inspect_ms) {
                let at = (t - self.rng.random_range(HOUR_MS..3 * DAY_MS)).max(received_ms + HOUR_MS);
                changes.push((at, 0));
            } else if company_pick.is_some() && self.rng.random_bool(0.5) {
                let at = self.later(received_ms, 3, 40);
                changes.push((at, 0));
            }
        }
        if forced == Forced::None && self.rng.random_bool(0.03) {
            let at = self.later(received_ms, 5, 40);
            changes.push((at, 1));
        }
        changes.sort();
        let mut pending_rows = vec![(row.clone(), tags0)];
        for (at, what) in changes {
            match what {
                0 => row.company = company_pick,
                _ => row.workers = Some(row.workers.map_or(3, |w| w + 1 + w / 4)),
            }
            if at <= row.updated_ms {
                // Folded into the first row (it was entered later).
                if let Some(first) = pending_rows.last_mut() {
                    first.0 = row.clone();
                }
                continue;
            }
            row.updated_ms = at;
            pending_rows.push((row.clone(), CaseSet::default().with(TrickyCase::CorrectedResend)));
        }
        for (r, tags) in pending_rows {
            let avail = jkt_day(r.updated_ms).max(day);
            self.push(avail, Row::Complaint(r), tags);
        }
        let company = company_now.or(if identified_later { company_pick } else { None });
        self.flush_builder(b, reg, company);
    }

    /// Plan the events of a complaint; returns the instant of its INSPECTED event.
    fn plan_lifecycle(
        &mut self,
        b: &mut Builder,
        reg: &Registry<'_>,
        province: usize,
        profile: FollowUp,
        has_company: bool,
        forced: Forced,
    ) -> Option<i64> {
        let t0 = b.received_ms;
        let fast = forced != Forced::None;
        let span = |hi: i64| if fast { hi.min(4) } else { hi };
        // RECEIVED
        if forced == Forced::EventBeforeReceived || (forced == Forced::None && self.rng.random_bool(0.02)) {
            let at = t0 - self.rng.random_range(HOUR_MS..6 * HOUR_MS);
            b.events
                .push((at, Status::Received, None, CaseSet::default().with(TrickyCase::EventBeforeReceived)));
        } else if fast || self.rng.random_bool(0.96) {
            b.events.push((t0, Status::Received, None, CaseSet::default()));
        }
        let r = if fast { 500 } else { self.rng.random_range(0..1000) };
        if forced == Forced::SkipToResolved || r < 25 {
            let at = self.later(t0, 1, span(14));
            let who = reg.pick_inspector(&mut self.rng, province, at, false);
            b.events
                .push((at, Status::Resolved, who, CaseSet::default().with(TrickyCase::SkippedStages)));
            return None;
        }
        if r < 85 {
            let at = self.later(t0, 1, 10);
            b.events.push((at, Status::Rejected, None, CaseSet::default()));
            return None;
        }
        let (verify_hi, never_p, lo, hi) = match profile {
            FollowUp::Good => (5, 0.06, 3, 45),
            FollowUp::Average => (10, 0.18, 7, 120),
            FollowUp::Poor => (30, 0.45, 20, 300),
        };
        let verified = self.later(t0, 0, span(verify_hi));
        b.events.push((verified, Status::Verified, None, CaseSet::default()));
        if r < 135 {
            let at = self.later(verified, 1, 20);
            b.events.push((at, Status::Redirected, None, CaseSet::default()));
            return None;
        }
        let never = !has_company || (!fast && self.rng.random_bool(never_p));
        let delay = if fast {
            self.rng.random_range(2..=5)
        } else {
            skewed(&mut self.rng, lo, hi, 2)
        };
        let insp_at = self.later(t0, delay, delay);
        let inspector = reg.pick_inspector(&mut self.rng, province, insp_at, false);
        let Some(inspector) = inspector.filter(|_| !never) else {
            if self.rng.random_bool(0.6) {
                let at = self.later(verified, 3, 40);
                if let Some(who) = reg.pick_inspector(&mut self.rng, province, at, false) {
                    b.events.push((at, Status::Assigned, Some(who), CaseSet::default()));
                }
            }
            let last = b.events.last().map_or(t0, |e| e.0);
            match self.rng.random_range(0..10) {
                0 | 1 => {
                    let at = self.later(last, 30, 200);
                    b.events.push((at, Status::Withdrawn, None, CaseSet::default()));
                }
                2 | 3 => {
                    let at = self.later(t0, 180, 400);
                    b.events.push((at, Status::ClosedUnresolved, None, CaseSet::default()));
                }
                _ => {}
            }
            return None;
        };
        if !fast && self.rng.random_bool(0.04) {
            let at = self.later(verified, 5, 60);
            b.events.push((at, Status::Withdrawn, None, CaseSet::default()));
            return None;
        }
        let skip_assigned = forced == Forced::SkipAssigned || (!fast && self.rng.random_bool(0.07));
        if !skip_assigned {
            let lo_ms = verified;
            let at = if insp_at - lo_ms > 2 * HOUR_MS {
                lo_ms + self.rng.random_range(HOUR_MS..(insp_at - lo_ms))
            } else {
                lo_ms + 1
            };
            b.events.push((at, Status::Assigned, Some(inspector), CaseSet::default()));
        }
        let mut insp_tags = CaseSet::default();
        if skip_assigned {
            insp_tags = insp_tags.with(TrickyCase::SkippedStages);
        }
        let insp_at = insp_at.max(b.events.last().map_or(t0, |e| e.0) + 1);
        b.events.push((insp_at, Status::Inspected, Some(inspector), insp_tags));
        let visit = jkt_day(insp_at);
        let tie = forced == Forced::Tie || (!fast && self.rng.random_bool(0.02));
        let reopen = forced == Forced::Reopen || (!fast && self.rng.random_bool(0.03));
        let r3 = match forced {
            Forced::Tie => 70,
            Forced::Reopen => 40,
            _ => self.rng.random_range(0..100),
        };
        let mut last;
        if r3 < 30 {
            last = self.later(insp_at, 1, span(10));
            b.events
                .push((last, Status::ClosedNoViolation, Some(inspector), CaseSet::default()));
            b.inspections.push((visit, "COMPLAINT", true, inspector, "COMPLIANT", 0));
        } else if r3 < 55 {
            last = self.later(insp_at, 3, span(30));
            b.events.push((last, Status::Resolved, Some(inspector), CaseSet::default()));
            let findings = self.rng.random_range(1..=3);
            b.inspections.push((visit, "COMPLAINT", true, inspector, "NOTA_1", findings));
        } else if r3 < 90 {
            let n1 = if tie { insp_at } else { self.later(insp_at, 1, 7) };
            let tags = if tie {
                CaseSet::default().with(TrickyCase::EqualEventTimestamps)
            } else {
                CaseSet::default()
            };
            b.events.push((n1, Status::Nota1, Some(inspector), tags));
            let findings = self.rng.random_range(1..=5);
            b.inspections.push((visit, "COMPLAINT", true, inspector, "NOTA_1", findings));
            if fast || self.rng.random_bool(0.6) {
                last = self.later(n1, 14, span(45));
                b.events.push((last, Status::Resolved, Some(inspector), CaseSet::default()));
            } else {
                let n2 = self.later(n1, 30, 45);
                b.events.push((n2, Status::Nota2, Some(inspector), CaseSet::default()));
                b.inspections
                    .push((jkt_day(n2), "FOLLOW_UP", false, inspector, "NOTA_2", self.rng.random_range(1..=4)));
                match self.rng.random_range(0..10) {
                    0..5 => {
                        last = self.later(n2, 14, 60);
                        b.events.push((last, Status::Resolved, Some(inspector), CaseSet::default()));
                    }
                    5..8 => {
                        let s = self.later(n2, 7, 30);
                        b.events.push((s, Status::SanctionRecommended, Some(inspector), CaseSet::default()));
                        last = s;
                        match self.rng.random_range(0..10) {
                            0..5 => {
                                last = self.later(s, 20, 90);
                                b.events.push((last, Status::Resolved, Some(inspector), CaseSet::default()));
                            }
                            5..7 => {
                                last = self.later(s, 60, 200);
                                b.events.push((last, Status::ClosedUnresolved, None, CaseSet::default()));
                            }
                            _ => {}
                        }
                    }
                    _ => {
                        let at = self.later(n2, 7, 30);
                        let ppns = reg.pick_inspector(&mut self.rng, province, at, true).unwrap_or(inspector);
                        b.events.push((at, Status::ReferredPpns, Some(ppns), CaseSet::default()));
                        b.inspections
                            .push((jkt_day(at), "FOLLOW_UP", false, ppns, "REFERRED_PPNS", self.rng.random_range(1..=4)));
                        last = at;
                        if self.rng.random_bool(0.4) {
                            last = self.later(at, 60, 180);
                            b.events.push((last, Status::Resolved, Some(ppns), CaseSet::default()));
                        }
                    }
                }
            }
        } else {
            let findings = self.rng.random_range(0..=2);
            b.inspections.push((
                visit,
                "COMPLAINT",
                true,
                inspector,
                if findings == 0 { "COMPLIANT" } else { "NOTA_1" },
                findings,
            ));
            return Some(insp_at);
        }
        let closed = b
            .events
            .last()
            .is_some_and(|e| matches!(e.1, Status::Resolved | Status::ClosedNoViolation));
        if reopen && closed {
            let at = self.later(last, if fast { 2 } else { 10 }, if fast { 5 } else { 60 });
            let status = *choose(&mut self.rng, &[Status::Nota1, Status::Inspected, Status::Assigned]);
            b.events
                .push((at, status, Some(inspector), CaseSet::default().with(TrickyCase::ReopenedComplaint)));
            if fast || self.rng.random_bool(0.6) {
                let end = self.later(at, if fast { 2 } else { 20 }, if fast { 6 } else { 60 });
                b.events.push((end, Status::Resolved, Some(inspector), CaseSet::default()));
            }
        }
        Some(insp_at)
    }

    /// Queue a planned lifecycle's events and inspections.
    fn flush_builder(&mut self, b: Builder, reg: &Registry<'_>, company: Option<u32>) {
        for (at, status, inspector, tags) in b.events {
            let id = self.alloc_event_id();
            let lag = match self.rng.random_range(0..100) {
                0..85 => 0,
                85..95 => self.rng.random_range(1..=3),
                _ => self.rng.random_range(4..=14),
            };
            let avail = (jkt_day(at) + lag).max(b.today);
            let row = EventRow {
                id,
                complaint_id: b.complaint_id.clone(),
                at_ms: at,
                status,
                inspector,
                received_ms: b.received_ms,
            };
            if let (Some(_), true) = (inspector, self.rng.random_bool(0.02)) {
                // A corrected re-send: another inspector recorded as acting.
                let province = inspector.map_or(0, |j| reg.inspectors[j as usize].province);
                if let Some(other) = reg
                    .pick_inspector(&mut self.rng, province, at, false)
                    .filter(|o| Some(*o) != inspector)
                {
                    let mut fixed = row.clone();
                    fixed.inspector = Some(other);
                    let later = avail + self.rng.random_range(3..=20);
                    self.push(later, Row::Event(fixed), CaseSet::default().with(TrickyCase::CorrectedResend));
                }
            }
            self.push(avail, Row::Event(row), tags);
        }
        for (visit, kind, with_complaint, inspector, outcome, findings) in b.inspections {
            let Some(company) = company else { continue };
            let complaint_id = with_complaint.then(|| b.complaint_id.clone());
            self.queue_inspection(visit, company, inspector, kind, complaint_id, findings, outcome);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn queue_inspection(
        &mut self,
        visit: i64,
        company: u32,
        inspector: u32,
        kind: &'static str,
        complaint_id: Option<String>,
        findings: u32,
        outcome: &'static str,
    ) {
        let id = self.next_inspection;
        self.next_inspection += 1;
        let lag = if self.rng.random_bool(0.05) {
            self.rng.random_range(8..=30)
        } else {
            skewed(&mut self.rng, 0, 7, 2)
        };
        let avail = visit + lag;
        let row = InspectionRow {
            id,
            company,
            inspector,
            visit_day: visit,
            kind,
            complaint_id,
            findings,
            outcome,
        };
        if self.rng.random_bool(0.03) {
            let mut fixed = row.clone();
            fixed.findings += 1;
            if fixed.outcome == "COMPLIANT" {
                fixed.outcome = "NOTA_1";
            }
            let later = avail + self.rng.random_range(5..=30);
            self.push(later, Row::Inspection(fixed), CaseSet::default().with(TrickyCase::CorrectedResend));
        }
        self.push(avail, Row::Inspection(row), CaseSet::default());
    }

    fn routine_inspections(&mut self, day: i64, reg: &Registry<'_>) {
        let existing = reg.companies.count(day);
        for pi in 0..reg.r.provinces.len() {
            let n = reg.by_province[pi].partition_point(|&i| i < existing);
            let lambda = n as f64 * reg.r.provinces[pi].routine_rate / 250.0;
            let k = self.count(lambda);
            for _ in 0..k {
                let Some(company) = reg.pick_company(&mut self.rng, pi, day) else {
                    continue;
                };
                let at = self.work_time(day);
                let Some(inspector) = reg.pick_inspector(&mut self.rng, pi, at, false) else {
                    continue;
                };
                let kind = if self.rng.random_bool(0.1) { "SPECIAL" } else { "ROUTINE" };
                let (outcome, findings) = match self.rng.random_range(0..100) {
                    0..50 => ("COMPLIANT", 0),
                    50..85 => ("NOTA_1", self.rng.random_range(1..=6)),
                    85..95 => ("NOTA_2", self.rng.random_range(1..=6)),
                    _ => ("REFERRED_PPNS", self.rng.random_range(2..=8)),
                };
                self.queue_inspection(day, company, inspector, kind, None, findings, outcome);
                if outcome == "NOTA_1" && self.rng.random_bool(0.4) {
                    let visit = day + self.rng.random_range(30..=60);
                    let (o, f) = if self.rng.random_bool(0.6) {
                        ("COMPLIANT", 0)
                    } else {
                        ("NOTA_2", self.rng.random_range(1..=3))
                    };
                    self.queue_inspection(visit, company, inspector, "FOLLOW_UP", None, f, o);
                }
            }
        }
    }

    /// Events of a complaint whose row is never delivered.
    fn orphan(&mut self, day: i64, reg: &Registry<'_>) {
        let received_ms = self.work_time(day);
        let id = self.next_complaint_id(received_ms);
        let tags = CaseSet::default().with(TrickyCase::OrphanEvent);
        let verified = self.later(received_ms, 0, 2);
        let mut b = Builder {
            complaint_id: id,
            received_ms,
            today: day,
            events: Vec::new(),
            inspections: Vec::new(),
        };
        b.events.push((received_ms, Status::Received, None, tags));
        b.events.push((verified, Status::Verified, None, tags));
        self.flush_builder(b, reg, None);
    }

    /// Take every queued row deliverable by the end of `night`.
    pub(crate) fn drain(&mut self, night: i64) -> NightRows {
        let later = self.pending.split_off(&(night + 1));
        let due = std::mem::replace(&mut self.pending, later);
        let mut out = NightRows::default();
        for (_, rows) in due {
            for (row, tags) in rows {
                match row {
                    Row::Complaint(c) => {
                        out.complaints.insert(c.id.clone(), (c, tags));
                    }
                    Row::Event(e) => {
                        out.events.insert(e.id, (e, tags));
                    }
                    Row::Inspection(i) => {
                        out.inspections.insert(i.id, (i, tags));
                    }
                }
            }
        }
        out
    }
}
