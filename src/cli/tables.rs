//! `wasnaker tables`: the tables a query sees, with their columns.

use std::process::ExitCode;

use crate::config::Config;
use crate::lake::context::{self, ViewOptions};
use crate::lake::ledger::Ledger;
use crate::storage::Location;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also print each column's meaning (data dictionary).
    #[arg(long)]
    pub describe: bool,
}

pub async fn run(cfg: &Config, args: Args) -> anyhow::Result<ExitCode> {
    let lake = Location::open(&cfg.lake, &cfg.storage)?;
    let ledger = Ledger::load(&lake).await?;
    let views = context::open(
        &lake,
        &ledger,
        &ViewOptions {
            allow_stale_snapshot: true,
            ..Default::default()
        },
    )
    .await?;
    let sql = "SELECT table_name, column_name, data_type FROM information_schema.columns \
               WHERE table_schema = 'public' AND table_name NOT LIKE 'lake\\_%' ESCAPE '\\' ORDER BY table_name, ordinal_position";
    let batches = views.ctx.sql(sql).await?.collect().await?;
    let mut current = String::new();
    for b in &batches {
        use arrow::array::AsArray;
        let (t, c, ty) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_string::<i32>(),
            b.column(2).as_string::<i32>(),
        );
        for i in 0..b.num_rows() {
            if t.value(i) != current {
                current = t.value(i).to_string();
                let doc = crate::contract::table(&current)
                    .map(|x| format!("  — {}", x.doc))
                    .unwrap_or_default();
                println!("\n{current}{doc}");
            }
            let meaning = if args.describe {
                column_doc(&current, c.value(i)).map(|d| format!("  {d}")).unwrap_or_default()
            } else {
                String::new()
            };
            println!("  {:<32} {:<28}{meaning}", c.value(i), ty.value(i));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn column_doc(table: &str, column: &str) -> Option<String> {
    let base = table.strip_suffix("_history").unwrap_or(table);
    let t = crate::contract::table(base)?;
    if column == crate::contract::EXTRACT_DATE {
        return Some("extract date (night) the row came from".into());
    }
    if column == "province_code_bps" {
        return Some("province code as delivered (statistics office, BPS)".into());
    }
    if table == "employers" && column == "province_code" {
        return Some("Kemendagri province code, mapped from the BPS code through provinces.csv".into());
    }
    t.columns
        .iter()
        .find(|c| c.lake_name().as_deref() == Some(column))
        .map(|c| c.doc.to_string())
}
