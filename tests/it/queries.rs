//! The query module: the SQL fixtures of `tests/queries/`, the loader's
//! checks (headers, dependencies, parameters) with their exact messages, and
//! the deterministic CSV and Parquet writers.
//!
//! `WASNAKER_UPDATE_FIXTURES=1` rewrites the expected files that differ (for
//! reviewing a change with `git diff`; expectations are worked out by hand,
//! see each case's README.md).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::prelude::SessionContext;
use wasnaker::query::fixture::{self, TableOutcome};
use wasnaker::query::reference::reference_tables;
use wasnaker::query::schemas::{view_names, view_schema};
use wasnaker::query::{QueryKind, QuerySet, ReportParams, ReportSettings, parquet_created_by, to_csv, to_parquet};

type TestResult = Result<(), Box<dyn Error>>;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn october() -> Result<ReportParams, Box<dyn Error>> {
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).ok_or("bad date")?;
    Ok(ReportParams::new("2026-10", as_of, ReportSettings::default())?)
}

// ---------------------------------------------------------------- fixtures

/// The cases shipped with the project. Every folder of `tests/queries/` runs
/// (as in `wasnaker test`), so adding a case needs no Rust; this list only
/// guards against losing one.
const SHIPPED_CASES: &[&str] = &[
    "age_buckets",
    "data_quality",
    "empty_lake",
    "insurance_crosscheck",
    "medians_rounding",
    "month_boundaries",
    "sla_cohort",
    "sla_days_override",
    "status_rules",
    "supervision",
];

#[tokio::test]
async fn every_query_test_folder_passes() -> TestResult {
    let queries = QuerySet::load_dir(&root().join("queries"))?;
    let update = std::env::var_os("WASNAKER_UPDATE_FIXTURES").is_some_and(|v| v == "1");
    let suite = fixture::run_suite(&queries, &root().join("tests/queries"), update, &[]).await?;
    let names: Vec<&str> = suite.cases.iter().map(|(n, _)| n.as_str()).collect();
    for shipped in SHIPPED_CASES {
        assert!(names.contains(shipped), "case {shipped} is gone: {names:?}");
    }
    for (case, result) in &suite.cases {
        if let Ok(report) = result {
            assert!(!report.tables.is_empty(), "{case}: no table checked");
        }
    }
    assert!(suite.passed(), "\n{}", suite.render());
    Ok(())
}

#[tokio::test]
async fn a_suite_reports_each_case_and_runs_the_others_after_a_broken_one() -> TestResult {
    let root_dir = tempfile::tempdir()?;
    let good = root_dir.path().join("good");
    std::fs::create_dir_all(good.join("expected"))?;
    std::fs::write(good.join("params.toml"), "month = \"2026-10\"\nas_of = \"2026-11-02\"\n")?;
    std::fs::copy(
        root().join("tests/queries/empty_lake/expected/followup_by_violation.csv"),
        good.join("expected/followup_by_violation.csv"),
    )?;
    // The expectation is of 2026-02; with month 2026-10 the period differs.
    // A case without any expected file cannot run.
    let broken = root_dir.path().join("broken");
    std::fs::create_dir_all(&broken)?;
    std::fs::write(broken.join("params.toml"), "month = \"2026-10\"\nas_of = \"2026-11-02\"\n")?;
    let queries = QuerySet::load_dir(&root().join("queries"))?;
    let suite = fixture::run_suite(&queries, root_dir.path(), false, &[]).await?;
    assert!(!suite.passed());
    let rendered = suite.render();
    assert!(
        rendered.starts_with(&format!(
            "broken: ERROR: {}: no expected/<table>.csv: a case must check at least one table\n",
            broken.join("expected").display()
        )),
        "{rendered}"
    );
    assert!(rendered.contains("good/followup_by_violation: MISMATCH\n"), "{rendered}");
    assert!(rendered.contains("period (expected `2026-02`, actual `2026-10`)"), "{rendered}");
    assert!(
        rendered.ends_with("FAILED: 2 case(s), 1 table(s) checked: 0 passed, 1 failed, 0 updated; 1 case(s) could not run\n"),
        "{rendered}"
    );
    // Only one case, by name; an unknown name is refused with the known ones.
    let one = fixture::run_suite(&queries, root_dir.path(), false, &["good".to_string()]).await?;
    assert_eq!(one.cases.len(), 1);
    let error = fixture::run_suite(&queries, root_dir.path(), false, &["god".to_string()])
        .await
        .err()
        .ok_or("expected an error")?;
    assert_eq!(
        error.to_string(),
        format!(
            "{}: no such case (a folder with a params.toml); the cases are broken, good; did you mean `good`?",
            root_dir.path().join("god").display()
        )
    );
    Ok(())
}

#[tokio::test]
async fn a_mismatch_is_reported_as_a_readable_diff() -> TestResult {
    let case = tempfile::tempdir()?;
    std::fs::create_dir_all(case.path().join("expected"))?;
    std::fs::write(case.path().join("params.toml"), "month = \"2026-10\"\nas_of = \"2026-11-02\"\n")?;
    // Empty lake: everything 0; claim one complaint was received in Aceh.
    let mut expected =
        String::from("period,violation_code,violation_name,received,open_at_end,open_not_followed_up,median_days_to_follow_up\n");
    for (code, name) in [
        ("UPAH_MINIMUM", "Upah di bawah upah minimum"),
        ("UPAH_TIDAK_DIBAYAR", "Upah tidak dibayar / terlambat"),
        ("THR", "Tunjangan Hari Raya"),
    ] {
        let received = if code == "THR" { 1 } else { 0 };
        expected.push_str(&format!("2026-10,{code},{name},{received},0,0,\n"));
    }
    std::fs::write(case.path().join("expected/followup_by_violation.csv"), &expected)?;
    let queries = QuerySet::load_dir(&root().join("queries"))?;
    let report = fixture::run_case(&queries, case.path(), false).await?;
    assert!(!report.passed());
    let [(table, TableOutcome::Failed(diff))] = report.tables.as_slice() else {
        return Err(format!("unexpected outcome {:?}", report.tables).into());
    };
    assert_eq!(table, "followup_by_violation");
    assert_eq!(
        diff,
        "    header: period,violation_code,violation_name,received,open_at_end,open_not_followed_up,median_days_to_follow_up\n\
         \x20 -   4 expected: 2026-10,THR,Tunjangan Hari Raya,1,0,0,\n\
         \x20 +   4 actual:   2026-10,THR,Tunjangan Hari Raya,0,0,0,\n\
         \x20       differs in: received (expected `1`, actual `0`)\n\
         \x20 +   5 actual:   2026-10,BPJS,Tidak didaftarkan BPJS,0,0,0,\n\
         \x20 +   6 actual:   2026-10,LEMBUR,Upah lembur,0,0,0,\n\
         \x20 +   7 actual:   2026-10,WAKTU_KERJA,Waktu kerja dan istirahat,0,0,0,\n\
         \x20 +   8 actual:   2026-10,PHK_PESANGON,PHK dan pesangon,0,0,0,\n\
         \x20 +   9 actual:   2026-10,PKWT,Kontrak kerja (PKWT) / alih daya,0,0,0,\n\
         \x20 +  10 actual:   2026-10,K3,Keselamatan dan kesehatan kerja,0,0,0,\n\
         \x20 +  11 actual:   2026-10,KEBEBASAN_BERSERIKAT,Kebebasan berserikat,0,0,0,\n\
         \x20 +  12 actual:   2026-10,PEKERJA_ANAK,Pekerja anak,0,0,0,\n\
         \x20 +  13 actual:   2026-10,DISKRIMINASI,Diskriminasi / hak pekerja perempuan,0,0,0,\n\
         \x20 +  14 actual:   2026-10,LAINNYA,Lainnya,0,0,0,\n"
    );
    Ok(())
}

#[tokio::test]
async fn update_rewrites_a_differing_expected_file() -> TestResult {
    let case = tempfile::tempdir()?;
    std::fs::create_dir_all(case.path().join("expected"))?;
    std::fs::write(case.path().join("params.toml"), "month = \"2026-10\"\nas_of = \"2026-11-02\"\n")?;
    let path = case.path().join("expected/data_quality.csv");
    std::fs::write(&path, "stale\n")?;
    let queries = QuerySet::load_dir(&root().join("queries"))?;
    let report = fixture::run_case(&queries, case.path(), true).await?;
    assert_eq!(report.tables, vec![("data_quality".to_string(), TableOutcome::Updated)]);
    let again = fixture::run_case(&queries, case.path(), false).await?;
    assert_eq!(again.tables, vec![("data_quality".to_string(), TableOutcome::Passed)]);
    Ok(())
}

#[tokio::test]
async fn a_bad_fixture_value_names_file_record_and_column() -> TestResult {
    let case = tempfile::tempdir()?;
    std::fs::create_dir_all(case.path().join("input"))?;
    std::fs::write(
        case.path().join("input/complaints.csv"),
        "complaint_id,received_at\nA,2026-10-01T00:00:00Z\nB,yesterday\n",
    )?;
    let ctx = SessionContext::new();
    let err = fixture::register_inputs(&ctx, &case.path().join("input"))
        .err()
        .ok_or("expected an error")?;
    let file = case.path().join("input/complaints.csv");
    assert_eq!(
        err.to_string(),
        format!(
            "{}: record 2, column `received_at`: cannot read `yesterday` as Timestamp(ns, \"UTC\"): Parser error: Error parsing timestamp from 'yesterday': timestamp must contain at least 10 characters",
            file.display()
        )
    );
    Ok(())
}

#[tokio::test]
async fn an_unknown_fixture_column_is_refused() -> TestResult {
    let case = tempfile::tempdir()?;
    std::fs::create_dir_all(case.path().join("input"))?;
    std::fs::write(case.path().join("input/nights.csv"), "source,night\n")?;
    let err = fixture::register_inputs(&SessionContext::new(), &case.path().join("input"))
        .err()
        .ok_or("expected an error")?;
    assert_eq!(
        err.to_string(),
        format!(
            "{}: column `night` is not a column of this view; its columns are source, extract_date, state",
            case.path().join("input/nights.csv").display()
        )
    );
    Ok(())
}

// ---------------------------------------------------------- query folder

#[test]
fn the_query_folder_loads_in_dependency_order() -> TestResult {
    let queries = QuerySet::load_dir(&root().join("queries"))?;
    let order: Vec<(&str, QueryKind)> = queries.queries().iter().map(|q| (q.name.as_str(), q.kind)).collect();
    assert_eq!(
        order,
        vec![
            ("complaint_state", QueryKind::View),
            ("data_quality", QueryKind::Report),
            ("followup_by_province", QueryKind::Report),
            ("followup_by_violation", QueryKind::Report),
            ("insurance_crosscheck", QueryKind::Report),
            ("supervision_map", QueryKind::Report),
        ]
    );
    let supervision = queries.get("supervision_map").ok_or("supervision_map")?;
    assert_eq!(
        supervision.reads,
        vec![
            "companies",
            "employers",
            "followup_by_province",
            "inspections",
            "inspectors",
            "provinces"
        ]
    );
    assert_eq!(
        supervision.params,
        vec![
            "period",
            "workers_per_inspector",
            "companies_per_inspector_year",
            "window_12m_start",
            "month_last_day"
        ]
    );
    assert_eq!(supervision.title_en, "Labour-inspection capacity by province");
    // The SHA-256 is of the file bytes.
    let bytes = std::fs::read(root().join("queries/supervision_map.sql"))?;
    use sha2::Digest;
    assert_eq!(supervision.sha256, hex::encode(sha2::Sha256::digest(&bytes)));
    assert_eq!(supervision.sql.as_bytes(), bytes.as_slice());
    Ok(())
}

// ------------------------------------------------------- loader messages

/// A query file text with a valid header.
fn query(name: &str, kind: &str, params: &str, sql: &str) -> Vec<u8> {
    format!(
        "-- table: {name}\n-- kind: {kind}\n-- title_id: Judul\n-- title_en: Title\n-- params: {params}\n-- description: What it counts.\n{sql}\n"
    )
    .into_bytes()
}

fn load(files: Vec<(&str, Vec<u8>)>) -> Result<QuerySet, wasnaker::query::QueryError> {
    QuerySet::from_sources(
        files
            .into_iter()
            .map(|(name, bytes)| (PathBuf::from(format!("queries/{name}.sql")), bytes))
            .collect(),
    )
}

fn load_error(files: Vec<(&str, Vec<u8>)>) -> Result<String, Box<dyn Error>> {
    match load(files) {
        Ok(_) => Err("expected an error".into()),
        Err(e) => Ok(e.to_string()),
    }
}

#[test]
fn a_file_without_header_is_refused() -> TestResult {
    assert_eq!(
        load_error(vec![("a", b"SELECT 1 AS x\n".to_vec())])?,
        "queries/a.sql:1: expected the header of a query file: `-- table: <name>`, then `-- kind:`, `-- title_id:`, `-- title_en:`, `-- params:` and `-- description:` lines"
    );
    Ok(())
}

#[test]
fn an_unknown_header_key_is_refused() -> TestResult {
    let text = b"-- table: a\n-- kind: report\n-- titel_en: Title\nSELECT 1 AS x\n".to_vec();
    assert_eq!(
        load_error(vec![("a", text)])?,
        "queries/a.sql:3: unknown header key `titel_en`; expected one of table, kind, title_id, title_en, params, description, or `column <name>`"
    );
    Ok(())
}

#[test]
fn a_bad_kind_is_refused() -> TestResult {
    assert_eq!(
        load_error(vec![("a", query("a", "table", "", "SELECT 1 AS x"))])?,
        "queries/a.sql:2: kind `table` is not valid; expected `report` (a published table) or `view` (a helper read by other queries)"
    );
    Ok(())
}

#[test]
fn a_missing_header_key_is_refused() -> TestResult {
    let text = b"-- table: a\n-- kind: view\n-- title_id: J\n-- title_en: T\n-- params:\nSELECT 1 AS x\n".to_vec();
    assert_eq!(
        load_error(vec![("a", text)])?,
        "queries/a.sql:1: the header lacks `-- description: ...`"
    );
    Ok(())
}

#[test]
fn a_repeated_header_key_is_refused() -> TestResult {
    let text = b"-- table: a\n-- kind: view\n-- kind: report\nSELECT 1 AS x\n".to_vec();
    assert_eq!(
        load_error(vec![("a", text)])?,
        "queries/a.sql:3: header key `kind` is given twice (first on line 2)"
    );
    Ok(())
}

#[test]
fn a_malformed_header_line_is_refused() -> TestResult {
    let text = b"-- table: a\n--kind: view\nSELECT 1 AS x\n".to_vec();
    assert_eq!(
        load_error(vec![("a", text)])?,
        "queries/a.sql:2: expected `-- <key>: <value>` (one space after `--`) or a continuation line indented by two spaces (`--   more text`)"
    );
    Ok(())
}

#[test]
fn the_table_must_match_the_file_name() -> TestResult {
    assert_eq!(
        load_error(vec![("a", query("b", "view", "", "SELECT 1 AS x"))])?,
        "queries/a.sql:1: table `b` does not match the file name: name the file `b.sql` or the table `a`"
    );
    Ok(())
}

#[test]
fn a_query_cannot_take_a_lake_view_name() -> TestResult {
    assert_eq!(
        load_error(vec![("complaints", query("complaints", "view", "", "SELECT 1 AS x"))])?,
        "queries/complaints.sql:1: table `complaints` is a lake view; a query cannot replace it: choose another name (and file name)"
    );
    Ok(())
}

#[test]
fn a_description_continues_on_indented_lines() -> TestResult {
    let text = b"-- table: a\n-- kind: view\n-- title_id: J\n-- title_en: T\n-- params:\n-- description: First line,\n--   second line.\n--\nSELECT 1 AS x\n".to_vec();
    let set = load(vec![("a", text)])?;
    let a = set.get("a").ok_or("a")?;
    assert_eq!(a.description, "First line, second line.");
    assert!(a.params.is_empty());
    Ok(())
}

#[test]
fn column_lines_document_output_columns() -> TestResult {
    let text = b"-- table: a\n-- kind: report\n-- title_id: J\n-- title_en: T\n-- params:\n-- description: D.\n-- column x: the first\n--   line and more\n-- column y: why\nSELECT 1 AS x, 2 AS y\n".to_vec();
    let set = load(vec![("a", text)])?;
    let docs: Vec<(String, usize, String)> = set
        .get("a")
        .ok_or("a")?
        .columns
        .iter()
        .map(|d| (d.name.clone(), d.line, d.meaning.clone()))
        .collect();
    assert_eq!(
        docs,
        vec![
            ("x".to_string(), 7, "the first line and more".to_string()),
            ("y".to_string(), 9, "why".to_string())
        ]
    );
    let twice = b"-- table: a\n-- kind: view\n-- column x: one\n-- column x: two\nSELECT 1 AS x\n".to_vec();
    assert_eq!(
        load_error(vec![("a", twice)])?,
        "queries/a.sql:4: header key `column x` is given twice (first on line 3)"
    );
    let empty =
        b"-- table: a\n-- kind: view\n-- title_id: J\n-- title_en: T\n-- params:\n-- description: D.\n-- column x:\nSELECT 1 AS x\n"
            .to_vec();
    assert_eq!(
        load_error(vec![("a", empty)])?,
        "queries/a.sql:7: `-- column x:` is empty: say what the column holds"
    );
    Ok(())
}

#[test]
fn an_undeclared_parameter_is_refused() -> TestResult {
    let text = query("a", "report", "$period", "SELECT $period AS p,\n  $month_end AS e");
    assert_eq!(
        load_error(vec![("a", text)])?,
        "queries/a.sql:8:3: the SQL uses `$month_end`, which the header's `-- params:` line (line 5) does not declare"
    );
    Ok(())
}

#[test]
fn an_unused_declared_parameter_is_refused() -> TestResult {
    let text = query("a", "report", "$period, $as_of", "SELECT $period AS p");
    assert_eq!(
        load_error(vec![("a", text)])?,
        "queries/a.sql:5:21: the header declares `$as_of`, which the SQL does not use; remove it from `-- params:`"
    );
    Ok(())
}

#[test]
fn a_positional_parameter_is_refused() -> TestResult {
    let text = query("a", "report", "", "SELECT 1 AS x\nWHERE 1 = $1");
    assert_eq!(
        load_error(vec![("a", text)])?,
        "queries/a.sql:8: placeholder `$1`: use named parameters (`$month_start`), never positional ones"
    );
    Ok(())
}

#[test]
fn two_statements_are_refused() -> TestResult {
    let text = query("a", "report", "", "SELECT 1 AS x;\nSELECT 2 AS y;");
    assert_eq!(
        load_error(vec![("a", text)])?,
        "queries/a.sql:8: the file holds 2 statements; expected exactly one SELECT"
    );
    Ok(())
}

#[test]
fn a_statement_other_than_select_is_refused() -> TestResult {
    let text = query("a", "report", "", "DELETE FROM complaints");
    assert_eq!(
        load_error(vec![("a", text)])?,
        "queries/a.sql:7: expected a SELECT statement (optionally with WITH); a query file never changes data"
    );
    Ok(())
}

#[test]
fn an_unknown_table_names_file_and_line() -> TestResult {
    let text = query(
        "a",
        "report",
        "",
        "SELECT c.complaint_id\nFROM complaints AS c\nJOIN complaint_event AS e ON e.complaint_id = c.complaint_id",
    );
    assert_eq!(
        load_error(vec![("a", text)])?,
        "queries/a.sql:9:6: unknown table `complaint_event`: it is not a lake view (see docs/lake-views.md) and no query file declares it; did you mean `complaint_events`?"
    );
    Ok(())
}

#[test]
fn with_names_and_table_functions_are_not_tables() -> TestResult {
    let text = query(
        "a",
        "report",
        "",
        "WITH recent AS (SELECT complaint_id FROM complaints),\n  days AS (SELECT unnest(generate_series(1, 3)) AS d)\nSELECT r.complaint_id, d.d FROM recent AS r, days AS d, (SELECT * FROM range(2)) AS x",
    );
    let set = load(vec![("a", text)])?;
    assert_eq!(set.get("a").ok_or("a")?.reads, vec!["complaints"]);
    Ok(())
}

#[test]
fn a_with_name_hiding_a_table_is_refused() -> TestResult {
    let text = query("a", "report", "", "WITH complaints AS (SELECT 1 AS x)\nSELECT x FROM complaints");
    assert_eq!(
        load_error(vec![("a", text)])?,
        "queries/a.sql:7: `WITH complaints` hides the table of the same name; give it another name"
    );
    Ok(())
}

#[test]
fn queries_run_after_the_queries_they_read() -> TestResult {
    let set = load(vec![
        ("c", query("c", "report", "", "SELECT x FROM b")),
        ("d", query("d", "report", "", "SELECT count(*) AS n FROM complaints")),
        ("a", query("a", "view", "", "SELECT 1 AS x")),
        ("b", query("b", "view", "", "SELECT x FROM a\nUNION ALL SELECT x FROM \"a\"")),
    ])?;
    let order: Vec<&str> = set.queries().iter().map(|q| q.name.as_str()).collect();
    assert_eq!(order, vec!["a", "b", "c", "d"]);
    let reports: Vec<&str> = set.reports().map(|q| q.name.as_str()).collect();
    assert_eq!(reports, vec!["c", "d"]);
    Ok(())
}

#[test]
fn a_cycle_names_file_and_line() -> TestResult {
    let error = load_error(vec![
        ("x", query("x", "view", "", "SELECT 1 AS v FROM complaints")),
        ("b", query("b", "view", "", "SELECT v\nFROM c")),
        ("c", query("c", "view", "", "SELECT v FROM a")),
        ("a", query("a", "report", "", "SELECT v\nFROM x\nJOIN b USING (v)")),
    ])?;
    assert_eq!(
        error,
        "queries/a.sql:9: dependency cycle: a → b → c → a; a query may only read lake views and queries that do not read it back"
    );
    Ok(())
}

#[test]
fn a_query_reading_itself_is_a_cycle() -> TestResult {
    assert_eq!(
        load_error(vec![("a", query("a", "view", "", "SELECT 1 AS v\nFROM a"))])?,
        "queries/a.sql:8: dependency cycle: a → a; a query may only read lake views and queries that do not read it back"
    );
    Ok(())
}

#[test]
fn two_files_cannot_declare_one_table() -> TestResult {
    let error = QuerySet::from_sources(vec![
        (PathBuf::from("queries/a.sql"), query("a", "view", "", "SELECT 1 AS v")),
        (PathBuf::from("other/a.sql"), query("a", "view", "", "SELECT 1 AS v")),
    ])
    .err()
    .ok_or("expected an error")?;
    assert_eq!(
        error.to_string(),
        "other/a.sql:1: table `a` is already declared by queries/a.sql; every query file declares its own table"
    );
    Ok(())
}

// ---------------------------------------------------------------- running

#[tokio::test]
async fn a_parameter_the_run_does_not_provide_is_named() -> TestResult {
    let set = load(vec![("a", query("a", "report", "$region", "SELECT 1 AS x\nWHERE $region = 'x'"))])?;
    let ctx = SessionContext::new();
    let error = set.run(&ctx, &october()?).await.err().ok_or("expected an error")?;
    assert_eq!(
        error.to_string(),
        "queries/a.sql:8:7: parameter `$region` is not provided; the provided parameters are $as_of, $cohort_end, $cohort_start, $companies_per_inspector_year, $month_end, $month_first_day, $month_last_day, $month_start, $period, $sla_days, $window_12m_start, $workers_per_inspector"
    );
    Ok(())
}

#[tokio::test]
async fn a_float_result_is_refused() -> TestResult {
    let set = load(vec![("a", query("a", "report", "", "SELECT 7 / 2.0 AS ratio"))])?;
    let error = set
        .run(&SessionContext::new(), &october()?)
        .await
        .err()
        .ok_or("expected an error")?;
    assert_eq!(
        error.to_string(),
        "queries/a.sql: column `ratio` is Float64: published figures must be exact; compute it as DECIMAL(p, 1) (see report.md \"Rounding\")"
    );
    Ok(())
}

#[tokio::test]
async fn parameters_are_bound_with_their_types() -> TestResult {
    let set = load(vec![(
        "a",
        query(
            "a",
            "report",
            "$period, $month_start, $month_end, $month_last_day, $sla_days",
            "SELECT $period AS period,\n  arrow_cast($month_start, 'Int64') AS start_ns,\n  arrow_cast($month_end, 'Int64') AS end_ns,\n  $month_last_day AS last_day,\n  $sla_days AS sla_days",
        ),
    )])?;
    let tables = set.run(&SessionContext::new(), &october()?).await?;
    let [table] = tables.as_slice() else {
        return Err("one table".into());
    };
    assert_eq!(
        String::from_utf8(to_csv(&table.schema, &table.batches)?)?,
        "period,start_ns,end_ns,last_day,sla_days\n2026-10,1790787600000000000,1793466000000000000,2026-10-31,30\n"
    );
    Ok(())
}

#[tokio::test]
async fn views_are_readable_by_later_queries_and_reports_are_returned() -> TestResult {
    let set = load(vec![
        ("v", query("v", "view", "$sla_days", "SELECT $sla_days * 2 AS twice")),
        ("r", query("r", "report", "", "SELECT twice + 1 AS n FROM v")),
        ("s", query("s", "report", "", "SELECT n * 10 AS m FROM r")),
    ])?;
    let tables = set.run(&SessionContext::new(), &october()?).await?;
    let csv: Vec<(String, String)> = tables
        .iter()
        .map(|t| Ok((t.query.name.clone(), String::from_utf8(to_csv(&t.schema, &t.batches)?)?)))
        .collect::<Result<_, Box<dyn Error>>>()?;
    assert_eq!(
        csv,
        vec![("r".to_string(), "n\n61\n".to_string()), ("s".to_string(), "m\n610\n".to_string())]
    );
    Ok(())
}

/// A view that several later queries read is computed once, into a
/// scratch file they read (both see the same random draw); after the run,
/// even a failed one, it is a view again, and so is a view planned over it.
#[tokio::test]
async fn a_view_read_by_several_queries_is_computed_once_and_a_view_again_after_the_run() -> TestResult {
    use datafusion::datasource::TableType;
    let view = (
        "v",
        query(
            "v",
            "view",
            "$sla_days",
            "SELECT x, x * $sla_days AS y, CAST(random() * 1000000000 AS BIGINT) AS draw FROM (VALUES (1), (2), (3)) AS t (x)",
        ),
    );
    let set = load(vec![
        view.clone(),
        ("w", query("w", "view", "", "SELECT x, draw FROM v WHERE x >= 2")),
        (
            "r",
            query(
                "r",
                "report",
                "",
                "SELECT sum(y) AS total, sum(draw) FILTER (WHERE x >= 2) AS draw FROM v",
            ),
        ),
        ("s", query("s", "report", "", "SELECT count(*) AS n, sum(draw) AS draw FROM w")),
    ])?;
    let ctx = SessionContext::new();
    let tables = set.run(&ctx, &october()?).await?;
    let column = |t: usize, name: &str| -> Result<i64, Box<dyn Error>> {
        let c = tables[t].batches[0].column_by_name(name).ok_or(name.to_string())?;
        Ok(c.as_any().downcast_ref::<Int64Array>().ok_or("not Int64")?.value(0))
    };
    assert_eq!((column(0, "total")?, column(1, "n")?), (180, 2));
    assert_eq!(column(0, "draw")?, column(1, "draw")?, "one draw: v was computed once");
    for name in ["v", "w"] {
        assert_eq!(ctx.table_provider(name).await?.table_type(), TableType::View, "{name}");
        // Planned over the view, not the removed scratch file.
        assert_eq!(
            ctx.sql(&format!("SELECT * FROM {name}")).await?.count().await?,
            3 - usize::from(name == "w")
        );
    }

    // A failing third reader: the view is restored all the same.
    let failing = load(vec![
        view,
        ("r", query("r", "report", "", "SELECT sum(y) AS total FROM v")),
        ("s", query("s", "report", "", "SELECT count(*) AS n FROM v")),
        ("t", query("t", "report", "", "SELECT CAST(x AS DOUBLE) AS f FROM v")),
    ])?;
    let ctx = SessionContext::new();
    let error = failing.run(&ctx, &october()?).await.err().ok_or("expected an error")?;
    assert!(error.to_string().contains("must be exact"), "{error}");
    assert_eq!(ctx.table_provider("v").await?.table_type(), TableType::View);
    assert_eq!(ctx.sql("SELECT * FROM v").await?.count().await?, 3);
    Ok(())
}

// ---------------------------------------------------------------- writers

fn sample() -> Result<(SchemaRef, RecordBatch), Box<dyn Error>> {
    let schema: SchemaRef = Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, true),
        Field::new("count", DataType::Int64, true),
        Field::new("pct", DataType::Decimal128(18, 1), true),
        Field::new("flag", DataType::Boolean, true),
        Field::new("day", DataType::Date32, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![
            Some("plain"),
            Some("a,b"),
            Some("say \"hi\""),
            Some("two\nlines"),
            Some("=HYPERLINK(\"x\")"),
            Some("+62 21"),
            Some("-minus"),
            Some("@SUM(A1)"),
            None,
            Some("a=b"),
        ])),
        Arc::new(Int64Array::from(vec![
            Some(0),
            Some(-5),
            Some(12),
            None,
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(5),
            Some(9_223_372_036_854_775_807),
        ])),
        Arc::new(
            Decimal128Array::from(vec![
                Some(500),
                Some(5),
                Some(-5),
                Some(0),
                None,
                Some(123),
                Some(1000),
                Some(-1234),
                Some(9),
                Some(10),
            ])
            .with_precision_and_scale(18, 1)?,
        ),
        Arc::new(BooleanArray::from(vec![
            Some(true),
            Some(false),
            None,
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(true),
        ])),
        Arc::new(Date32Array::from(vec![
            Some(20_392),
            None,
            Some(0),
            Some(1),
            Some(2),
            Some(3),
            Some(4),
            Some(5),
            Some(6),
            Some(7),
        ])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    Ok((schema, batch))
}

#[test]
fn csv_follows_the_published_format() -> TestResult {
    let (schema, batch) = sample()?;
    let csv = to_csv(&schema, &[batch.slice(0, 4), batch.slice(4, 6)])?;
    assert_eq!(
        String::from_utf8(csv)?,
        "name,count,pct,flag,day\n\
         plain,0,50.0,true,2025-10-31\n\
         \"a,b\",-5,0.5,false,\n\
         \"say \"\"hi\"\"\",12,-0.5,,1970-01-01\n\
         \"two\nlines\",,0.0,true,1970-01-02\n\
         \"'=HYPERLINK(\"\"x\"\")\",1,,true,1970-01-03\n\
         '+62 21,2,12.3,true,1970-01-04\n\
         '-minus,3,100.0,true,1970-01-05\n\
         '@SUM(A1),4,-123.4,true,1970-01-06\n\
         ,5,0.9,true,1970-01-07\n\
         a=b,9223372036854775807,1.0,true,1970-01-08\n"
    );
    Ok(())
}

#[test]
fn csv_of_an_empty_table_is_its_header() -> TestResult {
    let (schema, _) = sample()?;
    assert_eq!(to_csv(&schema, &[])?, b"name,count,pct,flag,day\n");
    Ok(())
}

#[test]
fn csv_refuses_floating_point() -> TestResult {
    let schema: SchemaRef = Arc::new(Schema::new(vec![Field::new("ratio", DataType::Float64, false)]));
    let batch = RecordBatch::try_new(schema.clone(), vec![Arc::new(Float64Array::from(vec![0.5]))])?;
    let error = to_csv(&schema, &[batch]).err().ok_or("expected an error")?;
    assert_eq!(
        error.to_string(),
        "column `ratio` is Float64: CSV output refuses binary floating point; compute the column as DECIMAL"
    );
    Ok(())
}

#[test]
fn parquet_bytes_are_reproducible() -> TestResult {
    let (schema, batch) = sample()?;
    let whole = to_parquet(&schema, std::slice::from_ref(&batch))?;
    let again = to_parquet(&schema, std::slice::from_ref(&batch))?;
    let split = to_parquet(&schema, &[batch.slice(0, 3), batch.slice(3, 0), batch.slice(3, 7)])?;
    assert_eq!(whole, again);
    assert_eq!(whole, split, "batch boundaries must not change the bytes");

    use parquet::file::reader::{FileReader, SerializedFileReader};
    let reader = SerializedFileReader::new(bytes::Bytes::from(whole.clone()))?;
    let meta = reader.metadata().file_metadata();
    assert_eq!(meta.created_by(), Some(parquet_created_by().as_str()));
    assert_eq!(parquet_created_by(), format!("wasnaker {}", env!("CARGO_PKG_VERSION")));
    assert_eq!(meta.num_rows(), 10);
    assert_eq!(reader.metadata().num_row_groups(), 1);

    // And the content reads back unchanged.
    let rows = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(whole))?
        .build()?
        .collect::<Result<Vec<_>, _>>()?;
    assert_eq!(rows, vec![batch]);
    Ok(())
}

// ------------------------------------------------------ schemas, reference

#[test]
fn every_lake_view_has_a_schema() -> TestResult {
    assert_eq!(view_names().len(), 16);
    for name in view_names() {
        assert!(view_schema(name).is_some(), "{name}");
    }
    assert!(view_schema("complaint_state").is_none());
    let events = view_schema("complaint_events").ok_or("complaint_events")?;
    let described: Vec<String> = events
        .fields()
        .iter()
        .map(|f| format!("{} {}{}", f.name(), f.data_type(), if f.is_nullable() { "?" } else { "" }))
        .collect();
    assert_eq!(
        described,
        vec![
            "event_id Utf8",
            "complaint_id Utf8",
            "event_at Timestamp(ns, \"UTC\")",
            "status Utf8",
            "inspector_id Utf8?",
            "_extract_date Date32"
        ]
    );
    Ok(())
}

#[test]
fn reference_tables_are_compiled_in() -> TestResult {
    let tables = reference_tables()?;
    let sizes: Vec<(&str, usize)> = tables.iter().map(|(n, b)| (*n, b.num_rows())).collect();
    assert_eq!(sizes, vec![("provinces", 38), ("violations", 13), ("complaint_statuses", 14)]);
    for (name, batch) in &tables {
        assert_eq!(Some(batch.schema()), view_schema(name), "{name}");
    }
    let statuses = to_csv(&tables[2].1.schema(), &[tables[2].1.clone()])?;
    assert_eq!(
        String::from_utf8(statuses)?,
        "code,name_id,terminal,follow_up\n\
         RECEIVED,Diterima,false,false\n\
         VERIFIED,Terverifikasi,false,false\n\
         REJECTED,Ditolak / tidak memenuhi syarat,true,false\n\
         REDIRECTED,Dialihkan,true,false\n\
         ASSIGNED,Didisposisi,false,false\n\
         INSPECTED,Diperiksa,false,true\n\
         NOTA_1,Nota Pemeriksaan I,false,true\n\
         NOTA_2,Nota Pemeriksaan II,false,true\n\
         SANCTION_RECOMMENDED,Rekomendasi sanksi administratif,false,true\n\
         REFERRED_PPNS,Dilimpahkan ke PPNS,false,true\n\
         RESOLVED,Selesai,true,true\n\
         CLOSED_NO_VIOLATION,\"Ditutup, tidak ada pelanggaran\",true,true\n\
         WITHDRAWN,Dicabut,true,false\n\
         CLOSED_UNRESOLVED,Ditutup tanpa penyelesaian,true,false\n"
    );
    Ok(())
}
