//! Reference data of the contract: provinces (`spec/provinces.csv`),
//! violation codes (`spec/violations.csv`) and complaint status codes
//! (`spec/extracts.md`). The CSV files are compiled in; a test checks that
//! they parse and match the copies in `../shared/spec/` when present.

use std::sync::OnceLock;

pub const PROVINCES_CSV: &str = include_str!("../../spec/provinces.csv");
pub const VIOLATIONS_CSV: &str = include_str!("../../spec/violations.csv");

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Province {
    /// Kemendagri code (inspection system, report).
    pub code: String,
    /// Statistics-office code (insurance system).
    pub bps_code: String,
    pub name: String,
    pub tile_row: i64,
    pub tile_col: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub code: String,
    pub name: String,
    pub name_en: String,
}

/// Violation codes in the order of `violations.csv`.
pub const VIOLATION_CODES: &[&str] = &[
    "UPAH_MINIMUM",
    "UPAH_TIDAK_DIBAYAR",
    "THR",
    "BPJS",
    "LEMBUR",
    "WAKTU_KERJA",
    "PHK_PESANGON",
    "PKWT",
    "K3",
    "KEBEBASAN_BERSERIKAT",
    "PEKERJA_ANAK",
    "DISKRIMINASI",
    "LAINNYA",
];

/// A complaint status code with its Bahasa Indonesia name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status {
    pub code: &'static str,
    pub name_id: &'static str,
    pub terminal: bool,
    /// An inspector has acted on the complaint ("ditindaklanjuti").
    pub follow_up: bool,
}

pub const STATUSES: &[Status] = &[
    Status {
        code: "RECEIVED",
        name_id: "Diterima",
        terminal: false,
        follow_up: false,
    },
    Status {
        code: "VERIFIED",
        name_id: "Terverifikasi",
        terminal: false,
        follow_up: false,
    },
    Status {
        code: "REJECTED",
        name_id: "Ditolak / tidak memenuhi syarat",
        terminal: true,
        follow_up: false,
    },
    Status {
        code: "REDIRECTED",
        name_id: "Dialihkan",
        terminal: true,
        follow_up: false,
    },
    Status {
        code: "ASSIGNED",
        name_id: "Didisposisi",
        terminal: false,
        follow_up: false,
    },
    Status {
        code: "INSPECTED",
        name_id: "Diperiksa",
        terminal: false,
        follow_up: true,
    },
    Status {
        code: "NOTA_1",
        name_id: "Nota Pemeriksaan I",
        terminal: false,
        follow_up: true,
    },
    Status {
        code: "NOTA_2",
        name_id: "Nota Pemeriksaan II",
        terminal: false,
        follow_up: true,
    },
    Status {
        code: "SANCTION_RECOMMENDED",
        name_id: "Rekomendasi sanksi administratif",
        terminal: false,
        follow_up: true,
    },
    Status {
        code: "REFERRED_PPNS",
        name_id: "Dilimpahkan ke PPNS",
        terminal: false,
        follow_up: true,
    },
    Status {
        code: "RESOLVED",
        name_id: "Selesai",
        terminal: true,
        follow_up: true,
    },
    Status {
        code: "CLOSED_NO_VIOLATION",
        name_id: "Ditutup, tidak ada pelanggaran",
        terminal: true,
        follow_up: true,
    },
    Status {
        code: "WITHDRAWN",
        name_id: "Dicabut",
        terminal: true,
        follow_up: false,
    },
    Status {
        code: "CLOSED_UNRESOLVED",
        name_id: "Ditutup tanpa penyelesaian",
        terminal: true,
        follow_up: false,
    },
];

pub const STATUS_CODES: &[&str] = &[
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
];

fn parse_csv<T>(text: &str, f: impl Fn(&csv::StringRecord) -> Option<T>) -> Vec<T> {
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    rdr.records().filter_map(|r| r.ok()).filter_map(|r| f(&r)).collect()
}

/// The 38 provinces in file (code) order.
pub fn provinces() -> &'static [Province] {
    static P: OnceLock<Vec<Province>> = OnceLock::new();
    P.get_or_init(|| {
        parse_csv(PROVINCES_CSV, |r| {
            Some(Province {
                code: r.get(0)?.to_string(),
                bps_code: r.get(1)?.to_string(),
                name: r.get(2)?.to_string(),
                tile_row: r.get(3)?.parse().ok()?,
                tile_col: r.get(4)?.parse().ok()?,
            })
        })
    })
}

/// The 13 violation codes in file order.
pub fn violations() -> &'static [Violation] {
    static V: OnceLock<Vec<Violation>> = OnceLock::new();
    V.get_or_init(|| {
        parse_csv(VIOLATIONS_CSV, |r| {
            Some(Violation {
                code: r.get(0)?.to_string(),
                name: r.get(1)?.to_string(),
                name_en: r.get(2)?.to_string(),
            })
        })
    })
}

pub fn is_province(code: &str) -> bool {
    provinces().iter().any(|p| p.code == code)
}

pub fn is_bps_province(code: &str) -> bool {
    provinces().iter().any(|p| p.bps_code == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_data_parses() {
        assert_eq!(provinces().len(), 38);
        assert_eq!(violations().len(), 13);
        let codes: Vec<&str> = violations().iter().map(|v| v.code.as_str()).collect();
        assert_eq!(codes, VIOLATION_CODES);
        let st: Vec<&str> = STATUSES.iter().map(|s| s.code).collect();
        assert_eq!(st, STATUS_CODES);
        // Papua: Kemendagri 91 is BPS 94.
        let papua = provinces().iter().find(|p| p.code == "91").unwrap();
        assert_eq!(papua.bps_code, "94");
    }

    #[test]
    fn compiled_copy_matches_shared_spec() {
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/spec");
        for (name, ours) in [("provinces.csv", PROVINCES_CSV), ("violations.csv", VIOLATIONS_CSV)] {
            if let Ok(theirs) = std::fs::read_to_string(shared.join(name)) {
                assert_eq!(ours, theirs, "spec/{name} differs from ../shared/spec/{name}: copy it again");
            }
        }
    }
}
