//! Where the report's SQL runs: DataFusion in this process (`local`, the
//! default) or an Apache Ballista cluster (`df://scheduler:50050`), which
//! executes the same DataFusion plans on executors on other machines.
//!
//! Only [`crate::lake::context::session`] turns an [`Engine`] into a
//! DataFusion context; the lake views, the queries, their parameters and the
//! publishing code do not know which engine runs them. A plan sent to a
//! cluster must be serialisable: no in-memory tables, no functions of our
//! own. The lake views are built to be (`docs/lake-views.md`), and
//! [`crate::lake::context::is_distributed`] tells the one place that keeps
//! tables in memory locally (report tables read by later queries) to send
//! `VALUES` or a view instead.

use std::fmt;

/// The scheduler port Ballista listens on when a URL gives none.
pub const DEFAULT_SCHEDULER_PORT: u16 = 50050;

/// How queries are executed (`[engine] url` in the config).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Engine {
    /// DataFusion in this process.
    #[default]
    Local,
    /// A Ballista scheduler and executor started inside this process: the
    /// distributed code path (plan serialisation, shuffles over Arrow Flight)
    /// on one machine. For tests and for measuring what the cluster path
    /// costs; it is never faster than `local`.
    Standalone,
    /// A running Ballista scheduler, `df://host:port`.
    Ballista { host: String, port: u16 },
}

impl Engine {
    /// Reads the config value: `local`, `standalone` or `df://host[:port]`.
    pub fn parse(text: &str) -> Result<Engine, String> {
        match text.trim() {
            "local" => return Ok(Engine::Local),
            "standalone" => return Ok(Engine::Standalone),
            _ => {}
        }
        let url = url::Url::parse(text.trim())
            .map_err(|e| format!("{text:?} is neither `local`, `standalone` nor a Ballista scheduler URL df://host:port ({e})"))?;
        if url.scheme() != "df" {
            return Err(format!(
                "{text:?}: a Ballista scheduler URL starts with df:// (e.g. df://ballista-scheduler:50050); or use `local`"
            ));
        }
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| format!("{text:?}: the URL names no scheduler host (df://host:50050)"))?;
        if !url.path().is_empty() && url.path() != "/" || url.query().is_some() || url.password().is_some() || !url.username().is_empty() {
            return Err(format!("{text:?}: give only df://host:port, with no path, query or user"));
        }
        Ok(Engine::Ballista {
            host: host.to_string(),
            port: url.port().unwrap_or(DEFAULT_SCHEDULER_PORT),
        })
    }

    /// True when plans leave this process (standalone counts: its executor
    /// receives them serialised, exactly as a remote one would).
    pub fn is_distributed(&self) -> bool {
        !matches!(self, Engine::Local)
    }

    /// True when the executors run on other machines, so everything they
    /// read must be on shared storage.
    pub fn is_remote(&self) -> bool {
        matches!(self, Engine::Ballista { .. })
    }

    /// Whether this build can run it (Ballista is the default `ballista`
    /// cargo feature).
    pub fn available(&self) -> bool {
        cfg!(feature = "ballista") || !self.is_distributed()
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Engine::Local => f.write_str("local"),
            Engine::Standalone => f.write_str("standalone"),
            Engine::Ballista { host, port } => write!(f, "df://{host}:{port}"),
        }
    }
}

/// Starting or reaching the engine failed.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("engine {engine}: this wasnaker was built without Ballista; rebuild with the default features (`cargo build --release`)")]
    NotBuilt { engine: String },
    #[error("engine {engine}: {message}")]
    Start { engine: String, message: String },
    #[error(
        "engine {engine}: the Ballista scheduler did not run a test query ({message}); check that the scheduler and at least one executor are running and that engine.url is right"
    )]
    Unreachable { engine: String, message: String },
}

/// Rewrites a row of literals with no `FROM` (`SELECT '00' AS code, …`,
/// DataFusion's projection of a one-row `EmptyRelation`) into the same row
/// as `VALUES`, for distributed sessions only. Ballista 55 restricts each
/// task of a stage to its share of the partitions, and a one-row
/// placeholder under a `UNION ALL` makes the executor's plan report one
/// operator more than the scheduler's: the task's status is rejected ("task
/// metrics array size 6 does not equal with the stage metrics array size
/// 5") and the job never finishes. `VALUES` runs as an in-memory scan,
/// which Ballista restricts correctly; the rows and their types are the
/// same.
#[derive(Debug, Default)]
pub(crate) struct LiteralRowsAsValues;

impl datafusion::optimizer::OptimizerRule for LiteralRowsAsValues {
    fn name(&self) -> &str {
        "wasnaker_literal_rows_as_values"
    }

    fn apply_order(&self) -> Option<datafusion::optimizer::ApplyOrder> {
        Some(datafusion::optimizer::ApplyOrder::BottomUp)
    }

    fn rewrite(
        &self,
        plan: datafusion::logical_expr::LogicalPlan,
        _config: &dyn datafusion::optimizer::OptimizerConfig,
    ) -> datafusion::error::Result<datafusion::common::tree_node::Transformed<datafusion::logical_expr::LogicalPlan>> {
        use datafusion::common::tree_node::Transformed;
        use datafusion::logical_expr::{Expr, LogicalPlan, LogicalPlanBuilder, col};
        fn literal(e: &Expr) -> Option<Expr> {
            match e {
                Expr::Alias(a) => literal(&a.expr),
                Expr::Literal(..) => Some(e.clone()),
                _ => None,
            }
        }
        let LogicalPlan::Projection(p) = &plan else {
            return Ok(Transformed::no(plan));
        };
        let LogicalPlan::EmptyRelation(empty) = p.input.as_ref() else {
            return Ok(Transformed::no(plan));
        };
        let row: Option<Vec<Expr>> = p.expr.iter().map(literal).collect();
        let (true, Some(row)) = (empty.produce_one_row, row) else {
            return Ok(Transformed::no(plan));
        };
        if row.is_empty() {
            return Ok(Transformed::no(plan));
        }
        // VALUES names its columns column1…; the projection gives back the
        // names (and qualifiers) the rest of the plan refers to.
        let named: Vec<Expr> = (0..row.len())
            .map(|i| {
                let (qualifier, field) = p.schema.qualified_field(i);
                col(format!("column{}", i + 1)).alias_qualified(qualifier.cloned(), field.name())
            })
            .collect();
        let values = LogicalPlanBuilder::values(vec![row])?.project(named)?.build()?;
        Ok(Transformed::yes(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_three_forms() {
        assert_eq!(Engine::parse("local"), Ok(Engine::Local));
        assert_eq!(Engine::parse("standalone"), Ok(Engine::Standalone));
        assert_eq!(
            Engine::parse("df://sched.example:50077"),
            Ok(Engine::Ballista {
                host: "sched.example".into(),
                port: 50077
            })
        );
        let e = Engine::parse("df://10.0.0.5").unwrap();
        assert_eq!(e.to_string(), "df://10.0.0.5:50050");
        assert!(e.is_remote() && e.is_distributed());
        assert!(Engine::Standalone.is_distributed() && !Engine::Standalone.is_remote());
        assert!(!Engine::Local.is_distributed());
    }

    #[test]
    fn refuses_other_urls_with_the_reason() {
        for (bad, says) in [
            ("http://sched:50050", "starts with df://"),
            ("df://", "no scheduler host"),
            ("df://sched:50050/x", "no path"),
            ("df://user:pw@sched:50050", "no path, query or user"),
            ("ballista", "neither `local`"),
        ] {
            let err = Engine::parse(bad).unwrap_err();
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
