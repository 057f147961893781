//! Reference data for the generator: the provinces and violation codes compiled
//! in from `spec/`, and the synthetic character given to each province (how
//! many companies, how many complaints, how well it follows up).
//!
//! The character figures are invented for the demo: they shape the data so
//! that every figure of the report has something to show; they are not
//! statistics about real provinces.

use super::error::DemoError;
use super::time::{WIB, WIT, WITA, days_from_civil};

const PROVINCES_CSV: &str = include_str!("../../spec/provinces.csv");
const VIOLATIONS_CSV: &str = include_str!("../../spec/violations.csv");

/// How a province's labour office follows up complaints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FollowUp {
    Good,
    Average,
    Poor,
}

#[derive(Debug, Clone)]
pub(crate) struct Province {
    /// Kemendagri code (inspection system).
    pub code: String,
    /// Statistics-office code (insurance system).
    pub bps: String,
    /// Offset of the province's local time, minutes.
    pub zone: i32,
    pub company_weight: f64,
    pub complaint_weight: f64,
    pub follow_up: FollowUp,
    /// Inspectors relative to what the province's companies would warrant.
    pub staffing: f64,
    /// Share of companies visited routinely per year.
    pub routine_rate: f64,
    /// Monthly minimum wage, rupiah (rounded, synthetic).
    pub min_wage: u64,
    /// Kemendagri code of the pre-2022 parent province, for the Papua splits.
    pub parent: Option<&'static str>,
    /// Regency numbers (the two digits after the province code).
    pub regencies: Vec<u8>,
}

#[derive(Debug, Clone)]
pub(crate) struct Reference {
    pub provinces: Vec<Province>,
    pub violations: Vec<String>,
}

fn character(code: &str) -> (f64, FollowUp, f64) {
    // (company weight, follow-up, staffing)
    match code {
        "31" => (14.0, FollowUp::Good, 0.9),
        "32" => (17.0, FollowUp::Average, 0.55),
        "33" => (11.0, FollowUp::Good, 0.8),
        "34" => (2.0, FollowUp::Good, 1.1),
        "35" => (15.0, FollowUp::Average, 0.65),
        "36" => (6.0, FollowUp::Good, 0.6),
        "12" => (4.0, FollowUp::Average, 0.8),
        "14" | "16" | "51" | "73" | "64" => (2.0, FollowUp::Average, 0.9),
        "13" | "18" | "21" => (1.5, FollowUp::Average, 0.9),
        "11" | "15" | "61" | "63" => (1.0, FollowUp::Average, 1.0),
        "52" => (1.0, FollowUp::Average, 1.0),
        "53" => (0.7, FollowUp::Poor, 0.6),
        "62" => (0.7, FollowUp::Poor, 0.7),
        "71" => (0.7, FollowUp::Average, 1.0),
        "72" => (0.6, FollowUp::Poor, 0.6),
        "74" => (0.5, FollowUp::Poor, 0.6),
        "17" | "19" => (0.5, FollowUp::Average, 1.2),
        "65" | "75" => (0.3, FollowUp::Average, 1.2),
        "76" => (0.2, FollowUp::Poor, 0.8),
        "81" | "82" => (0.3, FollowUp::Poor, 0.6),
        "91" => (0.4, FollowUp::Poor, 0.7),
        "92" => (0.2, FollowUp::Poor, 0.7),
        "96" => (0.15, FollowUp::Poor, 0.8),
        "93" | "94" => (0.1, FollowUp::Poor, 0.8),
        "95" => (0.05, FollowUp::Poor, 0.0),
        _ => (0.5, FollowUp::Average, 1.0),
    }
}

fn zone(code: &str) -> i32 {
    match code {
        "51" | "52" | "53" | "63" | "64" | "65" | "71" | "72" | "73" | "74" | "75" | "76" => WITA,
        "81" | "82" | "91" | "92" | "93" | "94" | "95" | "96" => WIT,
        _ => WIB,
    }
}

fn min_wage(code: &str) -> u64 {
    match code {
        "31" => 5_400_000,
        "32" | "33" | "34" | "35" => 2_400_000,
        "36" | "12" | "13" | "15" | "16" | "18" | "52" | "53" => 3_000_000,
        "21" | "64" | "65" => 3_700_000,
        "91" | "92" | "93" | "94" | "95" | "96" => 4_300_000,
        _ => 3_300_000,
    }
}

fn parent(code: &str) -> Option<&'static str> {
    match code {
        "93" | "94" | "95" => Some("91"),
        "96" => Some("92"),
        _ => None,
    }
}

fn regencies(code: &str) -> Vec<u8> {
    match code {
        "31" => vec![1, 71, 72, 73, 74, 75],
        "32" => (1..=18).chain(71..=79).collect(),
        "33" => (1..=29).chain(71..=76).collect(),
        "35" => (1..=29).chain(71..=79).collect(),
        "36" => (1..=4).chain(71..=74).collect(),
        "34" => (1..=4).chain(71..=71).collect(),
        _ => (1..=9).chain(71..=72).collect(),
    }
}

/// Day on which a Papua province was split off its parent (records registered
/// before it may still carry the parent's code).
pub(crate) fn papua_split_day(code: &str) -> i64 {
    match code {
        "96" => days_from_civil(2022, 12, 8),
        _ => days_from_civil(2022, 7, 25),
    }
}

impl Reference {
    pub(crate) fn load() -> Result<Reference, DemoError> {
        let mut provinces = Vec::new();
        let mut rdr = csv::Reader::from_reader(PROVINCES_CSV.as_bytes());
        for (i, rec) in rdr.records().enumerate() {
            let record = i as u64 + 1;
            let rec = rec.map_err(|e| DemoError::Spec {
                file: "spec/provinces.csv",
                record,
                reason: e.to_string(),
            })?;
            let (Some(code), Some(bps)) = (rec.get(0), rec.get(1)) else {
                return Err(DemoError::Spec {
                    file: "spec/provinces.csv",
                    record,
                    reason: "expected columns code,bps_code,...".to_owned(),
                });
            };
            if code.len() != 2 || bps.len() != 2 {
                return Err(DemoError::Spec {
                    file: "spec/provinces.csv",
                    record,
                    reason: "province codes must have 2 digits".to_owned(),
                });
            }
            let (company_weight, follow_up, staffing) = character(code);
            let java5 = matches!(code, "31" | "32" | "33" | "35" | "36");
            provinces.push(Province {
                code: code.to_owned(),
                bps: bps.to_owned(),
                zone: zone(code),
                company_weight,
                complaint_weight: company_weight * if java5 { 1.6 } else { 0.55 },
                follow_up,
                staffing,
                routine_rate: match follow_up {
                    FollowUp::Good => 0.22,
                    FollowUp::Average => 0.12,
                    FollowUp::Poor => 0.04,
                },
                min_wage: min_wage(code),
                parent: parent(code),
                regencies: regencies(code),
            });
        }
        if provinces.len() != 38 {
            return Err(DemoError::Spec {
                file: "spec/provinces.csv",
                record: provinces.len() as u64,
                reason: format!("expected 38 provinces, found {}", provinces.len()),
            });
        }
        let mut violations = Vec::new();
        let mut rdr = csv::Reader::from_reader(VIOLATIONS_CSV.as_bytes());
        for (i, rec) in rdr.records().enumerate() {
            let rec = rec.map_err(|e| DemoError::Spec {
                file: "spec/violations.csv",
                record: i as u64 + 1,
                reason: e.to_string(),
            })?;
            match rec.get(0) {
                Some(code) if !code.is_empty() => violations.push(code.to_owned()),
                _ => {
                    return Err(DemoError::Spec {
                        file: "spec/violations.csv",
                        record: i as u64 + 1,
                        reason: "empty violation code".to_owned(),
                    });
                }
            }
        }
        if !violations.iter().any(|v| v == "THR") || !violations.iter().any(|v| v == "BPJS") {
            return Err(DemoError::Spec {
                file: "spec/violations.csv",
                record: 0,
                reason: "violation codes THR and BPJS are required".to_owned(),
            });
        }
        Ok(Reference { provinces, violations })
    }

    pub(crate) fn province_index(&self, code: &str) -> Option<usize> {
        self.provinces.iter().position(|p| p.code == code)
    }

    pub(crate) fn violation_index(&self, code: &str) -> usize {
        self.violations.iter().position(|v| v == code).unwrap_or(0)
    }
}

/// Relative weight of each violation code outside the THR season.
pub(crate) fn violation_weight(code: &str) -> f64 {
    match code {
        "UPAH_MINIMUM" => 12.0,
        "UPAH_TIDAK_DIBAYAR" => 20.0,
        "THR" => 2.0,
        "BPJS" => 14.0,
        "LEMBUR" => 8.0,
        "WAKTU_KERJA" => 5.0,
        "PHK_PESANGON" => 16.0,
        "PKWT" => 9.0,
        "K3" => 6.0,
        "KEBEBASAN_BERSERIKAT" => 2.5,
        "PEKERJA_ANAK" => 0.6,
        "DISKRIMINASI" => 1.5,
        _ => 3.0,
    }
}

/// (Ramadan start, Eid al-Fitr) day numbers, approximate, 2022–2028.
pub(crate) fn ramadan_seasons() -> [(i64, i64); 7] {
    [
        (days_from_civil(2022, 4, 2), days_from_civil(2022, 5, 2)),
        (days_from_civil(2023, 3, 23), days_from_civil(2023, 4, 22)),
        (days_from_civil(2024, 3, 11), days_from_civil(2024, 4, 10)),
        (days_from_civil(2025, 3, 1), days_from_civil(2025, 3, 31)),
        (days_from_civil(2026, 2, 18), days_from_civil(2026, 3, 20)),
        (days_from_civil(2027, 2, 8), days_from_civil(2027, 3, 10)),
        (days_from_civil(2028, 1, 28), days_from_civil(2028, 2, 27)),
    ]
}

/// Extra THR complaints on a day, as a multiple of the ordinary daily rate:
/// rising through Ramadan, peaking in the week before Eid (THR is due seven
/// days before it), trailing off two weeks after.
pub(crate) fn thr_boost(day: i64) -> f64 {
    for (start, eid) in ramadan_seasons() {
        if day >= start && day < eid + 15 {
            let to_eid = eid - day;
            return if to_eid > 14 {
                0.25
            } else if to_eid > 7 {
                0.8
            } else if to_eid > 1 {
                1.6
            } else if to_eid >= -2 {
                0.0 // the Eid holidays themselves: offices closed
            } else if to_eid >= -7 {
                1.2
            } else {
                0.5
            };
        }
    }
    0.0
}

/// Eid al-Fitr holidays, when the offices are closed and nothing is recorded.
pub(crate) fn is_eid_holiday(day: i64) -> bool {
    ramadan_seasons().iter().any(|&(_, eid)| day == eid || day == eid + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_spec_parses() -> Result<(), DemoError> {
        let r = Reference::load()?;
        assert_eq!(r.provinces.len(), 38);
        assert_eq!(r.violations.len(), 13);
        let papua = r.provinces.iter().find(|p| p.code == "91").map(|p| p.bps.clone());
        assert_eq!(papua.as_deref(), Some("94"));
        Ok(())
    }
}
