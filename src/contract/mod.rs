//! The extract contract (`spec/extracts.md`) as data.
//!
//! Tables, files, columns, types, nullability, code lists, keys and which
//! columns are personal — compiled in, so the ingester, the lake, the demo
//! generator's tests and the data dictionary all read the same definition.
//! This module does no I/O.

pub mod reference;

use std::fmt;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use std::sync::Arc;

/// A source system: one folder per night under `<landing>/<system>/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    Inspection,
    Insurance,
}

impl System {
    pub const ALL: [System; 2] = [System::Inspection, System::Insurance];

    pub fn name(self) -> &'static str {
        match self {
            System::Inspection => "inspection",
            System::Insurance => "insurance",
        }
    }

    /// The contract tables this system delivers each night, in contract order.
    pub fn tables(self) -> impl Iterator<Item = &'static Table> {
        TABLES.iter().filter(move |t| t.system == self)
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Snapshot: the full table every night. Incremental: rows changed since the
/// previous extract; the latest extract date wins per key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Snapshot,
    Incremental,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

/// Value types of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColType {
    Str,
    Int,
    Bool,
    Timestamp,
    Date,
    /// JSON array of distinct strings (insurance `programs`).
    StrList,
}

impl ColType {
    /// The Arrow type of the column in the lake.
    pub fn arrow(self) -> DataType {
        match self {
            ColType::Str => DataType::Utf8,
            ColType::Int => DataType::Int64,
            ColType::Bool => DataType::Boolean,
            ColType::Timestamp => timestamp_type(),
            ColType::Date => DataType::Date32,
            ColType::StrList => DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            ColType::Str => "string",
            ColType::Int => "int",
            ColType::Bool => "bool",
            ColType::Timestamp => "timestamp",
            ColType::Date => "date",
            ColType::StrList => "array of string",
        }
    }
}

/// Instants: nanoseconds since the epoch, UTC.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()))
}

/// A value rule beyond the type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    None,
    /// Exactly this many ASCII digits.
    Digits(usize),
    /// One of these codes.
    OneOf(&'static [&'static str]),
    /// A Kemendagri province code of `provinces.csv`.
    Province,
    /// A statistics-office (BPS) province code of `provinces.csv`.
    ProvinceBps,
    /// A KBLI 2020 section letter A–U.
    KbliSection,
    /// `YYYY-MM`.
    YearMonth,
    /// Every element one of these codes, no repeats.
    SubsetOf(&'static [&'static str]),
}

/// What happens to a personal column at ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Personal {
    No,
    /// Replaced by a keyed pseudonym, stored as `<name>_pseudonym`; the
    /// string is the pseudonym's domain (so equal values of different kinds
    /// do not get equal pseudonyms).
    Pseudonymise(&'static str),
    /// Free text: validated as text, never stored.
    Drop,
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColType,
    pub nullable: bool,
    pub rule: Rule,
    pub personal: Personal,
    /// Meaning, for the data dictionary.
    pub doc: &'static str,
}

impl Column {
    /// Name of the column in the lake (personal columns are renamed).
    pub fn lake_name(&self) -> Option<String> {
        match self.personal {
            Personal::No => Some(self.name.to_string()),
            Personal::Pseudonymise(_) => Some(format!("{}_pseudonym", self.name)),
            Personal::Drop => None,
        }
    }

    /// Type of the column in the lake.
    pub fn lake_type(&self) -> DataType {
        match self.personal {
            Personal::Pseudonymise(_) => DataType::Utf8,
            _ => self.ty.arrow(),
        }
    }

    pub fn is_personal(&self) -> bool {
        self.personal != Personal::No
    }
}

/// A rule that involves two columns of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowRule {
    /// `regency` (when set) starts with `province`.
    RegencyInProvince { regency: &'static str, province: &'static str },
    /// `complaint_id` is set if and only if `inspection_type` = COMPLAINT.
    ComplaintIdIffComplaintInspection,
}

#[derive(Debug)]
pub struct Table {
    pub system: System,
    /// Table name = file name without extensions.
    pub name: &'static str,
    pub file: &'static str,
    pub kind: Kind,
    pub format: Format,
    pub key: &'static [&'static str],
    pub columns: &'static [Column],
    pub row_rules: &'static [RowRule],
    /// Position in `extracts.md` (1-based), the order of `data_quality`.
    pub order: u8,
    pub doc: &'static str,
}

/// Metadata column: the extract date (night) a lake row came from.
pub const EXTRACT_DATE: &str = "_extract_date";
/// Snapshot change files: `U` (row as of this night) or `D` (key gone).
pub const OP: &str = "_op";
/// Snapshot change files: 16 bytes of SHA-256 over the row's lake values.
pub const ROW_HASH: &str = "_row_hash";

impl Table {
    pub fn column(&self, name: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The lake columns in order (contract order, personal renamed, dropped omitted).
    pub fn lake_columns(&self) -> impl Iterator<Item = (usize, &'static Column)> {
        self.columns.iter().enumerate().filter(|(_, c)| c.personal != Personal::Drop)
    }

    /// Schema of the lake files of this table. Every column is nullable in
    /// the files (a snapshot tombstone carries only the key).
    pub fn lake_schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .lake_columns()
            .filter_map(|(_, c)| c.lake_name().map(|n| Field::new(n, c.lake_type(), true)))
            .collect();
        fields.push(Field::new(EXTRACT_DATE, DataType::Date32, false));
        if self.kind == Kind::Snapshot {
            fields.push(Field::new(OP, DataType::Utf8, false));
            fields.push(Field::new(ROW_HASH, DataType::FixedSizeBinary(16), true));
        }
        Arc::new(Schema::new(fields))
    }

    /// Human-readable `system/table`.
    pub fn qualified(&self) -> String {
        format!("{}/{}", self.system, self.name)
    }
}

pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// The contract table behind a lake view or table a query reads
/// (`complaints`, `complaints_history`, `lake_complaints`).
pub fn table_of_view(view: &str) -> Option<&'static Table> {
    let view = view.strip_prefix("lake_").unwrap_or(view);
    table(view.strip_suffix("_history").unwrap_or(view))
}

pub const SIZE_CLASSES: &[&str] = &["MIKRO", "KECIL", "MENENGAH", "BESAR"];
pub const RANKS: &[&str] = &["PERTAMA", "MUDA", "MADYA", "UTAMA"];
pub const CHANNELS: &[&str] = &["ONLINE", "WALK_IN", "EMAIL", "HOTLINE", "UNION_LETTER", "MEDIA", "REFERRAL"];
pub const REPORTER_TYPES: &[&str] = &["WORKER", "UNION", "ANONYMOUS", "OTHER"];
pub const INSPECTION_TYPES: &[&str] = &["ROUTINE", "COMPLAINT", "SPECIAL", "FOLLOW_UP"];
pub const OUTCOMES: &[&str] = &["COMPLIANT", "NOTA_1", "NOTA_2", "REFERRED_PPNS"];
pub const EMPLOYER_STATUSES: &[&str] = &["ACTIVE", "INACTIVE", "SUSPENDED"];
pub const PROGRAMS: &[&str] = &["JKK", "JKM", "JHT", "JP", "JKP"];

const fn col(name: &'static str, ty: ColType, nullable: bool, rule: Rule, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable,
        rule,
        personal: Personal::No,
        doc,
    }
}

const fn personal(name: &'static str, ty: ColType, nullable: bool, rule: Rule, p: Personal, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable,
        rule,
        personal: p,
        doc,
    }
}

use ColType::{Bool, Date, Int, Str, StrList, Timestamp};

pub static TABLES: [Table; 7] = [
    Table {
        system: System::Inspection,
        name: "companies",
        file: "companies.csv.gz",
        kind: Kind::Snapshot,
        format: Format::Csv,
        key: &["company_id"],
        order: 1,
        doc: "Companies known to the inspection system (snapshot).",
        row_rules: &[RowRule::RegencyInProvince {
            regency: "regency_code",
            province: "province_code",
        }],
        columns: &[
            col("company_id", Str, false, Rule::None, "id in the inspection system"),
            col(
                "nib",
                Str,
                true,
                Rule::Digits(13),
                "national business id (OSS NIB); links to insurance",
            ),
            col("name", Str, false, Rule::None, "company name"),
            col("province_code", Str, false, Rule::Province, "Kemendagri province code"),
            col("regency_code", Str, true, Rule::Digits(4), "Kemendagri regency/city code"),
            col("kbli_section", Str, true, Rule::KbliSection, "KBLI 2020 section"),
            col("size_class", Str, false, Rule::OneOf(SIZE_CLASSES), "MIKRO, KECIL, MENENGAH, BESAR"),
            col("workers_total", Int, true, Rule::None, "workers reported by the company (WLKP)"),
            col(
                "wlkp_registered",
                Bool,
                false,
                Rule::None,
                "filed the mandatory company labour report",
            ),
            col("updated_at", Timestamp, false, Rule::None, "last change upstream"),
        ],
    },
    Table {
        system: System::Inspection,
        name: "inspectors",
        file: "inspectors.csv.gz",
        kind: Kind::Snapshot,
        format: Format::Csv,
        key: &["inspector_id"],
        order: 2,
        doc: "Labour inspectors (snapshot).",
        row_rules: &[],
        columns: &[
            col("inspector_id", Str, false, Rule::None, "inspector id"),
            personal(
                "nip",
                Str,
                false,
                Rule::Digits(18),
                Personal::Pseudonymise("nip"),
                "civil-servant number (pseudonymised)",
            ),
            personal(
                "name",
                Str,
                false,
                Rule::None,
                Personal::Pseudonymise("name"),
                "name (pseudonymised)",
            ),
            col("province_code", Str, false, Rule::Province, "province office served"),
            col("rank", Str, false, Rule::OneOf(RANKS), "PERTAMA, MUDA, MADYA, UTAMA"),
            col("is_ppns", Bool, false, Rule::None, "also a certified civil-servant investigator"),
            col("active", Bool, false, Rule::None, "currently serving as an inspector"),
            col("updated_at", Timestamp, false, Rule::None, "last change upstream"),
        ],
    },
    Table {
        system: System::Inspection,
        name: "complaints",
        file: "complaints.csv.gz",
        kind: Kind::Incremental,
        format: Format::Csv,
        key: &["complaint_id"],
        order: 3,
        doc: "Complaints of violations of workers' normative rights (incremental).",
        row_rules: &[],
        columns: &[
            col("complaint_id", Str, false, Rule::None, "complaint id"),
            col("received_at", Timestamp, false, Rule::None, "when the complaint was received"),
            col("channel", Str, false, Rule::OneOf(CHANNELS), "how it was received"),
            col("reporter_type", Str, false, Rule::OneOf(REPORTER_TYPES), "who reported"),
            col("union_name", Str, true, Rule::None, "reporting union, when reporter_type = UNION"),
            personal(
                "complainant_name",
                Str,
                true,
                Rule::None,
                Personal::Pseudonymise("name"),
                "complainant (pseudonymised)",
            ),
            personal(
                "complainant_nik",
                Str,
                true,
                Rule::Digits(16),
                Personal::Pseudonymise("nik"),
                "national identity number (pseudonymised)",
            ),
            personal(
                "complainant_phone",
                Str,
                true,
                Rule::None,
                Personal::Pseudonymise("phone"),
                "phone (pseudonymised)",
            ),
            col("company_id", Str, true, Rule::None, "complained-about company, when identified"),
            col("province_code", Str, false, Rule::Province, "province of the workplace"),
            col(
                "violation_code",
                Str,
                false,
                Rule::OneOf(reference::VIOLATION_CODES),
                "violation code",
            ),
            col("workers_affected", Int, true, Rule::None, "workers affected"),
            personal("description", Str, true, Rule::None, Personal::Drop, "free text (not stored)"),
            col("updated_at", Timestamp, false, Rule::None, "last change upstream"),
        ],
    },
    Table {
        system: System::Inspection,
        name: "complaint_events",
        file: "complaint_events.csv.gz",
        kind: Kind::Incremental,
        format: Format::Csv,
        key: &["event_id"],
        order: 4,
        doc: "Status changes of complaints (incremental; may arrive late or before their complaint).",
        row_rules: &[],
        columns: &[
            col("event_id", Str, false, Rule::None, "event id"),
            col("complaint_id", Str, false, Rule::None, "complaint"),
            col("event_at", Timestamp, false, Rule::None, "when the complaint entered this status"),
            col("status", Str, false, Rule::OneOf(reference::STATUS_CODES), "status code"),
            col("inspector_id", Str, true, Rule::None, "inspector acting, when there is one"),
        ],
    },
    Table {
        system: System::Inspection,
        name: "inspections",
        file: "inspections.csv.gz",
        kind: Kind::Incremental,
        format: Format::Csv,
        key: &["inspection_id"],
        order: 5,
        doc: "Inspection visits (incremental).",
        row_rules: &[RowRule::ComplaintIdIffComplaintInspection],
        columns: &[
            col("inspection_id", Str, false, Rule::None, "inspection id"),
            col("company_id", Str, false, Rule::None, "company inspected"),
            col("inspector_id", Str, false, Rule::None, "inspector"),
            col("visit_date", Date, false, Rule::None, "date of the visit"),
            col(
                "inspection_type",
                Str,
                false,
                Rule::OneOf(INSPECTION_TYPES),
                "ROUTINE, COMPLAINT, SPECIAL, FOLLOW_UP",
            ),
            col(
                "complaint_id",
                Str,
                true,
                Rule::None,
                "set if and only if inspection_type = COMPLAINT",
            ),
            col("findings", Int, false, Rule::None, "violations found (0 = compliant)"),
            col(
                "outcome",
                Str,
                false,
                Rule::OneOf(OUTCOMES),
                "COMPLIANT, NOTA_1, NOTA_2, REFERRED_PPNS",
            ),
        ],
    },
    Table {
        system: System::Insurance,
        name: "employers",
        file: "employers.jsonl.gz",
        kind: Kind::Snapshot,
        format: Format::JsonLines,
        key: &["npp"],
        order: 6,
        doc: "Employers registered with BPJS Ketenagakerjaan (snapshot).",
        row_rules: &[],
        columns: &[
            col("npp", Str, false, Rule::Digits(8), "employer registration number"),
            col("nib", Str, true, Rule::Digits(13), "national business id; links to companies.nib"),
            col("employer_name", Str, false, Rule::None, "employer name"),
            col(
                "province_code",
                Str,
                false,
                Rule::ProvinceBps,
                "statistics-office (BPS) province code as delivered",
            ),
            col("kbli", Str, true, Rule::Digits(5), "KBLI 2020 code"),
            col("status", Str, false, Rule::OneOf(EMPLOYER_STATUSES), "ACTIVE, INACTIVE, SUSPENDED"),
            col("registered_workers", Int, false, Rule::None, "workers enrolled"),
            col(
                "programs",
                StrList,
                false,
                Rule::SubsetOf(PROGRAMS),
                "programs (JKK, JKM, JHT, JP, JKP)",
            ),
            col("arrears_months", Int, false, Rule::None, "months of unpaid contributions"),
            col("arrears_amount_idr", Int, false, Rule::None, "rupiah owed"),
            col("registered_on", Date, false, Rule::None, "registration date"),
        ],
    },
    Table {
        system: System::Insurance,
        name: "contributions",
        file: "contributions.jsonl.gz",
        kind: Kind::Incremental,
        format: Format::JsonLines,
        key: &["npp", "period"],
        order: 7,
        doc: "Monthly contributions per employer (incremental).",
        row_rules: &[],
        columns: &[
            col("npp", Str, false, Rule::Digits(8), "employer"),
            col("period", Str, false, Rule::YearMonth, "contribution month YYYY-MM"),
            col("workers_reported", Int, false, Rule::None, "workers reported"),
            col("wage_total_idr", Int, false, Rule::None, "total reported wages"),
            col("contribution_idr", Int, false, Rule::None, "contribution due"),
            col("paid_at", Timestamp, true, Rule::None, "when paid; null = unpaid"),
        ],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_shape() {
        assert_eq!(System::Inspection.tables().count(), 5);
        assert_eq!(System::Insurance.tables().count(), 2);
        for (i, t) in TABLES.iter().enumerate() {
            assert_eq!(t.order as usize, i + 1);
            for k in t.key {
                let c = t.column(k).unwrap();
                assert!(!c.nullable && !c.is_personal(), "{}.{k}", t.name);
            }
        }
        let s = table("complaints").unwrap().lake_schema();
        let names: Vec<&str> = s.fields().iter().map(|f| f.name().as_str()).collect();
        assert!(names.contains(&"complainant_nik_pseudonym"));
        assert!(!names.contains(&"description"));
        assert!(!names.contains(&"complainant_nik"));
    }
}
