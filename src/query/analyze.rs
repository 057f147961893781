//! What the SQL of a query file reads: its tables and its `$parameters`.
//!
//! The SQL is parsed with DataFusion's own parser (`sqlparser`, generic
//! dialect) over the whole file, so the lines it reports are the file's lines.
//! Table names follow DataFusion's rules: unquoted identifiers are folded to
//! lower case, quoted ones are taken verbatim. Names defined by a `WITH`
//! clause anywhere in the statement are not tables (the loader refuses a
//! `WITH` name that is also a table's, so this is exact); table functions
//! (`generate_series(...)` in `FROM`) are not tables either. This module never
//! plans or runs anything.

use std::ops::ControlFlow;
use std::path::Path;

use datafusion::sql::sqlparser::ast::{
    Expr, Ident, ObjectName, ObjectNamePart, Query, SelectItem, SetExpr, Spanned, Statement, TableFactor, Value, ValueWithSpan, Visit,
    Visitor,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use super::error::{QueryError, Result};

/// A table the SQL reads, with the line and column (1-based) of its first
/// mention.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableRef {
    pub name: String,
    pub line: u64,
    pub column: u64,
}

/// A `$parameter` the SQL uses (name without `$`), with the line and column
/// of its first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ParamRef {
    pub name: String,
    pub line: u64,
    pub column: u64,
}

/// The tables and parameters of one statement, each once, in order of first
/// appearance.
#[derive(Debug, Clone, Default)]
pub(crate) struct SqlFacts {
    pub tables: Vec<TableRef>,
    pub params: Vec<ParamRef>,
    /// Names defined by `WITH` clauses (any depth), with their lines.
    pub ctes: Vec<TableRef>,
    /// The output columns named in the outermost SELECT list (alias, or the
    /// column of a bare column reference), with their positions; for a set
    /// operation, those of its first SELECT.
    pub outputs: Vec<TableRef>,
    /// Every function call (name lower-cased), in order, with its position.
    pub calls: Vec<TableRef>,
}

/// Parses `sql` (the whole content of `file`) and collects what it reads.
pub(crate) fn analyze(file: &Path, sql: &str) -> Result<SqlFacts> {
    let statements = Parser::parse_sql(&GenericDialect {}, sql).map_err(|source| {
        let (line, column) = parser_position(&source.to_string()).unwrap_or((1, 1));
        QueryError::Parse {
            file: file.to_path_buf(),
            line,
            column,
            source,
        }
    })?;
    let statement = match statements.as_slice() {
        [one] => one,
        [] => {
            return Err(QueryError::Statement {
                file: file.to_path_buf(),
                line: 1,
                message: "the file holds no SQL statement; expected one SELECT after the header".to_string(),
            });
        }
        [_, second, ..] => {
            return Err(QueryError::Statement {
                file: file.to_path_buf(),
                line: line_of(second.span().start.line),
                message: format!("the file holds {} statements; expected exactly one SELECT", statements.len()),
            });
        }
    };
    let Statement::Query(query) = statement else {
        return Err(QueryError::Statement {
            file: file.to_path_buf(),
            line: line_of(statement.span().start.line),
            message: "expected a SELECT statement (optionally with WITH); a query file never changes data".to_string(),
        });
    };

    let mut collector = Collector::default();
    if let ControlFlow::Break(message) = statement.visit(&mut collector) {
        let (line, message) = message;
        return Err(QueryError::Statement {
            file: file.to_path_buf(),
            line,
            message,
        });
    }

    let mut facts = SqlFacts::default();
    for table in collector.tables {
        let is_cte = collector.ctes.iter().any(|c| c.name == table.name);
        if !is_cte && !facts.tables.iter().any(|t| t.name == table.name) {
            facts.tables.push(table);
        }
    }
    for cte in collector.ctes {
        if !facts.ctes.iter().any(|c| c.name == cte.name) {
            facts.ctes.push(cte);
        }
    }
    for param in collector.params {
        if !facts.params.iter().any(|p| p.name == param.name) {
            facts.params.push(param);
        }
    }
    facts.outputs = output_columns(&query.body);
    facts.calls = collector.calls;
    Ok(facts)
}

/// The named items of the first SELECT list of `body`.
fn output_columns(body: &SetExpr) -> Vec<TableRef> {
    let select = match body {
        SetExpr::Select(select) => select,
        SetExpr::Query(query) => return output_columns(&query.body),
        SetExpr::SetOperation { left, .. } => return output_columns(left),
        _ => return Vec::new(),
    };
    let named = |ident: &Ident| TableRef {
        name: normalise(ident),
        line: line_of(ident.span.start.line),
        column: line_of(ident.span.start.column),
    };
    select
        .projection
        .iter()
        .filter_map(|item| match item {
            SelectItem::ExprWithAlias { alias, .. } => Some(named(alias)),
            SelectItem::UnnamedExpr(Expr::Identifier(ident)) => Some(named(ident)),
            SelectItem::UnnamedExpr(Expr::CompoundIdentifier(parts)) => parts.last().map(named),
            _ => None,
        })
        .collect()
}

/// The `Line: L, Column: C` position at the end of a sqlparser message.
fn parser_position(message: &str) -> Option<(u64, u64)> {
    let at = message.rfind("Line: ")?;
    let (line, column) = message[at + "Line: ".len()..].split_once(", Column: ")?;
    let column: String = column.chars().take_while(char::is_ascii_digit).collect();
    Some((line.trim().parse().ok()?, column.parse().ok()?))
}

/// sqlparser uses line 0 for "no position"; report those as line 1 (and
/// column 0 as column 1).
fn line_of(line: u64) -> u64 {
    line.max(1)
}

/// The name DataFusion gives an identifier (unquoted: lower case).
fn normalise(ident: &Ident) -> String {
    match ident.quote_style {
        Some(_) => ident.value.clone(),
        None => ident.value.to_lowercase(),
    }
}

fn object_name(name: &ObjectName) -> String {
    name.0
        .iter()
        .map(|part| match part {
            ObjectNamePart::Identifier(ident) => normalise(ident),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

#[derive(Default)]
struct Collector {
    ctes: Vec<TableRef>,
    tables: Vec<TableRef>,
    params: Vec<ParamRef>,
    calls: Vec<TableRef>,
}

impl Visitor for Collector {
    type Break = (u64, String);

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<Self::Break> {
        if let Some(with) = &query.with {
            for cte in &with.cte_tables {
                self.ctes.push(TableRef {
                    name: normalise(&cte.alias.name),
                    line: line_of(cte.alias.name.span.start.line),
                    column: line_of(cte.alias.name.span.start.column),
                });
            }
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<Self::Break> {
        if let TableFactor::Table { name, args: None, .. } = factor {
            let start = name.span().start;
            self.tables.push(TableRef {
                name: object_name(name),
                line: line_of(start.line),
                column: line_of(start.column),
            });
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<Self::Break> {
        if let Expr::Function(function) = expr {
            let start = function.name.span().start;
            self.calls.push(TableRef {
                name: object_name(&function.name),
                line: line_of(start.line),
                column: line_of(start.column),
            });
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_value(&mut self, value: &ValueWithSpan) -> ControlFlow<Self::Break> {
        if let Value::Placeholder(text) = &value.value {
            let line = line_of(value.span.start.line);
            let column = line_of(value.span.start.column);
            let name = text.strip_prefix('$').unwrap_or("");
            if name.is_empty() || name.chars().all(|c| c.is_ascii_digit()) {
                return ControlFlow::Break((
                    line,
                    format!("placeholder `{text}`: use named parameters (`$month_start`), never positional ones"),
                ));
            }
            self.params.push(ParamRef {
                name: name.to_string(),
                line,
                column,
            });
        }
        ControlFlow::Continue(())
    }
}
