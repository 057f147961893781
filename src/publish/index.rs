//! `<root>/index.html`: every published month, newest first, with links to
//! its report and files and its national headline figures.
//!
//! The figures are read from each month's published files (`manifest.json`,
//! the national row of `data/followup_by_province.csv`), never recomputed.
//! Like the report, the page is self-contained: inline CSS, relative links.

use super::format::{escape_html as e, fmt_decimal_str, fmt_int, month_long};
use super::{MANIFEST, PublishError, SIG, SUMS};
use crate::clock::Month;
use crate::storage::Location;

/// What the index shows of one month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthEntry {
    pub month: String,
    pub as_of: Option<String>,
    pub complete: bool,
    pub signed: bool,
    pub warnings: usize,
    /// National row of followup_by_province, machine format.
    pub received: Option<String>,
    pub followed_up_in_month: Option<String>,
    pub open_not_followed_up: Option<String>,
    pub sla_met_pct: Option<String>,
}

fn store_err(root: &Location, rel: &str) -> impl FnOnce(crate::storage::StorageError) -> PublishError {
    let url = root.url_of(rel);
    move |source| PublishError::Storage {
        url,
        source: Box::new(source),
    }
}

/// Read what the index needs of one published month.
pub async fn month_entry(root: &Location, month: Month) -> Result<MonthEntry, PublishError> {
    let m = month.to_string();
    let mut entry = MonthEntry {
        month: m.clone(),
        ..Default::default()
    };
    let sums = format!("{m}/{SUMS}");
    entry.complete = root.head_opt(&sums).await.map_err(store_err(root, &sums))?.is_some();
    let sig = format!("{m}/{SIG}");
    entry.signed = root.head_opt(&sig).await.map_err(store_err(root, &sig))?.is_some();
    let manifest = format!("{m}/{MANIFEST}");
    if let Some(bytes) = root.get_opt(&manifest).await.map_err(store_err(root, &manifest))? {
        // An unreadable manifest only leaves the row's details empty; `verify` reports it.
        if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
            entry.as_of = v.get("as_of").and_then(|x| x.as_str()).map(str::to_string);
            entry.warnings = v.get("warnings").and_then(|w| w.as_array()).map_or(0, Vec::len);
        }
    }
    let csv_path = format!("{m}/data/followup_by_province.csv");
    if let Some(bytes) = root.get_opt(&csv_path).await.map_err(store_err(root, &csv_path))? {
        let mut rdr = csv::Reader::from_reader(bytes.as_ref());
        let headers = rdr.headers().cloned().unwrap_or_default();
        let col = |name: &str| headers.iter().position(|h| h == name);
        for rec in rdr.records().flatten() {
            if col("province_code").and_then(|i| rec.get(i)) != Some("00") {
                continue;
            }
            let get = |name: &str| col(name).and_then(|i| rec.get(i)).filter(|s| !s.is_empty()).map(str::to_string);
            entry.received = get("received");
            entry.followed_up_in_month = get("followed_up_in_month");
            entry.open_not_followed_up = get("open_not_followed_up");
            entry.sla_met_pct = get("sla_met_pct");
            break;
        }
    }
    Ok(entry)
}

fn num(v: &Option<String>) -> String {
    match v.as_deref() {
        None => "–".to_string(),
        Some(s) => match s.parse::<i128>() {
            Ok(i) => fmt_int(i),
            Err(_) => e(&fmt_decimal_str(s)),
        },
    }
}

/// The index page for these months (already sorted newest first).
pub fn render(entries: &[MonthEntry]) -> String {
    let mut out = String::with_capacity(16 * 1024);
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"id\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Laporan bulanan tindak lanjut pengaduan ketenagakerjaan</title>\n<style>\n\
         body{margin:0;font-family:\"Segoe UI\",Roboto,\"Noto Sans\",Arial,\"DejaVu Sans\",sans-serif;color:#222b36;background:#f3f5f8;font-size:15px}\n\
         header{background:#1f3b57;color:#fff;padding:24px 0}\n.wrap{max-width:1100px;margin:0 auto;padding:0 28px}\n\
         h1{margin:0;font-size:26px}\nheader p{margin:6px 0 0;color:#b9cde0}\n\
         table{border-collapse:collapse;width:100%;background:#fff;margin:20px 0;border:1px solid #e3e7ec}\n\
         th{background:#eef2f6;text-align:left;padding:8px 10px;font-size:13px;border-bottom:2px solid #c9d2dc}\n\
         td{padding:8px 10px;border-bottom:1px solid #e3e7ec}\ntd:nth-child(-n+2){white-space:nowrap}\n.num{text-align:right;font-variant-numeric:tabular-nums}\n\
         a{color:#1b7f79}\n.muted{color:#5f6b78;font-size:13px}\n.warn{color:#b83227;font-size:13px}\n\
         @media print{header{background:#fff;color:#000}}\n</style>\n</head>\n<body>\n\
         <header><div class=\"wrap\"><h1>Tindak Lanjut Pengaduan Ketenagakerjaan</h1>\
         <p>Laporan bulanan yang telah terbit, terbaru di atas</p></div></header>\n<main class=\"wrap\">\n",
    );
    if entries.is_empty() {
        out.push_str("<p>Belum ada laporan yang terbit.</p>\n");
    } else {
        out.push_str(
            "<table>\n<thead><tr><th>Periode</th><th>Data s.d.</th><th class=\"num\">Aduan diterima</th>\
             <th class=\"num\">Ditindaklanjuti pertama kali</th><th class=\"num\">Terbuka, belum pernah ditindaklanjuti</th>\
             <th class=\"num\">% memenuhi SLA</th><th>Berkas</th><th>Status</th></tr></thead>\n<tbody>\n",
        );
        for m in entries {
            let label = Month::parse(&m.month).map_or_else(|| m.month.clone(), month_long);
            let status = match (m.complete, m.signed) {
                (false, _) => "<span class=\"warn\">tidak lengkap</span>".to_string(),
                (true, true) => "ditandatangani".to_string(),
                (true, false) => "tanpa tanda tangan".to_string(),
            };
            let warnings = if m.warnings > 0 {
                format!("<br><span class=\"warn\">{} peringatan</span>", m.warnings)
            } else {
                String::new()
            };
            out.push_str(&format!(
                "<tr><td><a href=\"{d}/report.html\"><b>{}</b></a>{warnings}</td><td>{}</td><td class=\"num\">{}</td>\
                 <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"muted\"><a href=\"{d}/report.xlsx\">XLSX</a> · <a href=\"{d}/manifest.json\">manifest</a> · \
                 <a href=\"{d}/SHA256SUMS\">SHA256SUMS</a></td><td class=\"muted\">{status}</td></tr>\n",
                e(&label),
                e(m.as_of.as_deref().unwrap_or("–")),
                num(&m.received),
                num(&m.followed_up_in_month),
                num(&m.open_not_followed_up),
                num(&m.sla_met_pct),
                d = e(&m.month),
            ));
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str(
        "<p class=\"muted\">Setiap folder bulan dapat diperiksa dengan <code>sha256sum -c SHA256SUMS</code> dan \
         <code>ssh-keygen -Y verify -n file</code>. Angka suatu bulan diidentifikasi oleh tanggal datanya (data s.d.).</p>\n\
         </main>\n</body>\n</html>\n",
    );
    out
}

/// Rewrite `<root>/index.html` from the months present under the root.
pub async fn regenerate(root: &Location) -> Result<(), PublishError> {
    let mut months: Vec<Month> = root
        .list_dirs("")
        .await
        .map_err(store_err(root, ""))?
        .iter()
        .filter_map(|d| Month::parse(d))
        .collect();
    months.sort_by(|a, b| b.cmp(a));
    let mut entries = Vec::with_capacity(months.len());
    for m in months {
        entries.push(month_entry(root, m).await?);
    }
    root.put("index.html", render(&entries).into_bytes())
        .await
        .map_err(store_err(root, "index.html"))
}
