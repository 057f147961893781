//! Lineage (`wasnaker lineage [TABLE]`): which queries, lake views and
//! columns each table depends on, as text, Mermaid or Graphviz DOT.
//!
//! Everything comes from [`Planned`]: the optimised plan of each query says
//! which tables and columns it reads; a lake view's origin (the extract file,
//! the ledger or a compiled-in spec file) comes from the contract. For a
//! query the graph runs upstream (what it is computed from), for a lake view
//! downstream (what is computed from it); without a table, every query.
//! Output is sorted and stable. This module never plans or runs anything.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use super::error::{QueryError, Result, did_you_mean};
use super::header::QueryKind;
use super::plan::{Planned, PlannedQuery, Sources};
use super::schemas::view_names;

/// The output forms of `wasnaker lineage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineageFormat {
    /// Indented text for people.
    Text,
    /// A Mermaid `flowchart` (renders in GitHub and GitLab Markdown).
    Mermaid,
    /// A Graphviz `digraph` (`dot -Tsvg`).
    Dot,
}

/// Where the rows of lake view `view` come from: the contract file it is
/// read from, the ledger, or a compiled-in spec file.
pub fn view_origin(view: &str) -> String {
    let base = view.strip_suffix("_history").unwrap_or(view);
    if let Some(table) = crate::contract::table(base) {
        return format!("{}/{}", table.system, table.file);
    }
    match view {
        "nights" | "night_tables" => "ledger".to_string(),
        "provinces" => "spec/provinces.csv".to_string(),
        "violations" => "spec/violations.csv".to_string(),
        "complaint_statuses" => "spec/extracts.md (status codes)".to_string(),
        other => other.to_string(),
    }
}

/// The query file of a query, as the bundle names it.
pub fn query_file(name: &str) -> String {
    format!("queries/{name}.sql")
}

/// The queries `name` reads, directly or through other queries, in
/// execution order (not `name` itself).
pub fn upstream_queries<'a>(planned: &'a Planned, name: &str) -> Vec<&'a PlannedQuery> {
    let mut needed: BTreeSet<&str> = BTreeSet::new();
    let mut todo: Vec<&str> = vec![name];
    while let Some(current) = todo.pop() {
        if let Some(q) = planned.get(current) {
            for read in q.query_reads() {
                if needed.insert(read) {
                    todo.push(read);
                }
            }
        }
    }
    planned.queries.iter().filter(|q| needed.contains(q.query.name.as_str())).collect()
}

/// Renders the lineage of `table` (every query when `None`) in `format`.
pub fn render(planned: &Planned, table: Option<&str>, format: LineageFormat) -> Result<String> {
    let focus = match table {
        None => Focus::All,
        Some(name) if planned.get(name).is_some() => Focus::Query(name),
        Some(name) if view_names().contains(&name) => Focus::View(name),
        Some(name) => return Err(not_a_table(planned, name)),
    };
    let graph = Graph::of(planned, focus);
    Ok(match format {
        LineageFormat::Text => text(planned, focus),
        LineageFormat::Mermaid => graph.mermaid(),
        LineageFormat::Dot => graph.dot(),
    })
}

fn not_a_table(planned: &Planned, name: &str) -> QueryError {
    let mut known: Vec<&str> = planned.queries.iter().map(|q| q.query.name.as_str()).collect();
    known.extend(view_names().iter().copied());
    QueryError::NotATable {
        name: name.to_string(),
        suggestion: did_you_mean(name, known.iter().copied()),
        tables: known.join(", "),
    }
}

#[derive(Debug, Clone, Copy)]
enum Focus<'a> {
    All,
    Query(&'a str),
    View(&'a str),
}

fn kind_label(q: &PlannedQuery) -> &'static str {
    match q.query.kind {
        QueryKind::Report => "published table",
        QueryKind::View => "helper view",
    }
}

fn columns(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "(row count only)".to_string()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(", ")
    }
}

/// `complaints(province_code, received_at); provinces(code)`.
pub(crate) fn sources_inline(sources: &Sources) -> String {
    if sources.is_empty() {
        return "(parameters and constants only)".to_string();
    }
    sources
        .iter()
        .map(|(t, c)| format!("{t}({})", c.iter().cloned().collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

fn text(planned: &Planned, focus: Focus) -> String {
    let mut out = String::new();
    match focus {
        Focus::All => {
            for (i, q) in planned.queries.iter().filter(|q| q.query.kind == QueryKind::Report).enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                query_text(&mut out, planned, q, false);
            }
        }
        Focus::Query(name) => {
            if let Some(q) = planned.get(name) {
                query_text(&mut out, planned, q, true);
            }
        }
        Focus::View(view) => view_text(&mut out, planned, view),
    }
    out
}

fn query_text(out: &mut String, planned: &Planned, q: &PlannedQuery, per_column: bool) {
    let _ = writeln!(out, "{} ({}, {})", q.query.name, kind_label(q), query_file(&q.query.name));
    let _ = writeln!(out, "  reads:");
    for (table, cols) in &q.reads {
        let what = match planned.get(table) {
            Some(read) => format!("{}, {}", kind_label(read), query_file(table)),
            None => format!("lake view ← {}", view_origin(table)),
        };
        let _ = writeln!(out, "    {table} ({what}): {}", columns(cols));
    }
    let helpers = upstream_queries(planned, &q.query.name);
    if !helpers.is_empty() {
        let names: Vec<String> = helpers.iter().map(|h| query_file(&h.query.name)).collect();
        let _ = writeln!(out, "  computed through: {}", names.join(", "));
    }
    let _ = writeln!(out, "  depends on (lake views and columns):");
    for (table, cols) in &q.sources {
        let _ = writeln!(out, "    {table} ← {}: {}", view_origin(table), columns(cols));
    }
    if per_column {
        let _ = writeln!(out, "  columns:");
        for (field, sources) in q.schema.fields().iter().zip(&q.column_sources) {
            let _ = writeln!(out, "    {}: {}", field.name(), sources_inline(sources));
        }
    }
}

fn view_text(out: &mut String, planned: &Planned, view: &str) {
    let _ = writeln!(out, "{view} (lake view ← {})", view_origin(view));
    let readers: Vec<&PlannedQuery> = planned.queries.iter().filter(|q| q.reads.contains_key(view)).collect();
    if readers.is_empty() {
        let _ = writeln!(out, "  read by no query");
        return;
    }
    let _ = writeln!(out, "  read by:");
    for q in &readers {
        let cols = q.reads.get(view).map(columns).unwrap_or_default();
        let _ = writeln!(
            out,
            "    {} ({}, {}): {cols}",
            q.query.name,
            kind_label(q),
            query_file(&q.query.name)
        );
    }
    let published: Vec<&str> = planned
        .queries
        .iter()
        .filter(|q| q.query.kind == QueryKind::Report && q.sources.contains_key(view))
        .map(|q| q.query.name.as_str())
        .collect();
    let _ = writeln!(out, "  published tables that depend on it: {}", published.join(", "));
}

/// Node kinds, in drawing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum NodeKind {
    Origin,
    Lake,
    Helper,
    Published,
}

/// A lineage graph: nodes by id, edges with the columns they carry.
struct Graph {
    nodes: BTreeMap<(NodeKind, String), String>,
    edges: BTreeSet<(String, String, String)>,
}

impl Graph {
    fn of(planned: &Planned, focus: Focus) -> Graph {
        let selected: Vec<&PlannedQuery> = match focus {
            Focus::All => planned.queries.iter().collect(),
            Focus::Query(name) => {
                let mut up = upstream_queries(planned, name);
                up.extend(planned.get(name));
                up
            }
            Focus::View(view) => {
                let mut reached: BTreeSet<&str> = BTreeSet::new();
                let mut out = Vec::new();
                for q in &planned.queries {
                    if q.reads.keys().any(|r| r == view || reached.contains(r.as_str())) {
                        reached.insert(q.query.name.as_str());
                        out.push(q);
                    }
                }
                out
            }
        };
        let names: BTreeSet<&str> = selected.iter().map(|q| q.query.name.as_str()).collect();
        let mut graph = Graph {
            nodes: BTreeMap::new(),
            edges: BTreeSet::new(),
        };
        for q in &selected {
            let kind = match q.query.kind {
                QueryKind::Report => NodeKind::Published,
                QueryKind::View => NodeKind::Helper,
            };
            graph.nodes.insert((kind, q.query.name.clone()), q.query.name.clone());
            for (table, cols) in &q.reads {
                let from_view = view_names().contains(&table.as_str());
                if from_view {
                    if let Focus::View(view) = focus
                        && view != table
                    {
                        continue;
                    }
                    graph.add_view(table);
                } else if !names.contains(table.as_str()) {
                    continue;
                }
                graph.edges.insert((id_of(table), id_of(&q.query.name), columns(cols)));
            }
        }
        if let Focus::View(view) = focus {
            graph.add_view(view);
        }
        graph
    }

    fn add_view(&mut self, view: &str) {
        let origin = view_origin(view);
        self.edges.insert((origin_id(&origin), id_of(view), String::new()));
        self.nodes.insert((NodeKind::Origin, origin.clone()), origin);
        self.nodes.insert((NodeKind::Lake, view.to_string()), view.to_string());
    }

    fn node_id(kind: NodeKind, name: &str) -> String {
        match kind {
            NodeKind::Origin => origin_id(name),
            _ => id_of(name),
        }
    }

    fn mermaid(&self) -> String {
        let mut out = String::from("flowchart LR\n");
        for ((kind, name), label) in &self.nodes {
            let label = label.replace('"', "'");
            let id = Graph::node_id(*kind, name);
            let _ = match kind {
                NodeKind::Origin => writeln!(out, "  {id}[/\"{label}\"/]"),
                NodeKind::Lake => writeln!(out, "  {id}[(\"{label}\")]"),
                NodeKind::Helper => writeln!(out, "  {id}[\"{label}<br/>(helper view)\"]"),
                NodeKind::Published => writeln!(out, "  {id}[[\"{label}\"]]"),
            };
        }
        for (from, to, label) in &self.edges {
            if label.is_empty() {
                let _ = writeln!(out, "  {from} --> {to}");
            } else {
                let _ = writeln!(out, "  {from} -->|\"{}\"| {to}", label.replace('"', "'"));
            }
        }
        out
    }

    fn dot(&self) -> String {
        let mut out = String::from("digraph lineage {\n  rankdir=LR;\n  node [fontname=\"sans-serif\", fontsize=11];\n");
        let quote = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
        for ((kind, name), label) in &self.nodes {
            let attrs = match kind {
                NodeKind::Origin => format!("label=\"{}\", shape=note", quote(label)),
                NodeKind::Lake => format!("label=\"{}\", shape=cylinder", quote(label)),
                NodeKind::Helper => format!("label=\"{}\\n(helper view)\", shape=box, style=dashed", quote(label)),
                NodeKind::Published => format!("label=\"{}\", shape=box, style=bold", quote(label)),
            };
            let _ = writeln!(out, "  {} [{attrs}];", Graph::node_id(*kind, name));
        }
        for (from, to, label) in &self.edges {
            if label.is_empty() {
                let _ = writeln!(out, "  {from} -> {to};");
            } else {
                let _ = writeln!(out, "  {from} -> {to} [label=\"{}\", fontsize=9];", quote(label));
            }
        }
        out.push_str("}\n");
        out
    }
}

/// The id of a table node (a query or a lake view): names are identifiers.
fn id_of(name: &str) -> String {
    format!("t_{name}")
}

/// The id of an origin node: its text with every non-alphanumeric replaced.
fn origin_id(origin: &str) -> String {
    let clean: String = origin.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("src_{clean}")
}
