//! The registries: companies (inspection system), inspectors, insurance
//! employers and their monthly contributions.
//!
//! Companies, employers and contributions are never stored: each is a pure
//! function of (seed, index, night), recomputed when a night's file is
//! written, so memory stays flat at national scale. Inspectors are few and
//! kept in memory.

use rand::Rng;

use super::Params;
use super::reference::{Reference, papua_split_day};
use super::rng::{KeyedRng, Weighted, h, skewed};
use super::text;
use super::time::{DAY_MS, HOUR_MS, days_from_civil, days_in_month, jkt_day_end, jkt_ms, month_of, month_start};

const T_CO_PROV: u64 = 1;
const T_CO: u64 = 2;
const T_CO_VER: u64 = 3;
const T_INS: u64 = 4;
const T_EMP: u64 = 5;
const T_EMP_NAME: u64 = 6;
const T_EMP_VER: u64 = 7;
const T_CONTRIB: u64 = 8;
const T_PROGRAM_ORDER: u64 = 9;

pub(crate) const SIZE_CLASSES: [&str; 4] = ["MIKRO", "KECIL", "MENENGAH", "BESAR"];
pub(crate) const RANKS: [&str; 4] = ["PERTAMA", "MUDA", "MADYA", "UTAMA"];
pub(crate) const PROGRAMS: [&str; 5] = ["JKK", "JKM", "JHT", "JP", "JKP"];
/// Contribution rate of each program, basis points of wages (synthetic, rounded).
const PROGRAM_RATE_BP: [u64; 5] = [54, 30, 570, 300, 46];

/// KBLI 2020 sections with their divisions (first two digits) and a weight.
const SECTIONS: &[(char, u8, u8, f64)] = &[
    ('A', 1, 3, 6.0),
    ('B', 5, 9, 2.0),
    ('C', 10, 33, 22.0),
    ('D', 35, 35, 0.5),
    ('E', 36, 39, 1.0),
    ('F', 41, 43, 8.0),
    ('G', 45, 47, 24.0),
    ('H', 49, 53, 6.0),
    ('I', 55, 56, 8.0),
    ('J', 58, 63, 3.0),
    ('K', 64, 66, 2.0),
    ('L', 68, 68, 1.0),
    ('M', 69, 75, 3.0),
    ('N', 77, 82, 5.0),
    ('O', 84, 84, 0.3),
    ('P', 85, 85, 3.0),
    ('Q', 86, 88, 2.5),
    ('R', 90, 93, 1.0),
    ('S', 94, 96, 2.0),
    ('T', 97, 98, 0.2),
    ('U', 99, 99, 0.1),
];

/// A growing population: `base` members exist before the simulation starts,
/// the rest appear one after another until the last night.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Growth {
    pub total: u32,
    pub base: u32,
    pub start: i64,
    pub span: i64,
}

impl Growth {
    fn new(total: u32, start: i64, last: i64) -> Self {
        let span = (last - start).max(1);
        // About 7% growth a year.
        let years_x100 = span * 100 / 365;
        let base_pct = (100 - years_x100 * 7 / 100).clamp(50, 100);
        let base = (u64::from(total) * base_pct as u64 / 100) as u32;
        Growth { total, base, start, span }
    }

    /// Members existing at the end of `day`.
    pub(crate) fn count(&self, day: i64) -> u32 {
        if day < self.start {
            return self.base;
        }
        let grow = u64::from(self.total - self.base);
        let k = (day - self.start) as u64 * grow;
        let c = k.div_ceil(self.span as u64).min(grow);
        self.base + c as u32
    }

    /// Day a member appears (for members beyond the base).
    pub(crate) fn created(&self, i: u32) -> Option<i64> {
        if i < self.base {
            return None;
        }
        let grow = i64::from(self.total - self.base).max(1);
        Some(self.start + 1 + i64::from(i - self.base) * self.span / grow)
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Company {
    pub index: u32,
    pub province: usize,
    pub regency: u8,
    pub section: Option<usize>,
    pub size: usize,
    pub workers_base: u32,
    pub wlkp: bool,
    pub reports_workers: bool,
    pub nib: Option<String>,
    pub name: String,
    pub created_ms: i64,
    pub period_ms: i64,
}

#[derive(Debug, Clone)]
pub(crate) struct Inspector {
    pub province: usize,
    pub join_ms: i64,
    pub leave_ms: Option<i64>,
    pub rank: usize,
    pub ppns: bool,
    pub nip: String,
    pub name: String,
}

impl Inspector {
    pub(crate) fn active_at(&self, ms: i64) -> bool {
        self.join_ms <= ms && self.leave_ms.is_none_or(|l| l > ms)
    }
}

/// The parts of an employer needed every night (cheap).
#[derive(Debug, Clone)]
pub(crate) struct EmployerCore {
    pub index: u32,
    /// Company of the same business, when the employer is in the registry.
    pub linked: bool,
    pub province: usize,
    pub reg_day: i64,
    pub close_day: Option<i64>,
    pub suspend_day: Option<i64>,
    pub programs: [bool; 5],
    pub workers_base: u32,
    pub wage: u64,
    pub arrears_start: Option<i64>,
    pub recover_day: Option<i64>,
    pub no_nib: bool,
}

/// An employer's unchanging attributes.
#[derive(Debug, Clone)]
pub(crate) struct Employer<'a> {
    pub core: EmployerCore,
    pub npp: String,
    pub nib: Option<String>,
    pub name: String,
    pub kbli: Option<String>,
    /// BPS province code as the insurance system writes it.
    pub bps: &'a str,
    /// The code is the pre-2022 Papua parent's.
    pub parent_code: bool,
}

/// Registries up to this size keep entities' fixed attributes in memory
/// (the demo); larger ones recompute them every night (national scale).
const CACHE_LIMIT: u32 = 200_000;

/// One version of a contribution row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ContribVersion {
    pub day: i64,
    pub paid_ms: Option<i64>,
    pub wage_pct: u64,
}

pub(crate) struct Registry<'a> {
    pub p: &'a Params,
    pub r: &'a Reference,
    pub companies: Growth,
    pub employers: Growth,
    company_province: Vec<u8>,
    /// Company indexes per province, ascending (so the existing ones are a prefix).
    pub by_province: Vec<Vec<u32>>,
    pub inspectors: Vec<Inspector>,
    pub inspectors_by_province: Vec<Vec<u32>>,
    sections: Weighted,
    employer_provinces: Weighted,
    company_cache: Vec<Company>,
    employer_cache: Vec<Employer<'a>>,
}

pub(crate) fn section_letter(i: usize) -> char {
    SECTIONS.get(i).map_or('G', |s| s.0)
}

impl<'a> Registry<'a> {
    pub(crate) fn new(p: &'a Params, r: &'a Reference) -> Self {
        let companies = Growth::new(p.n_companies, p.sim_start, p.last_day);
        let employers = Growth::new(p.n_employers, p.sim_start, p.last_day);
        let weights: Vec<f64> = r.provinces.iter().map(|x| x.company_weight).collect();
        let prov = Weighted::new(&weights);
        let mut company_province = Vec::with_capacity(p.n_companies as usize);
        let mut by_province = vec![Vec::new(); r.provinces.len()];
        for i in 0..p.n_companies {
            let pi = prov.pick_unit(super::rng::unit(h(p.seed, T_CO_PROV, u64::from(i), 0)));
            company_province.push(pi as u8);
            by_province[pi].push(i);
        }
        let sections = Weighted::new(&SECTIONS.iter().map(|s| s.3).collect::<Vec<_>>());
        let mut reg = Registry {
            p,
            r,
            companies,
            employers,
            company_province,
            by_province,
            inspectors: Vec::new(),
            inspectors_by_province: vec![Vec::new(); r.provinces.len()],
            sections,
            employer_provinces: prov,
            company_cache: Vec::new(),
            employer_cache: Vec::new(),
        };
        reg.hire_inspectors();
        if p.n_companies <= CACHE_LIMIT && p.n_employers <= CACHE_LIMIT {
            reg.company_cache = (0..p.n_companies).map(|i| reg.make_company(i)).collect();
            reg.employer_cache = (0..p.n_employers).map(|i| reg.make_employer(i)).collect();
        }
        reg
    }

    fn hire_inspectors(&mut self) {
        let p = self.p;
        let n = self.r.provinces.len();
        let weights: Vec<f64> = self.r.provinces.iter().map(|x| x.company_weight * x.staffing).collect();
        let total_w: f64 = weights.iter().sum();
        let target = f64::from(p.n_inspectors);
        let mut counts: Vec<u32> = Vec::with_capacity(n);
        let mut rema: Vec<(u64, usize)> = Vec::new();
        for (i, w) in weights.iter().enumerate() {
            let exact = target * w / total_w;
            let c = exact.floor() as u32;
            counts.push(c);
            rema.push((((exact - f64::from(c)) * 1e9) as u64, i));
        }
        let given: u32 = counts.iter().sum();
        rema.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, i) in rema.iter().take(p.n_inspectors.saturating_sub(given) as usize) {
            counts[i] += 1;
        }
        let early = days_from_civil(2000, 1, 1);
        for (pi, c) in counts.iter_mut().enumerate() {
            let without = self.r.provinces[pi].staffing == 0.0;
            if without || *c == 0 {
                *c = 1;
            }
            for k in 0..*c {
                let idx = self.inspectors.len() as u32;
                let mut rng = KeyedRng::new(h(p.seed, T_INS, u64::from(idx), 0));
                let join_day = if without || rng.random_bool(0.88) {
                    rng.random_range(early..p.sim_start.max(early + 1))
                } else {
                    rng.random_range(p.sim_start..=p.last_day)
                };
                let join_ms = jkt_ms(join_day, rng.random_range(8 * 3600..16 * 3600));
                let leave_ms = if without {
                    // The only inspector of this province left before the first night.
                    Some(jkt_ms(p.first_day - 200 - i64::from(k), 10 * 3600))
                } else if rng.random_bool(0.08) {
                    let lo = (join_day + 365).max(p.sim_start);
                    let d = rng.random_range(lo..=p.last_day + 365);
                    Some(jkt_ms(d, rng.random_range(8 * 3600..16 * 3600)))
                } else {
                    None
                };
                let rank = [0usize, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3][rng.random_range(0..20)];
                let ppns = rng.random_bool(0.25);
                let nip = text::nip(&mut rng);
                let name = text::person_name(&mut rng);
                self.inspectors_by_province[pi].push(idx);
                self.inspectors.push(Inspector {
                    province: pi,
                    join_ms,
                    leave_ms,
                    rank,
                    ppns,
                    nip,
                    name,
                });
            }
        }
    }

    pub(crate) fn company_province(&self, i: u32) -> usize {
        usize::from(self.company_province.get(i as usize).copied().unwrap_or(0))
    }

    pub(crate) fn company_nib(&self, i: u32) -> String {
        let v = (u64::from(i) * 104_729 + 12_345_678_901) % 1_000_000_000_000;
        format!("8{v:012}")
    }

    /// A company's fixed attributes (cached or recomputed).
    pub(crate) fn company(&self, i: u32) -> std::borrow::Cow<'_, Company> {
        match self.company_cache.get(i as usize) {
            Some(c) => std::borrow::Cow::Borrowed(c),
            None => std::borrow::Cow::Owned(self.make_company(i)),
        }
    }

    /// An employer's fixed attributes (cached or recomputed).
    pub(crate) fn employer(&self, i: u32) -> std::borrow::Cow<'_, Employer<'a>> {
        match self.employer_cache.get(i as usize) {
            Some(e) => std::borrow::Cow::Borrowed(e),
            None => std::borrow::Cow::Owned(self.make_employer(i)),
        }
    }

    fn make_employer(&self, i: u32) -> Employer<'a> {
        let core = self.employer_core(i);
        let (nib, name, kbli, bps, parent_code) = self.employer_identity(&core);
        Employer {
            npp: self.npp(i),
            core,
            nib,
            name,
            kbli,
            bps,
            parent_code,
        }
    }

    fn make_company(&self, i: u32) -> Company {
        let p = self.p;
        let mut rng = KeyedRng::new(h(p.seed, T_CO, u64::from(i), 0));
        let province = self.company_province(i);
        let regs = &self.r.provinces[province].regencies;
        let regency = regs[rng.random_range(0..regs.len())];
        let section = if rng.random_bool(0.03) {
            None
        } else {
            Some(self.sections.pick(&mut rng))
        };
        let (size, workers_base) = match rng.random_range(0..100) {
            0..40 => (0, rng.random_range(1..=9)),
            40..75 => (1, rng.random_range(10..=49)),
            75..93 => (2, rng.random_range(50..=249)),
            _ => (3, skewed(&mut rng, 250, 12_000, 3) as u32),
        };
        let wlkp = rng.random_bool(0.75);
        let reports_workers = if wlkp { rng.random_bool(0.95) } else { rng.random_bool(0.3) };
        let nib = if rng.random_bool(0.08) { None } else { Some(self.company_nib(i)) };
        let mut name = text::company_name(&mut rng);
        if let Some(&(_, special)) = text::SPECIAL_COMPANIES.iter().find(|(k, _)| *k == i) {
            name = special.to_owned();
        }
        let created_day = self
            .companies
            .created(i)
            .unwrap_or_else(|| rng.random_range(days_from_civil(1995, 1, 1)..p.sim_start));
        let created_ms = jkt_ms(created_day, rng.random_range(8 * 3600..17 * 3600));
        let period_ms = rng.random_range(60..400) * DAY_MS + rng.random_range(0..DAY_MS / 1000) * 1000;
        Company {
            index: i,
            province,
            regency,
            section,
            size,
            workers_base,
            wlkp,
            reports_workers,
            nib,
            name,
            created_ms,
            period_ms,
        }
    }

    /// (updated_at, workers_total, size class) of a company as of the end of `day`.
    pub(crate) fn company_version(&self, c: &Company, day: i64) -> (i64, Option<u32>, usize) {
        let end = jkt_day_end(day);
        let k = ((end - c.created_ms) / c.period_ms).max(0);
        let updated = c.created_ms + k * c.period_ms;
        let jitter = h(self.p.seed, T_CO_VER, u64::from(c.index), k as u64) % 21;
        let workers = if k == 0 {
            c.workers_base
        } else {
            (u64::from(c.workers_base) * (90 + jitter) / 100).max(1) as u32
        };
        let size = match workers {
            0..=9 => 0,
            10..=49 => 1,
            50..=249 => 2,
            _ => 3,
        };
        (
            updated,
            c.reports_workers.then_some(workers),
            if c.reports_workers { size } else { c.size },
        )
    }

    /// Pick an inspector active at `ms` serving `province` (or, when none, its
    /// parent province, or anyone).
    pub(crate) fn pick_inspector<R: Rng + ?Sized>(&self, rng: &mut R, province: usize, ms: i64, ppns: bool) -> Option<u32> {
        let mut candidates: Vec<u32> = Vec::new();
        let mut provinces = vec![province];
        if let Some(parent) = self.r.provinces[province].parent.and_then(|c| self.r.province_index(c)) {
            provinces.push(parent);
        }
        for &pi in &provinces {
            candidates.extend(
                self.inspectors_by_province[pi]
                    .iter()
                    .copied()
                    .filter(|&j| self.inspectors[j as usize].active_at(ms) && (!ppns || self.inspectors[j as usize].ppns)),
            );
            if !candidates.is_empty() {
                break;
            }
        }
        if candidates.is_empty() && ppns {
            return self.pick_inspector(rng, province, ms, false);
        }
        if candidates.is_empty() {
            return None;
        }
        Some(candidates[rng.random_range(0..candidates.len())])
    }

    /// A company of the province existing at `day`, if any.
    pub(crate) fn pick_company<R: Rng + ?Sized>(&self, rng: &mut R, province: usize, day: i64) -> Option<u32> {
        let existing = self.companies.count(day);
        let list = &self.by_province[province];
        let n = list.partition_point(|&i| i < existing);
        (n > 0).then(|| list[rng.random_range(0..n)])
    }

    fn employer_core(&self, i: u32) -> EmployerCore {
        let p = self.p;
        let mut rng = KeyedRng::new(h(p.seed, T_EMP, u64::from(i), 0));
        let linked = i < p.n_companies && rng.random_bool(0.7);
        let province = if linked {
            self.company_province(i)
        } else {
            self.employer_provinces.pick(&mut rng)
        };
        let reg_day = self
            .employers
            .created(i)
            .unwrap_or_else(|| skewed(&mut rng, p.sim_start - 1, days_from_civil(1990, 1, 1), 2).min(p.sim_start - 1));
        let close_day = if rng.random_bool(0.08) {
            Some(rng.random_range(reg_day + 200..=p.last_day + 400))
        } else {
            None
        };
        let suspend_day = if rng.random_bool(0.04) {
            Some(rng.random_range(reg_day + 100..=p.last_day + 200))
        } else {
            None
        };
        let programs = [true, true, rng.random_bool(0.85), rng.random_bool(0.55), rng.random_bool(0.5)];
        let workers_base = match rng.random_range(0..100) {
            0..55 => rng.random_range(1..=9),
            55..85 => rng.random_range(10..=49),
            85..96 => rng.random_range(50..=249),
            _ => skewed(&mut rng, 250, 8_000, 3) as u32,
        } * p.workers_factor;
        let min_wage = self.r.provinces[province].min_wage;
        let wage = min_wage * rng.random_range(100..=160) / 100 / 1000 * 1000;
        let first_month = month_of(p.first_day);
        let reg_month = month_of(reg_day);
        let mut arrears_start = if rng.random_bool(0.12) {
            Some(rng.random_range(first_month - 24..=month_of(p.last_day)).max(reg_month))
        } else {
            None
        };
        if let Some(s) = suspend_day {
            arrears_start = Some(arrears_start.map_or(month_of(s), |a| a.min(month_of(s))));
        }
        let recover_day = match arrears_start {
            Some(s) if suspend_day.is_none() && rng.random_bool(0.4) => {
                let m = s + rng.random_range(2..=8);
                Some(month_start(m) + rng.random_range(0..days_in_month(m)))
            }
            _ => None,
        };
        let no_nib = rng.random_bool(if linked { 0.0 } else { 0.25 });
        EmployerCore {
            index: i,
            linked,
            province,
            reg_day,
            close_day,
            suspend_day,
            programs,
            workers_base,
            wage,
            arrears_start,
            recover_day,
            no_nib,
        }
    }

    pub(crate) fn npp(&self, i: u32) -> String {
        let v = (u64::from(i) * 7_654_321 + 10_203_040) % 100_000_000;
        format!("{v:08}")
    }

    /// (NIB, name, KBLI, BPS province code, whether the code is the Papua parent's).
    fn employer_identity(&self, e: &EmployerCore) -> (Option<String>, String, Option<String>, &'a str, bool) {
        let p = self.p;
        let mut rng = KeyedRng::new(h(p.seed, T_EMP_NAME, u64::from(e.index), 0));
        let (nib, name, section) = if e.linked {
            let c = self.make_company(e.index);
            let name = if rng.random_bool(0.5) {
                c.name.to_uppercase()
            } else {
                c.name.clone()
            };
            (c.nib.clone(), name, c.section)
        } else {
            let nib = if e.no_nib {
                None
            } else {
                let v = (u64::from(e.index) * 15_485_863 + 98_765_432_109) % 1_000_000_000_000;
                Some(format!("9{v:012}"))
            };
            (nib, text::company_name(&mut rng), Some(self.sections.pick(&mut rng)))
        };
        let kbli = match section {
            Some(s) if !rng.random_bool(0.05) => {
                let (_, lo, hi, _) = SECTIONS[s.min(SECTIONS.len() - 1)];
                Some(format!("{:02}{:03}", rng.random_range(lo..=hi), rng.random_range(0..1000)))
            }
            _ => None,
        };
        let prov = &self.r.provinces[e.province];
        let mut bps = prov.bps.as_str();
        let mut parent_code = false;
        if let Some(parent) = prov.parent {
            if e.reg_day < papua_split_day(&prov.code) && rng.random_bool(0.6) {
                if let Some(pi) = self.r.province_index(parent) {
                    bps = self.r.provinces[pi].bps.as_str();
                    parent_code = true;
                }
            }
        }
        (nib, name, kbli, bps, parent_code)
    }

    pub(crate) fn employer_status(&self, e: &EmployerCore, day: i64) -> usize {
        if e.close_day.is_some_and(|d| d <= day) {
            1
        } else if e.suspend_day.is_some_and(|d| d <= day) {
            2
        } else {
            0
        }
    }

    /// Registered workers at the end of `day`.
    pub(crate) fn employer_workers(&self, e: &EmployerCore, day: i64) -> u32 {
        if self.employer_status(e, day) == 1 {
            return 0;
        }
        let q = month_of(day) / 3;
        let jitter = h(self.p.seed, T_EMP_VER, u64::from(e.index), q as u64) % 17;
        ((u64::from(e.workers_base) * (92 + jitter) / 100).max(1)) as u32
    }

    pub(crate) fn monthly_contribution(&self, e: &EmployerCore, workers: u32, wage_pct: u64) -> (u64, u64) {
        let wage_total = u64::from(workers) * e.wage * wage_pct / 100;
        let bp: u64 = e.programs.iter().zip(PROGRAM_RATE_BP).filter(|(on, _)| **on).map(|(_, r)| r).sum();
        (wage_total, wage_total * bp / 10_000)
    }

    /// Months of unpaid contributions and amount owed at the end of `day`.
    pub(crate) fn arrears(&self, e: &EmployerCore, day: i64) -> (u64, u64) {
        let Some(start) = e.arrears_start else { return (0, 0) };
        if e.recover_day.is_some_and(|r| r <= day) {
            return (0, 0);
        }
        let (_, _, dom) = super::time::civil(day);
        let mut due = if dom >= 15 { month_of(day) - 1 } else { month_of(day) - 2 };
        if let Some(c) = e.close_day {
            due = due.min(month_of(c) - 1);
        }
        let months = (due - start + 1).max(0) as u64;
        let (_, monthly) = self.monthly_contribution(e, e.workers_base, 100);
        (months, months * monthly)
    }

    /// Whether a contribution row exists for the period.
    pub(crate) fn contributes(&self, e: &EmployerCore, period: i64) -> bool {
        period >= month_of(e.reg_day) && period >= self.p.contributions_start && e.close_day.is_none_or(|c| period < month_of(c))
    }

    /// The versions of the contribution row of a period (first, optional correction).
    pub(crate) fn contribution_versions(&self, e: &EmployerCore, period: i64) -> [Option<ContribVersion>; 2] {
        let seed = self.p.seed;
        let i = u64::from(e.index);
        let x = h(seed, T_CONTRIB, i, period as u64);
        let next = period + 1;
        let a = month_start(next) + (x % days_in_month(next) as u64) as i64;
        let paid_day = (a - ((x >> 20) % 6) as i64).max(month_start(next));
        let paid_ms = jkt_ms(paid_day, 8 * 3600 + ((x >> 28) % (12 * 3600)) as i64) + ((x >> 44) % 1000) as i64;
        let roll = (x >> 8) % 100;
        let in_arrears = e.arrears_start.is_some_and(|s| period >= s) && e.recover_day.is_none_or(|r| r > a);
        if in_arrears {
            let v1 = e.recover_day.map(|r| ContribVersion {
                day: r,
                paid_ms: Some(jkt_ms(r, 10 * 3600) + ((x >> 40) % HOUR_MS as u64) as i64),
                wage_pct: 100,
            });
            [
                Some(ContribVersion {
                    day: a,
                    paid_ms: None,
                    wage_pct: 100,
                }),
                v1,
            ]
        } else if roll < 4 {
            let d = a + 5 + ((x >> 16) % 35) as i64;
            [
                Some(ContribVersion {
                    day: a,
                    paid_ms: None,
                    wage_pct: 100,
                }),
                Some(ContribVersion {
                    day: d,
                    paid_ms: Some(jkt_ms(d, 9 * 3600) + ((x >> 36) % 1000) as i64),
                    wage_pct: 100,
                }),
            ]
        } else if roll < 6 {
            let d = a + 3 + ((x >> 16) % 27) as i64;
            [
                Some(ContribVersion {
                    day: a,
                    paid_ms: Some(paid_ms),
                    wage_pct: 100,
                }),
                Some(ContribVersion {
                    day: d,
                    paid_ms: Some(paid_ms),
                    wage_pct: 105,
                }),
            ]
        } else {
            [
                Some(ContribVersion {
                    day: a,
                    paid_ms: Some(paid_ms),
                    wage_pct: 100,
                }),
                None,
            ]
        }
    }

    /// Programs of the employer as a JSON array, in an order that varies by night.
    pub(crate) fn programs_json(&self, e: &EmployerCore, day: i64, status: usize) -> String {
        let empty = status == 1 && h(self.p.seed, T_PROGRAM_ORDER, u64::from(e.index), 1) % 10 < 6;
        let mut list: Vec<&str> = if empty {
            Vec::new()
        } else {
            PROGRAMS.iter().zip(e.programs).filter(|(_, on)| *on).map(|(p, _)| *p).collect()
        };
        let rot = h(self.p.seed, T_PROGRAM_ORDER, u64::from(e.index), day as u64) % 5;
        if !list.is_empty() {
            let n = list.len();
            list.rotate_left(rot as usize % n);
            if rot >= 3 {
                list.reverse();
            }
        }
        let mut s = String::from("[");
        for (k, p) in list.iter().enumerate() {
            if k > 0 {
                s.push(',');
            }
            s.push('"');
            s.push_str(p);
            s.push('"');
        }
        s.push(']');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growth_count_matches_creation_days() {
        let g = Growth::new(1000, 100, 1600);
        for i in 0..1000u32 {
            if let Some(d) = g.created(i) {
                assert!(g.count(d) > i, "member {i} created {d} not counted");
                assert!(g.count(d - 1) <= i, "member {i} counted before {d}");
            }
        }
        assert_eq!(g.count(1600), 1000);
    }
}
