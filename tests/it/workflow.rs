//! The data engineers' workflow: `wasnaker check`, `wasnaker test`,
//! `wasnaker lineage` and the data dictionary — the guide
//! (`docs/adding-a-query.md`) followed step by step through the binary, and
//! each tool's exact behaviour.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::Command;

use wasnaker::check::{CheckReport, Problem, Section, check, check_with};
use wasnaker::config::Config;
use wasnaker::query::dictionary::{Dictionary, TableKind};
use wasnaker::query::lineage::{LineageFormat, render};
use wasnaker::query::plan::{Planned, plan_all};
use wasnaker::query::schemas::{view_names, view_schema};
use wasnaker::query::{QuerySet, ReportSettings};

use crate::common::{Done, Fixture};

type TestResult = Result<(), Box<dyn Error>>;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn wasnaker(dir: &Path, args: &[&str]) -> Result<(Option<i32>, String, String), Box<dyn Error>> {
    let out = Command::new(env!("CARGO_BIN_EXE_wasnaker")).current_dir(dir).args(args).output()?;
    Ok((out.status.code(), String::from_utf8(out.stdout)?, String::from_utf8(out.stderr)?))
}

/// The fenced blocks of a Markdown text: (info string, content).
fn blocks(markdown: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(info)) => current = Some((info.to_string(), String::new())),
            (Some(_), Some("")) => out.extend(current.take()),
            (Some((_, text)), _) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    out
}

fn guide() -> Result<Vec<(String, String)>, Box<dyn Error>> {
    Ok(blocks(&std::fs::read_to_string(root().join("docs/adding-a-query.md"))?))
}

/// The output a `text <tag>` block of the guide shows, without its `$`
/// command line.
fn shown(guide: &[(String, String)], tag: &str) -> Result<(String, String), Box<dyn Error>> {
    let (_, text) = guide
        .iter()
        .find(|(info, _)| info == &format!("text {tag}"))
        .ok_or(format!("no `text {tag}` block in the guide"))?;
    let (command, output) = text.split_once('\n').ok_or("empty block")?;
    Ok((command.trim_start_matches("$ ").to_string(), output.to_string()))
}

fn args(command: &str) -> Vec<&str> {
    command.split_whitespace().skip(1).collect()
}

/// A project folder: the shipped queries, query tests and config (with its
/// locations in `locations`), plus every `file=` block of the guide.
fn project(locations: &str) -> Result<tempfile::TempDir, Box<dyn Error>> {
    let dir = tempfile::tempdir()?;
    copy_dir(&root().join("queries"), &dir.path().join("queries"))?;
    copy_dir(&root().join("tests/queries"), &dir.path().join("tests/queries"))?;
    std::fs::write(dir.path().join("wasnaker.toml"), locations)?;
    for (info, text) in guide()? {
        if let Some(file) = info.split_whitespace().find_map(|w| w.strip_prefix("file=")) {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().ok_or("no parent")?)?;
            std::fs::write(path, text)?;
        }
    }
    Ok(dir)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), Box<dyn Error>> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let path = entry?.path();
        let target = to.join(path.file_name().ok_or("no name")?);
        if path.is_dir() {
            copy_dir(&path, &target)?;
        } else {
            std::fs::copy(&path, &target)?;
        }
    }
    Ok(())
}

#[test]
fn check_passes_on_the_shipped_config_and_queries() -> TestResult {
    let (code, stdout, stderr) = wasnaker(root(), &["check"])?;
    assert_eq!(
        stdout,
        "config wasnaker.toml: ok (valid)\n\
         queries in queries: ok (6 file(s) loaded: 5 published table(s), 1 helper view(s))\n\
         schedules schedules: ok (3 schedule(s): monthly-report (report), nightly-ingest (ingest), weekly-verify (verify))\n\
         check passed\n",
        "{stderr}"
    );
    assert_eq!(code, Some(0));
    Ok(())
}

/// docs/adding-a-query.md, step by step: the deliberate mistake gets the
/// precise error the guide shows; fixed, the query passes `check` and
/// `test`, appears in `lineage`, and the next report publishes it with its
/// dictionary entry and lineage.
#[tokio::test(flavor = "multi_thread")]
async fn the_guide_worked_example_runs_as_written() -> TestResult {
    let lake = Fixture::new();
    for night in ["2026-10-30", "2026-10-31"] {
        lake.inspection(night, &[], Done::Empty);
        lake.insurance(night, &[], Done::Empty);
    }
    lake.ingest().await;
    let dir = project(&format!(
        "[locations]\nlanding = {:?}\nlake = {:?}\npublish = \"publish\"\n",
        lake.landing, lake.lake
    ))?;
    let guide = guide()?;
    let query = dir.path().join("queries/complaints_by_channel.sql");
    let sql = std::fs::read_to_string(&query)?;

    // Step 3, with the mistake: `chanel` for `channel` in the SELECT list.
    assert!(sql.contains("\n  channel,\n"));
    std::fs::write(&query, sql.replacen("\n  channel,\n", "\n  chanel,\n", 1))?;
    let (command, expected) = shown(&guide, "check-mistake")?;
    let (code, stdout, _) = wasnaker(dir.path(), &args(&command))?;
    assert_eq!(stdout, expected);
    assert_eq!(code, Some(1));

    // Fixed.
    std::fs::write(&query, &sql)?;
    let (command, expected) = shown(&guide, "check-fixed")?;
    let (code, stdout, _) = wasnaker(dir.path(), &args(&command))?;
    assert_eq!(stdout, expected);
    assert_eq!(code, Some(0));

    // Step 4: its test passes, and so does every shipped one with it.
    let (command, expected) = shown(&guide, "test-output")?;
    let (code, stdout, _) = wasnaker(dir.path(), &args(&command))?;
    assert_eq!(stdout, expected);
    assert_eq!(code, Some(0));
    // A wrong expectation: a readable diff and exit 1; `--update` rewrites it.
    let expected_csv = dir
        .path()
        .join("tests/queries/complaints_by_channel/expected/complaints_by_channel.csv");
    let right = std::fs::read_to_string(&expected_csv)?;
    std::fs::write(&expected_csv, right.replace("ONLINE,2", "ONLINE,3"))?;
    let (code, stdout, _) = wasnaker(dir.path(), &["test", "complaints_by_channel"])?;
    assert_eq!(
        stdout,
        "complaints_by_channel/complaints_by_channel: MISMATCH\n\
         \x20   header: period,channel,received\n\
         \x20 -   3 expected: 2026-10,ONLINE,3\n\
         \x20 +   3 actual:   2026-10,ONLINE,2\n\
         \x20       differs in: received (expected `3`, actual `2`)\n\
         FAILED: 1 case(s), 1 table(s) checked: 0 passed, 1 failed, 0 updated; 0 case(s) could not run\n"
    );
    assert_eq!(code, Some(1));
    let (code, stdout, _) = wasnaker(dir.path(), &["test", "--update", "complaints_by_channel"])?;
    assert!(
        stdout.starts_with("complaints_by_channel/complaints_by_channel: expected file updated\n"),
        "{stdout}"
    );
    assert_eq!(code, Some(0));
    assert_eq!(std::fs::read_to_string(&expected_csv)?, right);
    let (code, stdout, _) = wasnaker(dir.path(), &["test"])?;
    assert!(
        stdout.ends_with("ok: 11 case(s), 18 table(s) checked: 18 passed, 0 failed, 0 updated; 0 case(s) could not run\n"),
        "{stdout}"
    );
    assert_eq!(code, Some(0));

    // Lineage.
    let (command, expected) = shown(&guide, "lineage-output")?;
    let (code, stdout, _) = wasnaker(dir.path(), &args(&command))?;
    assert_eq!(stdout, expected);
    assert_eq!(code, Some(0));
    let (_, stdout, _) = wasnaker(dir.path(), &["lineage", "complaints"])?;
    assert!(
        stdout.contains("    complaints_by_channel (published table, queries/complaints_by_channel.sql): channel, received_at\n"),
        "{stdout}"
    );

    // The report publishes it: data files, HTML section with its sources,
    // dictionary rows, all listed in SHA256SUMS and the manifest.
    let (code, stdout, stderr) = wasnaker(dir.path(), &["report", "--month", "2026-10"])?;
    assert_eq!(code, Some(0), "{stdout}{stderr}");
    assert!(
        stdout.contains("  complaints_by_channel       2 rows  Pengaduan per saluran\n"),
        "{stdout}"
    );
    let bundle = dir.path().join("publish/2026-10");
    // The fixture's two complaints: ONLINE on Oct 2, HOTLINE on Oct 3 (Jakarta).
    assert_eq!(
        std::fs::read_to_string(bundle.join("data/complaints_by_channel.csv"))?,
        "period,channel,received\n2026-10,HOTLINE,1\n2026-10,ONLINE,1\n"
    );
    let html = std::fs::read_to_string(bundle.join("report.html"))?;
    assert!(html.contains("id=\"tabel-complaints_by_channel\""));
    assert!(
        html.contains(
            "<p class=\"note\">Dihitung dari: <a href=\"#kamus-complaints\"><code>complaints</code></a> (channel, received_at)</p>"
        )
    );
    assert!(html.contains("id=\"kamus-complaints_by_channel\""));
    let dictionary = std::fs::read_to_string(bundle.join("dictionary.csv"))?;
    assert!(dictionary.ends_with(
        "complaints_by_channel,published,period,string,false,\"the report month, YYYY-MM\",\"complaints(channel, received_at)\"\n\
         complaints_by_channel,published,channel,string,false,how the complaint was received (complaints.channel),\"complaints(channel, received_at)\"\n\
         complaints_by_channel,published,received,int,false,complaints received in the month through this channel,\"complaints(channel, received_at)\"\n"
    ));
    let sums = std::fs::read_to_string(bundle.join("SHA256SUMS"))?;
    assert!(sums.contains("  dictionary.csv\n") && sums.contains("  data/complaints_by_channel.csv\n"));
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle.join("manifest.json"))?)?;
    let outputs: Vec<&str> = manifest["outputs"]
        .as_array()
        .ok_or("outputs")?
        .iter()
        .filter_map(|o| o["path"].as_str())
        .collect();
    assert!(outputs.contains(&"dictionary.csv"), "{outputs:?}");
    let out = Command::new("sha256sum").arg("-c").arg("SHA256SUMS").current_dir(&bundle).output();
    if let Ok(out) = out {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
    }

    // Re-running the month gives the same bytes.
    let first: Vec<(String, Vec<u8>)> = ["report.html", "dictionary.csv", "manifest.json"]
        .iter()
        .map(|f| Ok((f.to_string(), std::fs::read(bundle.join(f))?)))
        .collect::<Result<_, std::io::Error>>()?;
    let (code, _, _) = wasnaker(dir.path(), &["report", "--month", "2026-10"])?;
    assert_eq!(code, Some(0));
    for (file, bytes) in first {
        assert!(std::fs::read(bundle.join(&file))? == bytes, "{file} changed between two runs");
    }
    Ok(())
}

// ------------------------------------------------------------------ check

/// A query file with a valid header documenting `columns`.
fn query(name: &str, kind: &str, params: &str, columns: &[&str], sql: &str) -> String {
    let mut text = format!(
        "-- table: {name}\n-- kind: {kind}\n-- title_id: J\n-- title_en: T\n-- params: {params}\n-- description: What it counts.\n"
    );
    for c in columns {
        text.push_str(&format!("-- column {c}: what {c} holds\n"));
    }
    text.push_str(sql);
    text.push('\n');
    text
}

fn write_queries(dir: &Path, files: &[(&str, String)]) -> Result<(), Box<dyn Error>> {
    std::fs::create_dir_all(dir.join("queries"))?;
    for (name, text) in files {
        std::fs::write(dir.join(format!("queries/{name}.sql")), text)?;
    }
    Ok(())
}

fn problems(report: &CheckReport) -> Vec<String> {
    report.problems().map(Problem::to_string).collect()
}

#[tokio::test]
async fn check_reports_every_problem_of_every_file_at_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("w.toml"), "[report]\nsla_days = 0\n")?;
    write_queries(
        dir.path(),
        &[
            ("a", query("a", "view", "", &[], "SELECT complaint_id\nFROM complaint")),
            (
                "b",
                query(
                    "b",
                    "view",
                    "",
                    &[],
                    "SELECT complaint_id,\n  received_at + 1 AS later\nFROM complaints",
                ),
            ),
            (
                "c",
                query(
                    "c",
                    "report",
                    "$region",
                    &["n"],
                    "SELECT count(*) AS n\nFROM complaints\nWHERE province_code = $region",
                ),
            ),
            (
                "d",
                query(
                    "d",
                    "report",
                    "$period",
                    &["period", "nn"],
                    "SELECT $period AS period,\n  avg(workers_affected) AS mean\nFROM complaints",
                ),
            ),
            ("e", query("e", "report", "", &["later"], "SELECT later FROM b")),
            (
                "f",
                query("f", "report", "", &["n"], "SELECT upper(workers_affected) AS n\nFROM complaints"),
            ),
        ],
    )?;
    let report = check(&dir.path().join("w.toml"), true).await;
    let q = |name: &str| dir.path().join(format!("queries/{name}.sql")).display().to_string();
    assert_eq!(
        problems(&report),
        vec![
            format!(
                "{}: report.sla_days = 0: must be a positive whole number (default 30)",
                dir.path().join("w.toml").display()
            ),
            format!(
                "{}:8:6: unknown table `complaint`: it is not a lake view (see docs/lake-views.md) and no query file declares it; did you mean `complaints`?",
                q("a")
            ),
            format!(
                "{}:8:3: expressions have incompatible types: Error during planning: Cannot coerce arithmetic expression Timestamp(ns, \"UTC\") + Int64 to valid types",
                q("b")
            ),
            format!(
                "{}:10:23: parameter `$region` is not provided; the provided parameters are $as_of, $cohort_end, $cohort_start, $companies_per_inspector_year, $month_end, $month_first_day, $month_last_day, $month_start, $period, $sla_days, $window_12m_start, $workers_per_inspector",
                q("c")
            ),
            format!(
                "{}:10:28: column `mean` is Float64: published figures must be exact\n  hint: compute it as DECIMAL(18, 1), rounding half away from zero (see spec/report.md, \"Rounding\")",
                q("d")
            ),
            format!(
                "{}:10:28: published column `mean` has no `-- column mean:` line in the header\n  hint: add `-- column mean: <what it holds>` after `-- description:`; it is the column's entry in the data dictionary",
                q("d")
            ),
            format!(
                "{}:8:4: `-- column nn:` documents a column the query does not output\n  hint: the output columns are period, mean",
                q("d")
            ),
            format!(
                "{}:8:8: No function matches the given name and argument types 'upper(Int64)'. You might need to add explicit type casts. Candidate functions: upper(String)",
                q("f")
            ),
        ]
    );
    // e reads b, which has a problem: not planned, and not blamed.
    assert!(!report.passed());
    let rendered = report.render();
    assert!(
        rendered.ends_with(&format!(
            "config {}: 1 problem(s) (invalid; the queries are checked with the defaults)\n\
             queries in {}: 7 problem(s) (5 file(s) loaded: 4 published table(s), 1 helper view(s))\n\
             check FAILED: 8 problem(s)\n",
            dir.path().join("w.toml").display(),
            dir.path().join("queries").display()
        )),
        "{rendered}"
    );
    Ok(())
}

#[tokio::test]
async fn check_names_an_unknown_column_with_the_columns_in_scope() -> TestResult {
    let dir = tempfile::tempdir()?;
    write_queries(
        dir.path(),
        &[(
            "by_status",
            query(
                "by_status",
                "report",
                "",
                &["status", "n"],
                "SELECT e.status, count(*) AS n\nFROM complaint_events AS e\nJOIN complaint_statuses AS s ON s.code = e.state\nGROUP BY e.status",
            ),
        )],
    )?;
    let report = check(&dir.path().join("wasnaker.toml"), false).await;
    assert_eq!(
        problems(&report),
        vec![format!(
            "{}:11:42: column 'state' not found in 'e': Schema error: No field named e.state. Did you mean 'e.status'?\n  hint: did you mean `status`? the columns here are event_id, complaint_id, event_at, status, inspector_id, _extract_date, code, name_id, terminal, follow_up",
            dir.path().join("queries/by_status.sql").display()
        )]
    );
    Ok(())
}

#[tokio::test]
async fn a_missing_config_file_is_a_problem_only_when_named() -> TestResult {
    let dir = tempfile::tempdir()?;
    write_queries(dir.path(), &[("a", query("a", "view", "", &[], "SELECT 1 AS x"))])?;
    let path = dir.path().join("wasnaker.toml");
    let defaults = check(&path, false).await;
    assert!(defaults.passed(), "{}", defaults.render());
    assert_eq!(defaults.sections[0].summary, "no such file: checking the defaults");
    let named = check(&path, true).await;
    let [problem] = problems(&named).try_into().map_err(|_| "one problem")?;
    assert!(
        problem.starts_with(&format!("cannot read config file {}: ", path.display())),
        "{problem}"
    );
    Ok(())
}

/// The hook the scheduler's `schedules/*.toml` check plugs into.
fn fake_schedules(config: &Config) -> Option<Section> {
    Some(Section {
        name: "schedules in schedules".to_string(),
        summary: format!("seen with sla_days {}", config.report.sla_days),
        problems: vec![Problem::new("schedules/monthly.toml:3: `cron` is not a cron expression")],
    })
}

#[tokio::test]
async fn extra_checks_run_after_the_queries_and_count() -> TestResult {
    assert_eq!(wasnaker::check::EXTRA_CHECKS.len(), 1, "the schedules");
    let report = check_with(&root().join("wasnaker.toml"), true, &[fake_schedules]).await;
    assert_eq!(report.sections.len(), 3);
    assert_eq!(
        problems(&report),
        vec!["schedules/monthly.toml:3: `cron` is not a cron expression".to_string()]
    );
    assert!(
        report
            .render()
            .ends_with("schedules in schedules: 1 problem(s) (seen with sla_days 30)\ncheck FAILED: 1 problem(s)\n"),
        "{}",
        report.render()
    );
    Ok(())
}

// ---------------------------------------------------------------- lineage

async fn planned(files: &[(&str, String)]) -> Result<Planned, Box<dyn Error>> {
    let set = QuerySet::from_sources(
        files
            .iter()
            .map(|(name, text)| (PathBuf::from(format!("queries/{name}.sql")), text.clone().into_bytes()))
            .collect(),
    )?;
    Ok(plan_all(&set, ReportSettings::default()).await?)
}

async fn small_set() -> Result<Planned, Box<dyn Error>> {
    planned(&[
        (
            "recent",
            query(
                "recent",
                "view",
                "$month_start",
                &[],
                "SELECT complaint_id, province_code, channel\nFROM complaints\nWHERE received_at >= $month_start",
            ),
        ),
        (
            "per_province",
            query(
                "per_province",
                "report",
                "",
                &["province_name", "n"],
                "SELECT p.name AS province_name, count(r.complaint_id) AS n\nFROM provinces AS p\nLEFT JOIN recent AS r ON r.province_code = p.code\nGROUP BY p.name",
            ),
        ),
    ])
    .await
}

#[tokio::test]
async fn lineage_follows_columns_through_helper_queries() -> TestResult {
    let planned = small_set().await?;
    assert!(planned.problems.is_empty(), "{:?}", planned.problems);
    assert_eq!(
        render(&planned, Some("per_province"), LineageFormat::Text)?,
        "per_province (published table, queries/per_province.sql)\n\
         \x20 reads:\n\
         \x20   provinces (lake view ← spec/provinces.csv): code, name\n\
         \x20   recent (helper view, queries/recent.sql): complaint_id, province_code\n\
         \x20 computed through: queries/recent.sql\n\
         \x20 depends on (lake views and columns):\n\
         \x20   complaints ← inspection/complaints.csv.gz: complaint_id, province_code, received_at\n\
         \x20   provinces ← spec/provinces.csv: code, name\n\
         \x20 columns:\n\
         \x20   province_name: provinces(name)\n\
         \x20   n: complaints(complaint_id, province_code, received_at); provinces(code, name)\n"
    );
    assert_eq!(
        render(&planned, Some("per_province"), LineageFormat::Mermaid)?,
        "flowchart LR\n\
         \x20 src_inspection_complaints_csv_gz[/\"inspection/complaints.csv.gz\"/]\n\
         \x20 src_spec_provinces_csv[/\"spec/provinces.csv\"/]\n\
         \x20 t_complaints[(\"complaints\")]\n\
         \x20 t_provinces[(\"provinces\")]\n\
         \x20 t_recent[\"recent<br/>(helper view)\"]\n\
         \x20 t_per_province[[\"per_province\"]]\n\
         \x20 src_inspection_complaints_csv_gz --> t_complaints\n\
         \x20 src_spec_provinces_csv --> t_provinces\n\
         \x20 t_complaints -->|\"channel, complaint_id, province_code, received_at\"| t_recent\n\
         \x20 t_provinces -->|\"code, name\"| t_per_province\n\
         \x20 t_recent -->|\"complaint_id, province_code\"| t_per_province\n"
    );
    assert_eq!(
        render(&planned, Some("complaints"), LineageFormat::Dot)?,
        "digraph lineage {\n\
         \x20 rankdir=LR;\n\
         \x20 node [fontname=\"sans-serif\", fontsize=11];\n\
         \x20 src_inspection_complaints_csv_gz [label=\"inspection/complaints.csv.gz\", shape=note];\n\
         \x20 t_complaints [label=\"complaints\", shape=cylinder];\n\
         \x20 t_recent [label=\"recent\\n(helper view)\", shape=box, style=dashed];\n\
         \x20 t_per_province [label=\"per_province\", shape=box, style=bold];\n\
         \x20 src_inspection_complaints_csv_gz -> t_complaints;\n\
         \x20 t_complaints -> t_recent [label=\"channel, complaint_id, province_code, received_at\", fontsize=9];\n\
         \x20 t_recent -> t_per_province [label=\"complaint_id, province_code\", fontsize=9];\n\
         }\n"
    );
    assert_eq!(
        render(&planned, Some("complaints"), LineageFormat::Text)?,
        "complaints (lake view ← inspection/complaints.csv.gz)\n\
         \x20 read by:\n\
         \x20   recent (helper view, queries/recent.sql): channel, complaint_id, province_code, received_at\n\
         \x20 published tables that depend on it: per_province\n"
    );
    let error = render(&planned, Some("per_provice"), LineageFormat::Text)
        .err()
        .ok_or("expected an error")?;
    assert!(
        error
            .to_string()
            .starts_with("`per_provice` is neither a query nor a lake view; did you mean `per_province`?"),
        "{error}"
    );
    Ok(())
}

#[tokio::test]
async fn lineage_of_the_shipped_report_reaches_through_two_queries() -> TestResult {
    let set = QuerySet::load_dir(&root().join("queries"))?;
    let planned = plan_all(&set, ReportSettings::default()).await?;
    assert!(planned.problems.is_empty(), "{:?}", planned.problems);
    let map = planned.get("supervision_map").ok_or("supervision_map")?;
    let reads: Vec<&str> = map.query_reads().collect();
    assert_eq!(reads, vec!["followup_by_province"]);
    let set_of = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<std::collections::BTreeSet<_>>();
    assert_eq!(map.sources["inspections"], set_of(&["company_id", "visit_date"]));
    // open_complaints_per_inspector: through followup_by_province and
    // complaint_state down to the events.
    let index = map.schema.index_of("open_complaints_per_inspector")?;
    let sources = &map.column_sources[index];
    assert_eq!(
        sources["complaint_events"],
        set_of(&["complaint_id", "event_at", "event_id", "status"])
    );
    assert_eq!(sources["inspectors"], set_of(&["active", "province_code"]));
    assert!(!sources.contains_key("employers"), "{sources:?}");
    Ok(())
}

// ------------------------------------------------------------- dictionary

#[tokio::test]
async fn the_dictionary_describes_every_lake_and_published_column() -> TestResult {
    let set = QuerySet::load_dir(&root().join("queries"))?;
    let planned = plan_all(&set, ReportSettings::default()).await?;
    let published = wasnaker::monthly::PUBLISHED_ORDER;
    let dictionary = Dictionary::build(&planned, published)?;
    let names: Vec<&str> = dictionary.tables.iter().map(|t| t.name.as_str()).collect();
    let expected: Vec<&str> = view_names().iter().chain(published.iter()).copied().collect();
    assert_eq!(names, expected);
    for table in &dictionary.tables {
        if table.kind == TableKind::Lake {
            let schema = view_schema(&table.name).ok_or("schema")?;
            let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
            let fields: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
            assert_eq!(columns, fields, "{}", table.name);
        }
        for c in &table.columns {
            assert!(!c.meaning.is_empty() && !c.source.is_empty(), "{}.{}", table.name, c.name);
        }
    }
    let csv = String::from_utf8(dictionary.to_csv()?)?;
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "table,kind,column,type,nullable,meaning,source");
    for line in [
        "complaints,lake,complainant_nik_pseudonym,string,true,national identity number (pseudonymised),\"inspection/complaints.csv.gz: complainant_nik, replaced at ingest by a keyed pseudonym (HMAC-SHA256, hex)\"",
        "employers,lake,programs,list<string>,false,\"programs (JKK, JKM, JHT, JP, JKP)\",insurance/employers.jsonl.gz: programs",
        "nights,lake,state,string,false,\"`ingested` when any delivery of the night was ingested (a later broken re-delivery does not undo it), else `rejected`\",ledger: the entry of the night's latest delivery",
        "followup_by_violation,published,violation_name,string,false,\"the violation's name from violations.csv, verbatim\",\"violations(name, ord)\"",
        "supervision_map,published,coverage_12m_pct,\"decimal(18,1)\",true,\"100 × companies_inspected_12m / companies_registry, 1 decimal; empty without companies\",\"companies(company_id, province_code); inspections(company_id, visit_date); provinces(code, name)\"",
    ] {
        assert!(lines.contains(&line), "missing {line}\n{csv}");
    }
    Ok(())
}

#[test]
fn tables_describe_prints_the_dictionary_of_lake_and_published_tables() -> TestResult {
    let (code, stdout, stderr) = wasnaker(root(), &["tables", "--describe"])?;
    assert_eq!(code, Some(0), "{stderr}");
    for expected in [
        "\ncomplaints (lake table) — Complaints of violations of workers' normative rights (incremental).\n",
        "  from: inspection/complaints.csv.gz\n",
        "\nfollowup_by_province (published table) — Complaint follow-up by province\n",
        "  from: queries/followup_by_province.sql\n",
        "  sla_met_pct                      decimal(18,1)? 100 × sla_met / sla_cohort, 1 decimal; empty when sla_cohort is 0  [",
    ] {
        assert!(stdout.contains(expected), "missing {expected:?} in\n{stdout}");
    }
    Ok(())
}

#[test]
fn the_bundle_holds_the_dictionary_and_links_each_table_to_its_sources() -> TestResult {
    let rt = tokio::runtime::Runtime::new()?;
    let set = QuerySet::load_dir(&root().join("queries"))?;
    let planned = rt.block_on(plan_all(&set, ReportSettings::default()))?;
    let mut input = crate::publish::fixture(false);
    let published: Vec<&str> = input.tables.iter().map(|t| t.name.as_str()).collect();
    input.dictionary = Dictionary::build(&planned, &published)?;
    let bundle = wasnaker::publish::build(&input, None)?;
    assert_eq!(bundle, wasnaker::publish::build(&input, None)?, "byte-reproducible");
    assert_eq!(bundle.files["dictionary.csv"], input.dictionary.to_csv()?);
    let sums = String::from_utf8(bundle.files["SHA256SUMS"].clone())?;
    assert!(sums.contains("  dictionary.csv\n"));

    let html = String::from_utf8(bundle.files["report.html"].clone())?;
    assert!(html.contains("<a href=\"#kamus\">Kamus data</a>"));
    // followup_by_province is computed from the events through complaint_state.
    assert!(
        html.contains("<a href=\"#kamus-complaint_events\"><code>complaint_events</code></a> (complaint_id, event_at, event_id, status)")
    );
    assert!(html.contains(" · melalui kueri <code>queries/complaint_state.sql</code></p>"));
    // Every in-page link has its target.
    for part in html.split("href=\"#").skip(1) {
        let id = part.split('"').next().unwrap_or_default();
        assert!(html.contains(&format!("id=\"{id}\"")), "no target for #{id}");
    }
    Ok(())
}
