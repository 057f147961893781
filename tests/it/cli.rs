//! The binary: exit codes, summaries, and `kill -9` at any moment.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::*;

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_wasnaker"))
}

pub fn write_config(f: &Fixture) -> std::path::PathBuf {
    let cfg = f.dir.path().join("wasnaker.toml");
    std::fs::write(f.dir.path().join("pseudonym.key"), KEY).unwrap();
    std::fs::write(
        &cfg,
        "[locations]\nlanding = \"landing\"\nlake = \"lake\"\npublish = \"publish\"\n\n[pseudonymisation]\nkey_file = \"pseudonym.key\"\n\n[ingest]\nwork_dir = \"work\"\nlate_after_hours = 100000\n",
    )
    .unwrap();
    cfg
}

#[test]
fn ingest_exit_status_and_summary() {
    let f = Fixture::new();
    let cfg = write_config(&f);
    f.inspection("2026-10-03", &[], Done::Empty);
    f.insurance("2026-10-03", &[("employers.jsonl.gz", "")], Done::Empty);
    let out = bin().arg("--config").arg(&cfg).arg("ingest").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "a rejected night makes the exit status 2\n{stdout}");
    assert!(stdout.contains("inspection 2026-10-03  ingested"), "{stdout}");
    assert!(stdout.contains("insurance  2026-10-03  REJECTED"), "{stdout}");
    assert!(stdout.contains("1 ingested, 1 rejected, 0 failed"), "{stdout}");
    let again = bin().arg("--config").arg(&cfg).arg("ingest").output().unwrap();
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing to ingest"));
    // Logs never carry personal data.
    let logs = String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&again.stderr);
    for p in PERSONAL {
        assert!(!logs.contains(p), "logs contain {p:?}");
    }
}

#[test]
fn bad_config_names_the_key_and_the_file() {
    let f = Fixture::new();
    let cfg = f.dir.path().join("bad.toml");
    std::fs::write(&cfg, "[locations]\nlandnig = \"x\"\n").unwrap();
    let out = bin().arg("--config").arg(&cfg).arg("ingest").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1));
    assert!(err.contains("bad.toml") && err.contains("landnig"), "{err}");
}

/// Kill the ingest at several moments; a final run must leave the lake as a
/// clean run does: every night exactly once.
#[test]
fn kill_9_at_any_moment_then_rerun_gives_the_clean_result() {
    let clean = Fixture::new();
    let crashy = Fixture::new();
    let mut big = String::from(COMPANIES);
    for i in 3..40_000 {
        big.push_str(&format!("CMP-{i:07},,PT Lain {i},31,,,MIKRO,,false,2026-10-01T09:00:00+07:00\n"));
    }
    for f in [&clean, &crashy] {
        for d in 1..=12 {
            let night = format!("2026-10-{d:02}");
            f.inspection(&night, &[("companies.csv.gz", big.as_str())], Done::Empty);
            f.insurance(&night, &[], Done::Empty);
        }
    }
    let cfg_clean = write_config(&clean);
    let cfg = write_config(&crashy);
    assert!(
        bin()
            .arg("--config")
            .arg(&cfg_clean)
            .arg("ingest")
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    let mut kills = 0;
    for ms in [40u64, 90, 160, 250, 400, 650, 900] {
        let mut child = bin()
            .arg("--config")
            .arg(&cfg)
            .arg("ingest")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(ms));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            kills += 1;
        }
        child.wait().unwrap();
    }
    assert!(kills >= 3, "only {kills} runs were still going when killed");
    assert!(
        bin()
            .arg("--config")
            .arg(&cfg)
            .arg("ingest")
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    // A kill during a write to the local lake can leave object_store's
    // staging file (`<path>#<n>`, renamed into place when complete) beside
    // the entry; the ledger reads `.json` entries only.
    let staged: Vec<String> = (crashy.lake_files().into_iter())
        .map(|(p, _)| p)
        .filter(|p| p.starts_with("ledger/") && !p.ends_with(".json"))
        .collect();
    assert!(
        staged
            .iter()
            .all(|p| p.rsplit_once('#').is_some_and(|(_, n)| n.parse::<u32>().is_ok())),
        "{staged:?}"
    );
    let ledger_files = |f: &Fixture| -> Vec<(String, Vec<u8>)> {
        (f.lake_files().into_iter())
            .filter(|(p, _)| p.starts_with("ledger/") && p.ends_with(".json"))
            .collect()
    };
    assert_eq!(
        ledger_files(&crashy),
        ledger_files(&clean),
        "the same nights, each committed once, with the same content"
    );
    let rt = tokio::runtime::Runtime::new().unwrap();
    for sql in [
        "SELECT count(*) AS n, count(DISTINCT company_id) AS k FROM companies",
        "SELECT table_name, sum(rows_read) AS r, count(*) AS nights FROM night_tables GROUP BY 1 ORDER BY 1",
        "SELECT * FROM complaints_history ORDER BY complaint_id, _extract_date",
    ] {
        let a = rt.block_on(query_csv(&clean.lake_loc(), sql, None, None));
        let b = rt.block_on(query_csv(&crashy.lake_loc(), sql, None, None));
        assert_eq!(a, b, "{sql}");
    }
}

#[test]
fn query_is_read_only_and_prints_csv_and_json() {
    let f = Fixture::new();
    let cfg = write_config(&f);
    f.inspection("2026-10-03", &[], Done::Empty);
    f.insurance("2026-10-03", &[], Done::Empty);
    assert!(
        bin()
            .arg("--config")
            .arg(&cfg)
            .arg("ingest")
            .stdout(Stdio::null())
            .status()
            .unwrap()
            .success()
    );
    let out = bin()
        .arg("--config")
        .arg(&cfg)
        .args([
            "query",
            "--format",
            "csv",
            "SELECT violation_code, count(*) AS n FROM complaints GROUP BY 1 ORDER BY 1",
        ])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "violation_code,n\nK3,1\nTHR,1\n");
    let out = bin()
        .arg("--config")
        .arg(&cfg)
        .args(["query", "--format", "json", "SELECT count(*) AS n FROM employers"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "[{\"n\":2}]");
    for bad in [
        "DROP TABLE complaints",
        "CREATE TABLE x AS SELECT 1",
        "INSERT INTO complaints SELECT * FROM complaints",
        "COPY complaints TO '/tmp/x.csv'",
        "SET datafusion.execution.batch_size = 1",
    ] {
        let out = bin().arg("--config").arg(&cfg).args(["query", bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{bad} must be refused");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("query refused"),
            "{bad}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = bin().arg("--config").arg(&cfg).args(["tables", "--describe"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("complainant_nik_pseudonym") && text.contains("national identity number (pseudonymised)"),
        "{text}"
    );
    assert!(!text.contains("lake_complaints"), "internal tables are not listed");
}
