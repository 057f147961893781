//! `wasnaker tables [--describe]`: the tables a query sees and the tables the
//! report publishes, with their columns; `--describe` prints the data
//! dictionary (meaning and source of every column).

use std::process::ExitCode;

use crate::config::Config;
use crate::query::dictionary::Dictionary;
use crate::query::plan::plan_all;
use crate::query::{QueryKind, QuerySet};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also print each table's rows and each column's meaning and source (data dictionary).
    #[arg(long)]
    pub describe: bool,
}

pub async fn run(cfg: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let dictionary = match QuerySet::load_dir_all(&cfg.report.queries_dir) {
        Ok(loaded) => {
            let planned = plan_all(&loaded.set, crate::monthly::settings(cfg)).await?;
            if !loaded.problems.is_empty() || !planned.problems.is_empty() {
                eprintln!(
                    "warning: the queries have problems; a published table that cannot be planned is left out (run `wasnaker check`)"
                );
            }
            let reports = planned.queries.iter().filter(|q| q.query.kind == QueryKind::Report);
            let names = crate::monthly::publication_order(reports.map(|q| q.query.name.as_str()));
            Dictionary::build(&planned, &names)?
        }
        Err(error) => {
            eprintln!("warning: {error}; only the lake tables are listed");
            Dictionary::lake()?
        }
    };
    let mut out = std::io::stdout().lock();
    use std::io::Write;
    for table in &dictionary.tables {
        writeln!(out, "\n{} ({} table) — {}", table.name, table.kind.as_str(), table.title)?;
        if args.describe {
            writeln!(out, "  {}", table.description)?;
            writeln!(out, "  from: {}", table.origin)?;
        }
        for c in &table.columns {
            let ty = format!("{}{}", c.data_type, if c.nullable { "?" } else { "" });
            if args.describe {
                writeln!(out, "  {:<32} {:<14} {}  [{}]", c.name, ty, c.meaning, c.source)?;
            } else {
                writeln!(out, "  {:<32} {ty}", c.name)?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
