//! Loading the query folder: one [`QueryFile`] per `*.sql` file, checked and
//! put in execution order.
//!
//! Checks, each reported with the file and line: the header
//! ([`super::header`]); one SELECT statement; every `$parameter` of the SQL
//! declared in the header and every declared one used; every table read is a
//! lake view or another query; no `WITH` name hides a table; no cycle. The
//! order is a topological order of "reads", ties broken by table name, so it
//! is the same on every machine. Loading never touches DataFusion's context.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::analyze::{ParamRef, SqlFacts, TableRef, analyze};
use super::error::{QueryError, Result, did_you_mean};
use super::header::{ColumnDoc, QueryKind, parse_header};
use super::schemas::view_names;

/// One query file: its header, its SQL and what it reads.
#[derive(Debug, Clone)]
pub struct QueryFile {
    /// The path it was loaded from (as given; used in messages).
    pub path: PathBuf,
    /// The output table name (`-- table:`), equal to the file stem.
    pub name: String,
    /// Published table or helper view.
    pub kind: QueryKind,
    /// Title in Bahasa Indonesia.
    pub title_id: String,
    /// Title in English.
    pub title_en: String,
    /// The declared parameters, names without `$`, in header order.
    pub params: Vec<String>,
    /// The methodology note.
    pub description: String,
    /// The documented output columns (`-- column <name>: ...`), in header
    /// order.
    pub columns: Vec<ColumnDoc>,
    /// The whole file text (header included), exactly as read.
    pub sql: String,
    /// SHA-256 of the file bytes, lower-case hex.
    pub sha256: String,
    /// The tables the SQL reads (lake views and other queries), sorted.
    pub reads: Vec<String>,
    /// The parameters the SQL uses with the line of first use.
    pub(crate) param_uses: Vec<ParamRef>,
    /// The tables the SQL reads with the line of first mention.
    pub(crate) table_refs: Vec<TableRef>,
    /// The output columns named in its SELECT list, with their positions.
    pub(crate) outputs: Vec<TableRef>,
    /// Its function calls with their positions.
    pub(crate) calls: Vec<TableRef>,
    /// The line of `-- table:`.
    pub(crate) table_line: usize,
}

/// All query files of a folder, in execution order.
#[derive(Debug, Clone)]
pub struct QuerySet {
    queries: Vec<QueryFile>,
}

/// A folder loaded without stopping at the first problem (`wasnaker check`):
/// the files without problems, in execution order, and every problem found.
#[derive(Debug)]
pub struct Loaded {
    /// The files that loaded cleanly (a file reading a file with problems
    /// is kept; planning skips it).
    pub set: QuerySet,
    /// Every problem, in the order: each file's own (header, SQL,
    /// parameters), names, unknown tables, a dependency cycle.
    pub problems: Vec<QueryError>,
}

impl QuerySet {
    /// Loads every `*.sql` file of `dir` (not recursive).
    pub fn load_dir(dir: &Path) -> Result<QuerySet> {
        QuerySet::from_sources(read_dir_sources(dir)?)
    }

    /// Loads every `*.sql` file of `dir`, collecting every problem instead
    /// of stopping at the first; only reading the folder fails outright.
    pub fn load_dir_all(dir: &Path) -> Result<Loaded> {
        Ok(QuerySet::load_all(read_dir_sources(dir)?))
    }

    /// Builds the set from `(path, file bytes)` pairs; the paths name the
    /// files in messages and give the table names their stems.
    pub fn from_sources(sources: Vec<(PathBuf, Vec<u8>)>) -> Result<QuerySet> {
        let loaded = QuerySet::load_all(sources);
        match loaded.problems.into_iter().next() {
            Some(first) => Err(first),
            None => Ok(loaded.set),
        }
    }

    /// Like [`QuerySet::from_sources`], but keeps going after a problem and
    /// returns them all with the files that have none.
    pub fn load_all(sources: Vec<(PathBuf, Vec<u8>)>) -> Loaded {
        // Every file's table is known by its stem even when the file itself
        // has a problem, so a reader of it is not also blamed.
        let declared: BTreeSet<String> = sources
            .iter()
            .filter_map(|(path, _)| path.file_stem().and_then(|s| s.to_str()).map(str::to_string))
            .collect();
        let mut problems = Vec::new();
        let mut files = Vec::with_capacity(sources.len());
        for (path, bytes) in sources {
            match load_file(path, &bytes, &declared) {
                Ok(file) => files.push(file),
                Err(problem) => problems.push(problem),
            }
        }
        let files = check_names(files, &mut problems);
        let files = check_tables(files, &declared, &mut problems);
        let queries = order(files, &mut problems);
        Loaded {
            set: QuerySet { queries },
            problems,
        }
    }

    /// Every query in execution order.
    pub fn queries(&self) -> &[QueryFile] {
        &self.queries
    }

    /// The report tables in execution order.
    pub fn reports(&self) -> impl Iterator<Item = &QueryFile> {
        self.queries.iter().filter(|q| q.kind == QueryKind::Report)
    }

    /// The query declaring table `name`.
    pub fn get(&self, name: &str) -> Option<&QueryFile> {
        self.queries.iter().find(|q| q.name == name)
    }
}

/// `(path, bytes)` of every `*.sql` file of `dir`, sorted by path.
fn read_dir_sources(dir: &Path) -> Result<Vec<(PathBuf, Vec<u8>)>> {
    let read_err = |source| QueryError::Read {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(read_err)? {
        let path = entry.map_err(read_err)?.path();
        if path.extension().is_some_and(|e| e == "sql") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(QueryError::NoQueries { path: dir.to_path_buf() });
    }
    let mut sources = Vec::with_capacity(paths.len());
    for path in paths {
        let bytes = std::fs::read(&path).map_err(|source| QueryError::Read {
            path: path.clone(),
            source,
        })?;
        sources.push((path, bytes));
    }
    Ok(sources)
}

fn load_file(path: PathBuf, bytes: &[u8], declared: &BTreeSet<String>) -> Result<QueryFile> {
    let text = std::str::from_utf8(bytes).map_err(|e| QueryError::Header {
        file: path.clone(),
        line: 1 + bytes[..e.valid_up_to()].iter().filter(|b| **b == b'\n').count(),
        message: "the file is not UTF-8".to_string(),
    })?;
    let header = parse_header(&path, text)?;
    let SqlFacts {
        tables,
        params,
        ctes,
        outputs,
        calls,
    } = analyze(&path, text)?;

    let declared_names: Vec<String> = header.params.iter().map(|d| format!("${}", d.name)).collect();
    for used in &params {
        if !header.params.iter().any(|d| d.name == used.name) {
            return Err(QueryError::ParamDeclaration {
                file: path,
                line: used.line,
                column: used.column,
                message: format!(
                    "the SQL uses `${}`, which the header's `-- params:` line (line {}) does not declare{}",
                    used.name,
                    header.params_line,
                    did_you_mean(&format!("${}", used.name), declared_names.iter().map(String::as_str))
                ),
            });
        }
    }
    for declared_param in &header.params {
        if !params.iter().any(|u| u.name == declared_param.name) {
            return Err(QueryError::ParamDeclaration {
                column: column_in_line(text, declared_param.line, &format!("${}", declared_param.name)),
                file: path,
                line: declared_param.line as u64,
                message: format!(
                    "the header declares `${}`, which the SQL does not use; remove it from `-- params:`",
                    declared_param.name
                ),
            });
        }
    }
    if let Some(cte) = ctes
        .iter()
        .find(|c| view_names().contains(&c.name.as_str()) || declared.contains(&c.name))
    {
        return Err(shadowing(&path, cte));
    }

    let mut reads: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    reads.sort();
    let sha256 = hex::encode(Sha256::digest(bytes));
    Ok(QueryFile {
        name: header.table,
        kind: header.kind,
        title_id: header.title_id,
        title_en: header.title_en,
        params: header.params.into_iter().map(|p| p.name).collect(),
        description: header.description,
        columns: header.columns,
        sql: text.to_string(),
        sha256,
        reads,
        param_uses: params,
        table_refs: tables,
        outputs,
        calls,
        table_line: header.table_line,
        path,
    })
}

/// The 1-based column of `needle` in line `line` of `text` (1 if absent).
fn column_in_line(text: &str, line: usize, needle: &str) -> u64 {
    text.lines()
        .nth(line.saturating_sub(1))
        .and_then(|l| l.find(needle))
        .map_or(1, |i| i as u64 + 1)
}

fn shadowing(path: &Path, cte: &TableRef) -> QueryError {
    QueryError::Statement {
        file: path.to_path_buf(),
        line: cte.line,
        message: format!("`WITH {}` hides the table of the same name; give it another name", cte.name),
    }
}

/// Refuses names of lake views and a second file declaring a table; the
/// files with such a problem are dropped.
fn check_names(files: Vec<QueryFile>, problems: &mut Vec<QueryError>) -> Vec<QueryFile> {
    let mut kept: Vec<QueryFile> = Vec::with_capacity(files.len());
    for file in files {
        if view_names().contains(&file.name.as_str()) {
            problems.push(QueryError::Header {
                file: file.path.clone(),
                line: file.table_line,
                message: format!(
                    "table `{}` is a lake view; a query cannot replace it: choose another name (and file name)",
                    file.name
                ),
            });
            continue;
        }
        if let Some(other) = kept.iter().find(|k| k.name == file.name) {
            problems.push(QueryError::DuplicateTable {
                file: file.path.clone(),
                line: file.table_line,
                table: file.name.clone(),
                other: other.path.clone(),
            });
            continue;
        }
        kept.push(file);
    }
    kept
}

/// Refuses tables that are neither lake views nor declared by a query file,
/// checking the files in path order and each file's tables in order; the
/// files with such a problem are dropped.
fn check_tables(files: Vec<QueryFile>, declared: &BTreeSet<String>, problems: &mut Vec<QueryError>) -> Vec<QueryFile> {
    let mut by_path: Vec<QueryFile> = files;
    by_path.sort_by(|a, b| a.path.cmp(&b.path));
    let candidates: Vec<&str> = view_names().iter().copied().chain(declared.iter().map(String::as_str)).collect();
    let mut kept = Vec::with_capacity(by_path.len());
    for file in by_path {
        let before = problems.len();
        for table in &file.table_refs {
            let known = view_names().contains(&table.name.as_str()) || declared.contains(&table.name);
            if !known {
                problems.push(QueryError::UnknownTable {
                    file: file.path.clone(),
                    line: table.line,
                    column: table.column,
                    table: table.name.clone(),
                    suggestion: did_you_mean(&table.name, candidates.iter().copied()),
                });
            }
        }
        if problems.len() == before {
            kept.push(file);
        }
    }
    kept
}

/// Puts the files in execution order: every query after the queries it
/// reads. Files in a dependency cycle are dropped with one problem naming the
/// cycle.
fn order(files: Vec<QueryFile>, problems: &mut Vec<QueryError>) -> Vec<QueryFile> {
    let names: BTreeSet<&str> = files.iter().map(|f| f.name.as_str()).collect();
    // Kahn's algorithm over query-to-query edges, ready set ordered by name.
    let deps: BTreeMap<&str, BTreeSet<&str>> = files
        .iter()
        .map(|f| {
            let d = f.table_refs.iter().map(|t| t.name.as_str()).filter(|t| names.contains(t)).collect();
            (f.name.as_str(), d)
        })
        .collect();
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut sequence: Vec<String> = Vec::with_capacity(files.len());
    loop {
        let ready = deps
            .iter()
            .find(|(name, d)| !done.contains(*name) && d.iter().all(|x| done.contains(x)))
            .map(|(name, _)| *name);
        match ready {
            Some(name) => {
                done.insert(name);
                sequence.push(name.to_string());
            }
            None => break,
        }
    }
    if sequence.len() < files.len() {
        problems.push(cycle_error(&files, &deps, &done));
    }

    let position: BTreeMap<String, usize> = sequence.into_iter().enumerate().map(|(i, n)| (n, i)).collect();
    let mut files: Vec<QueryFile> = files.into_iter().filter(|f| position.contains_key(&f.name)).collect();
    files.sort_by_key(|f| position.get(&f.name).copied().unwrap_or(usize::MAX));
    files
}

/// Finds one cycle among the queries not yet ordered and describes it,
/// naming the first file of the cycle (by name) and the line where it reads
/// the next one.
fn cycle_error(files: &[QueryFile], deps: &BTreeMap<&str, BTreeSet<&str>>, done: &BTreeSet<&str>) -> QueryError {
    // Every remaining query reads at least one remaining query, so walking
    // from the smallest remaining name must revisit a node.
    let start = deps.keys().find(|n| !done.contains(*n)).copied().unwrap_or_default();
    let mut path: Vec<&str> = vec![start];
    loop {
        let current = path[path.len() - 1];
        let next = deps
            .get(current)
            .and_then(|d| d.iter().find(|x| !done.contains(*x)).copied())
            .unwrap_or(current);
        if let Some(at) = path.iter().position(|n| *n == next) {
            let mut cycle: Vec<&str> = path[at..].to_vec();
            // Rotate so the cycle starts at its smallest name: stable output.
            let min = cycle.iter().enumerate().min_by_key(|(_, n)| **n).map_or(0, |(i, _)| i);
            cycle.rotate_left(min);
            let first = cycle[0];
            let second = cycle.get(1).copied().unwrap_or(first);
            let mut text: Vec<&str> = cycle.clone();
            text.push(first);
            let file = files.iter().find(|f| f.name == first);
            let line = file
                .and_then(|f| f.table_refs.iter().find(|t| t.name == second))
                .map_or(1, |t| t.line);
            return QueryError::Cycle {
                file: file.map(|f| f.path.clone()).unwrap_or_default(),
                line,
                cycle: text.join(" → "),
            };
        }
        path.push(next);
    }
}
