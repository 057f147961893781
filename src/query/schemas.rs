//! The schemas of the tables every query sees (`docs/lake-views.md`), written
//! once.
//!
//! The lake registers exactly these tables with exactly these Arrow types; the
//! fixture runner builds its input tables from them; a test of the lake module
//! compares what it registers against [`view_schema`]. Nothing here does I/O.
//!
//! Types: `string` = Utf8, `int` = Int64, `bool` = Boolean,
//! `timestamp` = Timestamp(Nanosecond, "UTC"), `date` = Date32. A field is
//! nullable exactly where the document writes `?`.

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

/// Every table name of `docs/lake-views.md`, in the document's order.
const VIEW_NAMES: &[&str] = &[
    "companies",
    "inspectors",
    "employers",
    "complaints",
    "complaint_events",
    "inspections",
    "contributions",
    "complaints_history",
    "complaint_events_history",
    "inspections_history",
    "contributions_history",
    "nights",
    "night_tables",
    "provinces",
    "violations",
    "complaint_statuses",
];

/// The names of all tables a query may read besides other queries, in the
/// order of `docs/lake-views.md`.
pub fn view_names() -> &'static [&'static str] {
    VIEW_NAMES
}

/// The schema of lake view `name`, or `None` when no such view exists.
pub fn view_schema(name: &str) -> Option<SchemaRef> {
    let fields = match name {
        "companies" => vec![
            string("company_id"),
            string_null("nib"),
            string("name"),
            string("province_code"),
            string_null("regency_code"),
            string_null("kbli_section"),
            string("size_class"),
            int_null("workers_total"),
            boolean("wlkp_registered"),
            timestamp("updated_at"),
            extract_date(),
        ],
        "inspectors" => vec![
            string("inspector_id"),
            string("nip_pseudonym"),
            string("name_pseudonym"),
            string("province_code"),
            string("rank"),
            boolean("is_ppns"),
            boolean("active"),
            timestamp("updated_at"),
            extract_date(),
        ],
        "employers" => vec![
            string("npp"),
            string_null("nib"),
            string("employer_name"),
            string("province_code"),
            string("province_code_bps"),
            string_null("kbli"),
            string("status"),
            int("registered_workers"),
            Field::new(
                "programs",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
                false,
            ),
            int("arrears_months"),
            int("arrears_amount_idr"),
            date("registered_on"),
            extract_date(),
        ],
        "complaints" | "complaints_history" => vec![
            string("complaint_id"),
            timestamp("received_at"),
            string("channel"),
            string("reporter_type"),
            string_null("union_name"),
            string_null("complainant_name_pseudonym"),
            string_null("complainant_nik_pseudonym"),
            string_null("complainant_phone_pseudonym"),
            string_null("company_id"),
            string("province_code"),
            string("violation_code"),
            int_null("workers_affected"),
            timestamp("updated_at"),
            extract_date(),
        ],
        "complaint_events" | "complaint_events_history" => vec![
            string("event_id"),
            string("complaint_id"),
            timestamp("event_at"),
            string("status"),
            string_null("inspector_id"),
            extract_date(),
        ],
        "inspections" | "inspections_history" => vec![
            string("inspection_id"),
            string("company_id"),
            string("inspector_id"),
            date("visit_date"),
            string("inspection_type"),
            string_null("complaint_id"),
            int("findings"),
            string("outcome"),
            extract_date(),
        ],
        "contributions" | "contributions_history" => vec![
            string("npp"),
            string("period"),
            int("workers_reported"),
            int("wage_total_idr"),
            int("contribution_idr"),
            Field::new("paid_at", DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())), true),
            extract_date(),
        ],
        "nights" => vec![string("source"), date("extract_date"), string("state")],
        "night_tables" => vec![
            string("source"),
            string("table_name"),
            int("table_order"),
            date("extract_date"),
            int("rows_read"),
            int("rows_accepted"),
            int("rows_quarantined"),
        ],
        "provinces" => vec![string("code"), string("bps_code"), string("name"), int("tile_row"), int("tile_col")],
        "violations" => vec![string("code"), string("name"), string("name_en"), int("ord")],
        "complaint_statuses" => vec![string("code"), string("name_id"), boolean("terminal"), boolean("follow_up")],
        _ => return None,
    };
    Some(Arc::new(Schema::new(fields)))
}

fn string(name: &str) -> Field {
    Field::new(name, DataType::Utf8, false)
}

fn string_null(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

fn int(name: &str) -> Field {
    Field::new(name, DataType::Int64, false)
}

fn int_null(name: &str) -> Field {
    Field::new(name, DataType::Int64, true)
}

fn boolean(name: &str) -> Field {
    Field::new(name, DataType::Boolean, false)
}

fn date(name: &str) -> Field {
    Field::new(name, DataType::Date32, false)
}

fn timestamp(name: &str) -> Field {
    Field::new(name, DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())), false)
}

fn extract_date() -> Field {
    date("_extract_date")
}
