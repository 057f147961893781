//! `report.html`: one self-contained page in Bahasa Indonesia.
//!
//! Everything is inline (CSS, SVG charts); the page loads nothing, from the
//! network or elsewhere, and its only links are anchors inside the page and
//! relative links to the bundle's own files. Every value that comes from data
//! or input goes through [`escape_html`]. Numbers are shown the Indonesian
//! way (`1.234,5`). Screen layout for a laptop, print CSS for A4 (wide tables
//! on landscape pages).
//!
//! This module lays out figures; it never computes one. The only arithmetic
//! is presentation: the change of a headline figure against the previous
//! month of the trend, and the colour class of a map tile.

use super::charts::{self, BarRow, BulletRow, Tile, TrendRow};
use super::format::{
    Grid, Value, decimal_change, escape_html as e, fmt_change_decimal, fmt_change_int, fmt_decimal_str, fmt_int, month_long, month_short,
};
use super::{BundleInput, PublishError, ReportTable, TrendPoint};
use crate::contract::reference::provinces;
use crate::query::dictionary::{DictTable, TableKind};

pub const FOLLOWUP_BY_PROVINCE: &str = "followup_by_province";
pub const FOLLOWUP_BY_VIOLATION: &str = "followup_by_violation";
pub const SUPERVISION_MAP: &str = "supervision_map";
pub const INSURANCE_CROSSCHECK: &str = "insurance_crosscheck";
pub const DATA_QUALITY: &str = "data_quality";

/// The national row's province code.
const NATIONAL: &str = "00";

/// Short labels for the tiles of the province map, by Kemendagri code.
pub fn province_short_label(code: &str) -> Option<&'static str> {
    Some(match code {
        "11" => "ACEH",
        "12" => "SUMUT",
        "13" => "SUMBAR",
        "14" => "RIAU",
        "15" => "JAMBI",
        "16" => "SUMSEL",
        "17" => "BKL",
        "18" => "LPG",
        "19" => "BABEL",
        "21" => "KEPRI",
        "31" => "DKI",
        "32" => "JABAR",
        "33" => "JATENG",
        "34" => "DIY",
        "35" => "JATIM",
        "36" => "BANTEN",
        "51" => "BALI",
        "52" => "NTB",
        "53" => "NTT",
        "61" => "KALBAR",
        "62" => "KALTENG",
        "63" => "KALSEL",
        "64" => "KALTIM",
        "65" => "KALTARA",
        "71" => "SULUT",
        "72" => "SULTENG",
        "73" => "SULSEL",
        "74" => "SULTRA",
        "75" => "GTLO",
        "76" => "SULBAR",
        "81" => "MALUKU",
        "82" => "MALUT",
        "91" => "PAPUA",
        "92" => "PABAR",
        "93" => "PAPSEL",
        "94" => "PAPTENG",
        "95" => "PAPEG",
        "96" => "PBD",
        _ => return None,
    })
}

/// Indonesian headers of the published columns (the column name itself is
/// shown beneath, since it is the published interface).
pub fn column_label(name: &str) -> Option<&'static str> {
    Some(match name {
        "period" => "Periode",
        "province_code" => "Kode",
        "province_name" => "Provinsi",
        "received" => "Diterima",
        "followed_up_in_month" => "Tindak lanjut pertama bulan ini",
        "closed_in_month" => "Ditutup bulan ini",
        "open_at_end" => "Terbuka akhir bulan",
        "open_not_followed_up" => "Terbuka, belum pernah ditindak\u{AD}lanjuti",
        "not_followed_up_0_30" => "…umur 0–30 hari",
        "not_followed_up_31_90" => "…31–90 hari",
        "not_followed_up_91_180" => "…91–180 hari",
        "not_followed_up_over_180" => "…lebih dari 180 hari",
        "median_days_to_follow_up" => "Median hari s.d. tindak lanjut",
        "sla_cohort" => "Kohort SLA (terima M−2)",
        "sla_met" => "Memenuhi SLA",
        "sla_met_pct" => "% memenuhi SLA",
        "violation_code" => "Kode",
        "violation_name" => "Jenis pelanggaran",
        "companies_registry" => "Perusahaan terdaftar",
        "employers_insured_active" => "Pemberi kerja aktif BPJS",
        "employers_not_in_registry" => "…tidak ada di registri",
        "workers_insured" => "Pekerja terdaftar BPJS",
        "inspectors_active" => "Pengawas aktif",
        "inspectors_needed" => "Kebutuhan (rasio pekerja)",
        "inspectors_needed_workload" => "Kebutuhan (beban kerja)",
        "inspector_gap" => "Kekurangan (rasio pekerja)",
        "inspector_gap_workload" => "Kekurangan (beban kerja)",
        "companies_per_inspector" => "Perusahaan per pengawas",
        "open_complaints_per_inspector" => "Aduan terbuka per pengawas",
        "companies_inspected_12m" => "Perusahaan diperiksa 12 bln",
        "coverage_12m_pct" => "Cakupan 12 bln (%)",
        "bpjs_complaints" => "Aduan BPJS",
        "bpjs_complaints_employer_active" => "…pemberi kerja aktif BPJS",
        "employers_arrears_3m" => "Pemberi kerja menunggak ≥ 3 bln",
        "arrears_amount_idr" => "Jumlah tunggakan (Rp)",
        "source" => "Sistem",
        "table" => "Tabel",
        "extracts_expected" => "Ekstrak diharapkan",
        "extracts_received" => "Ekstrak diterima",
        "missing_dates" => "Tanggal tidak dikirim",
        "rejected_dates" => "Tanggal ditolak",
        "rows_read" => "Baris dibaca",
        "rows_accepted" => "Baris diterima",
        "rows_quarantined" => "Baris dikarantina",
        "orphan_events" => "Event tanpa aduan",
        _ => return None,
    })
}

const CSS: &str = r#"
:root{--ink:#222b36;--muted:#5f6b78;--line:#e3e7ec;--navy:#1f3b57;--teal:#1b7f79;--bg:#f3f5f8;--good:#1e7a3c;--bad:#b83227;--warn:#e07b28}
*{box-sizing:border-box}
html{-webkit-print-color-adjust:exact;print-color-adjust:exact}
body{margin:0;font-family:"Segoe UI",Roboto,"Noto Sans","Helvetica Neue",Arial,"Liberation Sans","DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg);font-size:15px;line-height:1.5}
.wrap{max-width:1200px;margin:0 auto;padding:0 28px}
.masthead{background:var(--navy);color:#fff;padding:26px 0 16px}
.kicker{text-transform:uppercase;letter-spacing:.09em;font-size:12px;color:#b9cde0}
h1{font-size:30px;line-height:1.2;margin:6px 0 8px;font-weight:700}
.period{font-size:19px;margin:0 0 14px}
.period .asof{color:#b9cde0}
nav.toc{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:13px;border-top:1px solid #3a5775;padding-top:10px}
nav.toc a{color:#d6e6f5;text-decoration:none}
nav.toc a:hover{text-decoration:underline}
main{padding:4px 0 30px}
section{background:#fff;border:1px solid var(--line);border-radius:10px;padding:22px 26px;margin:18px 0}
h2{font-size:21px;line-height:1.3;margin:0;color:var(--navy)}
h3{font-size:16px;margin:18px 0 4px;color:var(--navy)}
.en{color:var(--muted);font-size:13px;margin:2px 0 10px;font-style:italic}
.lead{margin:6px 0 14px;max-width:900px}
.links{font-size:13px;color:var(--muted);margin:0 0 12px}
.links a{color:var(--teal)}
a{color:var(--teal)}
.alert{background:#fff4e5;border:1px solid #f3c48f;border-left:6px solid var(--warn);border-radius:8px;padding:12px 18px;margin:18px 0}
.alert h2{color:#8a4b0f;font-size:17px}
.alert ul{margin:6px 0 0;padding-left:20px}
.cards{display:grid;grid-template-columns:repeat(5,1fr);gap:14px;margin-top:14px}
.card{border:1px solid var(--line);border-top:4px solid var(--teal);border-radius:8px;padding:12px 14px;background:#fff}
.card.alarm{border-top-color:var(--bad)}
.card .l{font-size:13px;color:var(--muted);min-height:38px;line-height:1.35}
.card .v{font-size:32px;font-weight:700;line-height:1.2;margin:4px 0;font-variant-numeric:tabular-nums}
.card .v small{font-size:16px;font-weight:600;color:var(--muted)}
.card .sub{font-size:12px;color:var(--muted)}
.delta{font-size:13px;font-weight:600}
.delta.good{color:var(--good)}.delta.bad{color:var(--bad)}.delta.flat{color:var(--muted)}
.chart-box{margin:8px 0 14px}
svg.chart{width:100%;height:auto;display:block}
.note{font-size:13px;color:var(--muted)}
.highlights{display:grid;grid-template-columns:repeat(3,1fr);gap:10px 24px;margin:6px 0 0;padding:0;list-style:none;font-size:14px}
.highlights li{border-bottom:1px solid var(--line);padding:4px 0;display:flex;justify-content:space-between;gap:8px}
.highlights b{font-variant-numeric:tabular-nums}
.scroll{overflow-x:auto;border:1px solid var(--line);border-radius:6px}
table.data{border-collapse:collapse;font-size:12.5px;width:100%}
table.data.many{font-size:12px}
table.data.many th{font-size:11.5px;padding:5px 5px}
table.data.many td{padding:4px 5px}
table.data th{background:#eef2f6;text-align:left;vertical-align:bottom;padding:6px 8px;border-bottom:2px solid #c9d2dc;font-weight:600;line-height:1.25;hyphens:manual}
table.data th code{display:block;font-weight:400;color:var(--muted);font-size:9.5px;margin-top:3px}
table.data td{padding:4px 8px;border-bottom:1px solid var(--line);white-space:nowrap}
table.data td.wrap{white-space:normal;min-width:160px}
table.data .num{text-align:right;font-variant-numeric:tabular-nums}
table.data tbody tr:nth-child(even) td{background:#fafbfc}
table.data tr.national td{font-weight:700;background:#fbf3dc;border-bottom:2px solid #e4d3a5}
table.data td.null{color:#9aa5b1;text-align:center}
table.data td.flag{background:#fde8e4 !important;color:#8f1d12;white-space:normal}
table.data td.flag span{white-space:nowrap}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:6px 0;font-size:14px}
dl.kv dt{color:var(--muted)}dl.kv dd{margin:0}
code,pre{font-family:"DejaVu Sans Mono",Consolas,"Liberation Mono",monospace;font-size:12.5px}
pre{background:#f6f8fa;border:1px solid var(--line);border-radius:6px;padding:10px 12px;overflow-x:auto;max-height:420px}
details summary{cursor:pointer;color:var(--teal);font-size:14px}
article.method{border-top:1px solid var(--line);padding-top:4px;margin-top:12px}
.hash{word-break:break-all;font-size:11.5px;color:var(--muted)}
ol.footnotes{font-size:14px;padding-left:22px}
ol.footnotes li{margin:4px 0}
footer{color:var(--muted);font-size:12px;padding:8px 0 30px}
@media screen and (max-width:960px){.cards{grid-template-columns:repeat(2,1fr)}.highlights{grid-template-columns:1fr}}
@page{size:A4;margin:12mm 11mm}
@page landscape{size:A4 landscape;margin:10mm}
@media print{
 body{background:#fff;font-size:9.5pt}
 .wrap{max-width:none;padding:0}
 .masthead{background:#fff;color:var(--ink);border-bottom:3px solid var(--navy);padding:0 0 6px}
 .kicker,.period .asof{color:var(--muted)}
 nav.toc{display:none}
 section{border:none;border-radius:0;padding:0;margin:0 0 7mm}
 section.wide{page:landscape}
 .chart-box,.card,.cards,article.method,tr,section.keep{break-inside:avoid}
 svg.chart{max-height:150mm;width:auto;max-width:100%;margin:0 auto}
 .cards{gap:6px}
 .card{padding:6px 8px}
 .card .l{min-height:0;font-size:8pt}
 .card .sub,.delta{font-size:7.5pt}
 h2,h3{break-after:avoid}
 .scroll{overflow:visible;border:none}
 table.data{font-size:6.8pt}
 table.data th,table.data td{padding:1.5px 3px}
 table.data th{min-width:0}
 table.data th code{font-size:5.5pt}
 pre{max-height:none;white-space:pre-wrap;font-size:7pt}
 .links{display:none}
 .card .v{font-size:17pt}
}
"#;

/// A page being written.
struct Page {
    out: String,
}

impl Page {
    fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }
}

fn find<'a>(input: &'a BundleInput, grids: &'a [Grid], name: &str) -> Option<(&'a ReportTable, &'a Grid)> {
    input.tables.iter().zip(grids).find(|(t, _)| t.name == name)
}

fn int_of(grid: &Grid, row: &[Value], col: &str) -> i128 {
    grid.get(row, col).as_int().unwrap_or(0)
}

/// The id of a table's section and of its methodology entry.
fn section_id(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("tabel-{clean}")
}

fn method_id(name: &str) -> String {
    format!("metode-{}", section_id(name).trim_start_matches("tabel-"))
}

pub fn render(input: &BundleInput, grids: &[Grid]) -> Result<String, PublishError> {
    let mut p = Page {
        out: String::with_capacity(256 * 1024),
    };
    let month = month_long(input.month);
    p.push("<!DOCTYPE html>\n<html lang=\"id\">\n<head>\n<meta charset=\"utf-8\">\n");
    p.push("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    p.push(&format!(
        "<title>Tindak Lanjut Pengaduan Ketenagakerjaan — {} (data s.d. {})</title>\n",
        e(&month),
        input.as_of.format("%Y-%m-%d")
    ));
    p.push(&format!("<style>{CSS}</style>\n</head>\n<body>\n"));

    // Masthead.
    p.push("<header class=\"masthead\"><div class=\"wrap\">\n");
    p.push("<div class=\"kicker\">Laporan bulanan pengawasan ketenagakerjaan</div>\n");
    p.push("<h1>Tindak Lanjut Pengaduan Ketenagakerjaan</h1>\n");
    p.push(&format!(
        "<p class=\"period\">Periode <b>{}</b> <span class=\"asof\">· data s.d. {}</span></p>\n",
        e(&month),
        input.as_of.format("%Y-%m-%d")
    ));
    p.push("<nav class=\"toc\">");
    p.push("<a href=\"#ringkasan\">Ringkasan</a><a href=\"#peta\">Peta provinsi</a><a href=\"#tren\">Tren 12 bulan</a>");
    for t in &input.tables {
        p.push(&format!("<a href=\"#{}\">{}</a>", e(&section_id(&t.name)), e(&t.title_id)));
    }
    p.push("<a href=\"#metodologi\">Metodologi</a>");
    if !input.dictionary.tables.is_empty() {
        p.push("<a href=\"#kamus\">Kamus data</a>");
    }
    p.push("<a href=\"#catatan\">Catatan</a></nav>\n");
    p.push("</div></header>\n<main class=\"wrap\">\n");

    if !input.warnings.is_empty() {
        p.push("<div class=\"alert\" role=\"alert\"><h2>Peringatan untuk bulan ini</h2><ul>\n");
        for w in &input.warnings {
            p.push(&format!("<li>{}</li>\n", e(w)));
        }
        p.push("</ul></div>\n");
    }

    headline(&mut p, input);
    map_section(&mut p, input, grids)?;
    trend_section(&mut p, input)?;
    for (table, grid) in input.tables.iter().zip(grids) {
        table_section(&mut p, table, grid)?;
    }
    methodology(&mut p, input);
    dictionary(&mut p, input);
    footnotes(&mut p, input);
    p.push("</main>\n<footer class=\"wrap\">\n");
    p.push(&format!(
        "Dibuat oleh wasnaker {} dari ekstrak s.d. {}. Isi bundel diperiksa dengan <code>sha256sum -c SHA256SUMS</code> \
         dan tanda tangan dengan <code>ssh-keygen -Y verify -n file</code> (lihat Metodologi).\n",
        e(&input.program_version),
        input.as_of.format("%Y-%m-%d")
    ));
    p.push("</footer>\n</body>\n</html>\n");
    Ok(p.out)
}

/// This month's and the previous month's trend points.
fn this_and_previous(input: &BundleInput) -> (Option<&TrendPoint>, Option<&TrendPoint>) {
    let now = input.trend.iter().find(|t| t.month == input.month);
    let prev = input.trend.iter().find(|t| t.month == input.month.prev());
    (now, prev)
}

#[derive(Clone, Copy)]
enum Better {
    Up,
    Down,
    Neither,
}

fn delta_html(change: Option<(String, i128)>, better: Better, prev_label: &str) -> String {
    let Some((text, sign)) = change else {
        return "<div class=\"delta flat\">tidak ada data bulan sebelumnya</div>".to_string();
    };
    let class = match (better, sign.signum()) {
        (_, 0) | (Better::Neither, _) => "flat",
        (Better::Up, 1) | (Better::Down, -1) => "good",
        _ => "bad",
    };
    let arrow = match sign.signum() {
        1 => "▲",
        -1 => "▼",
        _ => "■",
    };
    format!(
        "<div class=\"delta {class}\">{arrow} {} dibanding {}</div>",
        e(&text),
        e(prev_label)
    )
}

fn headline(p: &mut Page, input: &BundleInput) {
    let (now, prev) = this_and_previous(input);
    p.push("<section id=\"ringkasan\" class=\"keep\">\n<h2>Ringkasan bulan ini</h2>\n");
    p.push(&format!(
        "<p class=\"en\">Headline figures, {} (national)</p>\n",
        e(&input.month.to_string())
    ));
    let Some(now) = now else {
        p.push("<p class=\"note\">Data tren untuk bulan ini tidak tersedia.</p>\n</section>\n");
        return;
    };
    let prev_label = month_short(input.month.prev());
    let int_change = |f: fn(&TrendPoint) -> i64| prev.map(|pv| f(now) as i128 - f(pv) as i128).map(|d| (fmt_change_int(d), d));
    let dec_change = |f: fn(&TrendPoint) -> &Option<String>, unit: &str| {
        let (a, b) = (f(now).as_deref()?, f(prev?).as_deref()?);
        let (d, s) = decimal_change(a, b)?;
        Some((format!("{}{unit}", fmt_change_decimal(d, s)), d))
    };
    let sla_days = input
        .params
        .get("sla_days")
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .unwrap_or_else(|| "30".to_string());
    p.push("<div class=\"cards\">\n");
    let card = |p: &mut Page, class: &str, label: &str, value: String, sub: String, delta: String| {
        p.push(&format!(
            "<div class=\"card {class}\"><div class=\"l\">{}</div><div class=\"v\">{value}</div>{delta}<div class=\"sub\">{sub}</div></div>\n",
            e(label)
        ));
    };
    card(
        p,
        "",
        "Aduan diterima",
        fmt_int(now.received.into()),
        "aduan masuk bulan ini".into(),
        delta_html(int_change(|t| t.received), Better::Neither, &prev_label),
    );
    card(
        p,
        "",
        "Ditindaklanjuti pertama kali",
        fmt_int(now.followed_up_in_month.into()),
        "aduan yang tindak lanjut pertamanya bulan ini".into(),
        delta_html(int_change(|t| t.followed_up_in_month), Better::Up, &prev_label),
    );
    card(
        p,
        "alarm",
        "Terbuka & belum pernah ditindaklanjuti",
        fmt_int(now.open_not_followed_up.into()),
        format!("dari {} aduan terbuka di akhir bulan", fmt_int(now.open_at_end.into())),
        delta_html(int_change(|t| t.open_not_followed_up), Better::Down, &prev_label),
    );
    card(
        p,
        "",
        "Median hari s.d. tindak lanjut",
        now.median_days_to_follow_up
            .as_deref()
            .map_or("–".into(), |m| format!("{} <small>hari</small>", e(&fmt_decimal_str(m)))),
        "dari diterima sampai tindak lanjut pertama".into(),
        delta_html(dec_change(|t| &t.median_days_to_follow_up, " hari"), Better::Down, &prev_label),
    );
    card(
        p,
        "",
        &format!("Memenuhi SLA {} hari", sla_days),
        now.sla_met_pct
            .as_deref()
            .map_or("–".into(), |m| format!("{}<small>%</small>", e(&fmt_decimal_str(m)))),
        "kohort aduan yang diterima dua bulan lalu".into(),
        delta_html(dec_change(|t| &t.sla_met_pct, " poin"), Better::Up, &prev_label),
    );
    p.push("</div>\n</section>\n");
}

fn map_section(p: &mut Page, input: &BundleInput, grids: &[Grid]) -> Result<(), PublishError> {
    p.push("<section id=\"peta\" class=\"keep\">\n<h2>Peta provinsi: aduan terbuka yang belum pernah ditindaklanjuti</h2>\n");
    p.push("<p class=\"en\">Tile-grid map: share of complaints open at month end that were never followed up</p>\n");
    let Some((_, grid)) = find(input, grids, FOLLOWUP_BY_PROVINCE) else {
        p.push("<p class=\"note\">Tabel followup_by_province tidak ada dalam bundel ini.</p>\n</section>\n");
        return Ok(());
    };
    p.push(
        "<p class=\"lead\">Setiap petak adalah satu provinsi, kira-kira pada letak geografisnya. Warna dan angka menunjukkan \
         porsi aduan yang masih terbuka di akhir bulan dan <b>belum pernah</b> ditindaklanjuti pengawas \
         (<code>open_not_followed_up</code> ÷ <code>open_at_end</code>).</p>\n",
    );
    let tiles: Vec<Tile> = provinces()
        .iter()
        .map(|pr| Tile {
            row: pr.tile_row,
            col: pr.tile_col,
            label: province_short_label(&pr.code).map_or_else(|| pr.code.clone(), str::to_string),
            counts: grid
                .row_by("province_code", &pr.code)
                .map(|r| (int_of(grid, r, "open_not_followed_up"), int_of(grid, r, "open_at_end"))),
        })
        .collect();
    p.push("<div class=\"chart-box\">");
    p.push(&charts::tile_map(&tiles)?);
    p.push("</div>\n");

    // The provinces with the most open complaints never followed up (sorted, not computed).
    let mut ranked: Vec<(String, i128, i128)> = grid
        .rows
        .iter()
        .filter(|r| grid.get(r, "province_code").as_text() != Some(NATIONAL))
        .map(|r| {
            let name = grid.get(r, "province_name").display();
            (name, int_of(grid, r, "open_not_followed_up"), int_of(grid, r, "open_at_end"))
        })
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    if ranked.iter().any(|r| r.1 > 0) {
        p.push("<h3>Aduan terbuka belum ditindaklanjuti terbanyak</h3>\n<ul class=\"highlights\">\n");
        for (name, n, open) in ranked.iter().filter(|r| r.1 > 0).take(9) {
            p.push(&format!(
                "<li><span>{}</span><span><b>{}</b> <span class=\"note\">dari {} terbuka</span></span></li>\n",
                e(name),
                fmt_int(*n),
                fmt_int(*open)
            ));
        }
        p.push("</ul>\n");
    }
    p.push("</section>\n");
    Ok(())
}

fn trend_section(p: &mut Page, input: &BundleInput) -> Result<(), PublishError> {
    p.push("<section id=\"tren\" class=\"keep\">\n<h2>Tren 12 bulan</h2>\n");
    p.push(
        "<p class=\"en\">12-month trend: received, followed up (first follow-up in month), open and never followed up at month end</p>\n",
    );
    if input.trend.is_empty() {
        p.push("<p class=\"note\">Data tren tidak tersedia.</p>\n</section>\n");
        return Ok(());
    }
    let rows: Vec<TrendRow> = input
        .trend
        .iter()
        .map(|t| TrendRow {
            month: t.month,
            values: vec![t.received.into(), t.followed_up_in_month.into(), t.open_not_followed_up.into()],
        })
        .collect();
    let series = [
        ("Aduan diterima", charts::NAVY),
        ("Ditindaklanjuti pertama kali", charts::TEAL),
        ("Terbuka, belum pernah ditindaklanjuti", charts::RED),
    ];
    p.push("<div class=\"chart-box\">");
    p.push(&charts::trend_lines(&rows, &series)?);
    p.push("</div>\n");
    p.push("<div class=\"scroll\"><table class=\"data\"><thead><tr><th>Bulan</th>");
    for h in [
        "Diterima",
        "Ditindaklanjuti pertama kali",
        "Terbuka akhir bulan",
        "Terbuka, belum pernah ditindaklanjuti",
        "Median hari s.d. tindak lanjut",
        "% memenuhi SLA",
    ] {
        p.push(&format!("<th class=\"num\">{}</th>", e(h)));
    }
    p.push("</tr></thead><tbody>\n");
    for t in &input.trend {
        let class = if t.month == input.month { " class=\"national\"" } else { "" };
        let opt = |v: &Option<String>| v.as_deref().map_or("–".to_string(), |s| e(&fmt_decimal_str(s)));
        p.push(&format!(
            "<tr{class}><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
            e(&month_long(t.month)),
            fmt_int(t.received.into()),
            fmt_int(t.followed_up_in_month.into()),
            fmt_int(t.open_at_end.into()),
            fmt_int(t.open_not_followed_up.into()),
            opt(&t.median_days_to_follow_up),
            opt(&t.sla_met_pct),
        ));
    }
    p.push("</tbody></table></div>\n</section>\n");
    Ok(())
}

/// Rows other than the national one, in table order.
fn province_rows(grid: &Grid) -> impl Iterator<Item = &Vec<Value>> {
    grid.rows
        .iter()
        .filter(move |r| grid.get(r, "province_code").as_text() != Some(NATIONAL))
}

fn table_section(p: &mut Page, table: &ReportTable, grid: &Grid) -> Result<(), PublishError> {
    let wide = grid.columns.len() > 9;
    p.push(&format!(
        "<section id=\"{}\"{}>\n<h2>{}</h2>\n<p class=\"en\">{}</p>\n",
        e(&section_id(&table.name)),
        if wide { " class=\"wide\"" } else { "" },
        e(&table.title_id),
        e(&table.title_en)
    ));
    p.push(&format!(
        "<p class=\"links\">Data: <a href=\"data/{n}.csv\">{n}.csv</a> · <a href=\"data/{n}.parquet\">{n}.parquet</a> · \
         <a href=\"report.xlsx\">report.xlsx</a> (lembar <code>{n}</code>) · <a href=\"#{m}\">definisi &amp; SQL</a></p>\n",
        n = e(&table.name),
        m = e(&method_id(&table.name))
    ));
    match table.name.as_str() {
        FOLLOWUP_BY_PROVINCE => {
            let rows: Vec<BarRow> = province_rows(grid)
                .map(|r| BarRow {
                    label: grid.get(r, "province_name").display(),
                    segments: [
                        "not_followed_up_0_30",
                        "not_followed_up_31_90",
                        "not_followed_up_91_180",
                        "not_followed_up_over_180",
                    ]
                    .iter()
                    .map(|c| int_of(grid, r, c))
                    .collect(),
                })
                .collect();
            if !rows.is_empty() {
                p.push("<h3>Aduan terbuka yang belum pernah ditindaklanjuti, menurut umur aduan</h3>\n<div class=\"chart-box\">");
                let series = [
                    ("0–30 hari", charts::AGE_COLOURS[0]),
                    ("31–90 hari", charts::AGE_COLOURS[1]),
                    ("91–180 hari", charts::AGE_COLOURS[2]),
                    ("> 180 hari", charts::AGE_COLOURS[3]),
                ];
                p.push(&charts::stacked_bars(
                    "open not followed up by province",
                    "Aduan terbuka belum ditindaklanjuti per provinsi menurut umur",
                    &rows,
                    &series,
                    "jumlah aduan",
                )?);
                p.push("</div>\n");
            }
        }
        FOLLOWUP_BY_VIOLATION => {
            let rows: Vec<BulletRow> = grid
                .rows
                .iter()
                .map(|r| BulletRow {
                    label: grid.get(r, "violation_name").display(),
                    target: int_of(grid, r, "open_at_end"),
                    actual: int_of(grid, r, "open_not_followed_up"),
                    marker: None,
                })
                .collect();
            if !rows.is_empty() {
                p.push("<h3>Aduan terbuka akhir bulan dan yang belum pernah ditindaklanjuti, per jenis pelanggaran</h3>\n<div class=\"chart-box\">");
                p.push(&charts::bullet_bars(
                    "open by violation",
                    "Aduan terbuka per jenis pelanggaran",
                    &rows,
                    &[
                        ("Terbuka akhir bulan", charts::LIGHT_TEAL),
                        ("…belum pernah ditindaklanjuti", charts::RED),
                    ],
                    "jumlah aduan",
                )?);
                p.push("</div>\n");
            }
        }
        SUPERVISION_MAP => {
            let rows: Vec<BulletRow> = province_rows(grid)
                .map(|r| BulletRow {
                    label: grid.get(r, "province_name").display(),
                    target: int_of(grid, r, "inspectors_needed"),
                    actual: int_of(grid, r, "inspectors_active"),
                    marker: Some(int_of(grid, r, "inspectors_needed_workload")),
                })
                .collect();
            if !rows.is_empty() {
                p.push("<h3>Pengawas aktif dibanding kebutuhan, per provinsi</h3>\n<div class=\"chart-box\">");
                p.push(&charts::bullet_bars(
                    "inspectors needed vs active",
                    "Pengawas aktif dibanding kebutuhan per provinsi",
                    &rows,
                    &[
                        ("Kebutuhan (rasio pekerja)", charts::LIGHT_TEAL),
                        ("Pengawas aktif", charts::NAVY),
                        ("Kebutuhan (beban kerja)", charts::ORANGE),
                    ],
                    "jumlah pengawas",
                )?);
                p.push("</div>\n");
                p.push(
                    "<p class=\"note\">Kebutuhan menurut rasio pekerja hanya menghitung pekerja yang terdaftar BPJS \
                     Ketenagakerjaan, sehingga merupakan batas bawah.</p>\n",
                );
            }
        }
        INSURANCE_CROSSCHECK => {
            let rows: Vec<BulletRow> = province_rows(grid)
                .map(|r| BulletRow {
                    label: grid.get(r, "province_name").display(),
                    target: int_of(grid, r, "bpjs_complaints"),
                    actual: int_of(grid, r, "bpjs_complaints_employer_active"),
                    marker: None,
                })
                .collect();
            if rows.iter().any(|r| r.target > 0) {
                p.push("<h3>Aduan “tidak didaftarkan BPJS” dan yang perusahaannya ternyata pemberi kerja aktif BPJS</h3>\n<div class=\"chart-box\">");
                p.push(&charts::bullet_bars(
                    "bpjs complaints",
                    "Aduan BPJS per provinsi",
                    &rows,
                    &[("Aduan BPJS", charts::LIGHT_TEAL), ("…perusahaan aktif di BPJS", charts::NAVY)],
                    "jumlah aduan",
                )?);
                p.push("</div>\n");
            }
            p.push(
                "<p class=\"note\">Data kepesertaan untuk provinsi-provinsi Papua dapat masih mengikuti batas wilayah \
                 sebelum pemekaran 2022 (lihat catatan 2).</p>\n",
            );
        }
        DATA_QUALITY => data_quality_summary(p, grid),
        _ => {}
    }
    html_table(p, grid);
    p.push("</section>\n");
    Ok(())
}

fn data_quality_summary(p: &mut Page, grid: &Grid) {
    // Problems grouped by source and what happened, naming the tables.
    let mut groups: Vec<(String, String, Vec<String>)> = Vec::new();
    let mut add = |source: String, what: String, table: String| match groups.iter_mut().find(|g| g.0 == source && g.1 == what) {
        Some(g) => g.2.push(table),
        None => groups.push((source, what, vec![table])),
    };
    for r in &grid.rows {
        let (source, table) = (grid.get(r, "source").display(), grid.get(r, "table").display());
        let dates = |col: &str| grid.get(r, col).display().split_whitespace().collect::<Vec<_>>().join(", ");
        let missing = dates("missing_dates");
        if !missing.is_empty() {
            add(
                source.clone(),
                format!("ekstrak tidak dikirim untuk malam {missing}"),
                table.clone(),
            );
        }
        let rejected = dates("rejected_dates");
        if !rejected.is_empty() {
            add(source.clone(), format!("kiriman ditolak untuk malam {rejected}"), table.clone());
        }
        let q = int_of(grid, r, "rows_quarantined");
        if q > 0 {
            let read = fmt_int(int_of(grid, r, "rows_read"));
            add(
                source.clone(),
                format!("{} baris dikarantina (dari {read} baris dibaca)", fmt_int(q)),
                table.clone(),
            );
        }
        let orphans = int_of(grid, r, "orphan_events");
        if orphans > 0 {
            add(
                source.clone(),
                format!("{} event tanpa baris aduan", fmt_int(orphans)),
                table.clone(),
            );
        }
    }
    if groups.is_empty() {
        p.push("<p class=\"lead\">Semua ekstrak yang diharapkan bulan ini diterima, tidak ada yang ditolak, dan tidak ada baris yang dikarantina.</p>\n");
        return;
    }
    p.push("<div class=\"alert\"><h2>Catatan kualitas data</h2><ul>\n");
    for (source, what, tables) in groups {
        p.push(&format!(
            "<li><b>{}</b> ({}): {}</li>\n",
            e(&source),
            e(&tables.join(", ")),
            e(&what)
        ));
    }
    p.push("</ul></div>\n");
}

/// A column name, escaped, that may wrap after its underscores.
fn breakable(name: &str) -> String {
    e(name).replace('_', "_<wbr>")
}

/// A table with Indonesian headers over the published column names; the
/// constant `period` column is left out (it is in the CSV and XLSX).
fn html_table(p: &mut Page, grid: &Grid) {
    let shown: Vec<usize> = (0..grid.columns.len()).filter(|&i| grid.columns[i] != "period").collect();
    let numeric: Vec<bool> = shown
        .iter()
        .map(|&i| grid.rows.iter().any(|r| r.get(i).is_some_and(Value::is_number)))
        .collect();
    let flag_cols = ["missing_dates", "rejected_dates"];
    let many = if shown.len() > 9 { " many" } else { "" };
    p.push(&format!("<div class=\"scroll\"><table class=\"data{many}\">\n<thead><tr>"));
    for (k, &i) in shown.iter().enumerate() {
        let name = &grid.columns[i];
        let class = if numeric[k] { " class=\"num\"" } else { "" };
        match column_label(name) {
            Some(label) => p.push(&format!("<th{class}>{}<code>{}</code></th>", e(label), breakable(name))),
            None => p.push(&format!("<th{class}><code>{}</code></th>", breakable(name))),
        }
    }
    p.push("</tr></thead>\n<tbody>\n");
    let code_col = grid.col("province_code");
    for r in &grid.rows {
        let national = code_col.and_then(|c| r.get(c)).and_then(Value::as_text) == Some(NATIONAL);
        p.push(if national { "<tr class=\"national\">" } else { "<tr>" });
        for &i in &shown {
            let v = r.get(i).cloned().unwrap_or(Value::Null);
            let name = grid.columns[i].as_str();
            let text = v.display();
            if matches!(v, Value::Null) {
                p.push("<td class=\"null\">–</td>");
            } else if flag_cols.contains(&name) && !text.trim().is_empty() {
                let dates: Vec<String> = text.split_whitespace().map(|d| format!("<span>{}</span>", e(d))).collect();
                p.push(&format!("<td class=\"flag\">{}</td>", dates.join(" ")));
            } else if v.is_number() {
                p.push(&format!("<td class=\"num\">{}</td>", e(&text)));
            } else if text.chars().count() > 40 {
                p.push(&format!("<td class=\"wrap\">{}</td>", e(&text)));
            } else {
                p.push(&format!("<td>{}</td>", e(&text)));
            }
        }
        p.push("</tr>\n");
    }
    p.push("</tbody></table></div>\n");
}

fn methodology(p: &mut Page, input: &BundleInput) {
    p.push("<section id=\"metodologi\">\n<h2>Metodologi</h2>\n<p class=\"en\">Methodology, inputs and how to check this bundle</p>\n");
    p.push(&format!(
        "<p class=\"lead\">Semua angka dihitung oleh kueri SQL di bawah ini atas ekstrak sistem pengawasan dan BPJS \
         Ketenagakerjaan s.d. <b>{}</b>. Menjalankan ulang bulan yang sama dengan <code>as_of</code> yang sama atas \
         ekstrak yang sama menghasilkan bundel yang identik byte demi byte; dengan <code>as_of</code> yang lebih baru \
         angka dapat berubah (event terlambat, koreksi).</p>\n",
        input.as_of.format("%Y-%m-%d")
    ));
    p.push("<h3>Parameter</h3>\n<dl class=\"kv\">\n");
    for (k, v) in &input.params {
        p.push(&format!(
            "<dt><code>{}</code></dt><dd><code>{}</code></dd>\n",
            e(k),
            e(&v.to_string())
        ));
    }
    p.push(&format!(
        "<dt>Versi program</dt><dd><code>{}</code></dd>\n</dl>\n",
        e(&input.program_version)
    ));

    if !input.snapshots.is_empty() {
        p.push("<h3>Snapshot yang dipakai</h3>\n<dl class=\"kv\">\n");
        for (table, night) in &input.snapshots {
            p.push(&format!(
                "<dt><code>{}</code></dt><dd>ekstrak malam {}</dd>\n",
                e(table),
                night.format("%Y-%m-%d")
            ));
        }
        p.push("</dl>\n");
    }

    // Extract files per source table: how many nights, first and last.
    let mut by_table: std::collections::BTreeMap<(String, &str), (usize, chrono::NaiveDate, chrono::NaiveDate)> =
        std::collections::BTreeMap::new();
    for x in &input.extracts {
        let entry = by_table.entry((x.source.to_string(), x.table)).or_insert((0, x.night, x.night));
        entry.0 += 1;
        entry.1 = entry.1.min(x.night);
        entry.2 = entry.2.max(x.night);
    }
    p.push(&format!(
        "<h3>Ekstrak yang dipakai</h3>\n<p>{} berkas ekstrak; daftar lengkap dengan SHA-256 dan jumlah baris ada di \
         <a href=\"manifest.json\">manifest.json</a>.</p>\n",
        fmt_int(input.extracts.len() as i128)
    ));
    if !by_table.is_empty() {
        p.push("<div class=\"scroll\"><table class=\"data\"><thead><tr><th>Sistem</th><th>Tabel</th><th class=\"num\">Berkas</th><th>Malam pertama</th><th>Malam terakhir</th></tr></thead><tbody>\n");
        for ((source, table), (n, first, last)) in &by_table {
            p.push(&format!(
                "<tr><td>{}</td><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>\n",
                e(source),
                e(table),
                fmt_int(*n as i128),
                first.format("%Y-%m-%d"),
                last.format("%Y-%m-%d")
            ));
        }
        p.push("</tbody></table></div>\n");
    }

    p.push("<h3>Tabel dan kueri</h3>\n");
    for t in &input.tables {
        p.push(&format!(
            "<article class=\"method\" id=\"{}\"><h3>{} <span class=\"note\">(<code>{}</code>)</span></h3>\n",
            e(&method_id(&t.name)),
            e(&t.title_id),
            e(&t.name)
        ));
        for para in t.description.split("\n\n").filter(|s| !s.trim().is_empty()) {
            p.push(&format!("<p>{}</p>\n", e(para.trim())));
        }
        if let Some(entry) = input.dictionary.table(&t.name) {
            lineage_note(p, entry);
        }
        p.push(&format!(
            "<p class=\"note\">Kueri <code>{}</code> · SHA-256 <code class=\"hash\">{}</code> · \
             kembali ke <a href=\"#{}\">tabel</a></p>\n<details><summary>Tampilkan SQL</summary><pre>{}</pre></details>\n</article>\n",
            e(&t.query_file),
            e(&t.sql_sha256),
            e(&section_id(&t.name)),
            e(&t.sql)
        ));
    }

    p.push(
        "<h3>Memeriksa bundel ini</h3>\n<p>Di dalam folder bundel, tanpa perangkat lunak khusus:</p>\n\
         <pre>sha256sum -c SHA256SUMS\n\
         ssh-keygen -Y verify -f allowed_signers -I &lt;identitas&gt; -n file -s SHA256SUMS.sig &lt; SHA256SUMS</pre>\n\
         <p class=\"note\"><code>allowed_signers</code> berisi kunci publik penerbit (diperoleh dari saluran resmi, \
         bukan dari bundel ini). Atau: <code>wasnaker verify &lt;folder&gt;</code>.</p>\n",
    );
    p.push("</section>\n");
}

/// What a published table is computed from: the lake tables and columns
/// (linked to the data dictionary) and the helper queries it goes through.
fn lineage_note(p: &mut Page, entry: &DictTable) {
    if entry.sources.is_empty() {
        return;
    }
    let sources: Vec<String> = entry
        .sources
        .iter()
        .map(|(table, columns)| {
            let cols: Vec<&str> = columns.iter().map(String::as_str).collect();
            format!(
                "<a href=\"#{}\"><code>{}</code></a> ({})",
                e(&dict_id(table)),
                e(table),
                e(&cols.join(", "))
            )
        })
        .collect();
    p.push(&format!("<p class=\"note\">Dihitung dari: {}", sources.join("; ")));
    if !entry.through.is_empty() {
        let through: Vec<String> = entry.through.iter().map(|q| format!("<code>{}</code>", e(q))).collect();
        p.push(&format!(" · melalui kueri {}", through.join(", ")));
    }
    p.push("</p>\n");
}

/// The id of a table's entry in the data dictionary.
fn dict_id(name: &str) -> String {
    format!("kamus-{}", section_id(name).trim_start_matches("tabel-"))
}

/// The data dictionary: every lake table and published table, each column
/// with its type, meaning and source (the same rows as `dictionary.csv`).
fn dictionary(p: &mut Page, input: &BundleInput) {
    if input.dictionary.tables.is_empty() {
        return;
    }
    p.push(&format!(
        "<section id=\"kamus\">\n<h2>Kamus data</h2>\n<p class=\"en\">Data dictionary: the tables the queries read \
         and the published tables; the same rows are in <code>{}</code>. Meanings are in English, as in the specification.</p>\n",
        super::DICTIONARY
    ));
    for table in &input.dictionary.tables {
        let kind = match table.kind {
            TableKind::Lake => "tabel danau data (dibaca kueri)",
            TableKind::Published => "tabel terbitan",
        };
        p.push(&format!(
            "<article class=\"method\" id=\"{}\"><h3><code>{}</code> <span class=\"note\">{kind}</span></h3>\n<p>{} {}</p>\n<p class=\"note\">Asal: <code>{}</code></p>\n",
            e(&dict_id(&table.name)),
            e(&table.name),
            e(&table.title),
            e(&table.description),
            e(&table.origin)
        ));
        p.push("<div class=\"scroll\"><table class=\"data\"><thead><tr><th>Kolom</th><th>Tipe</th><th>Arti</th><th>Sumber</th></tr></thead><tbody>\n");
        for c in &table.columns {
            p.push(&format!(
                "<tr><td><code>{}</code></td><td>{}{}</td><td class=\"wrap\">{}</td><td class=\"wrap\">{}</td></tr>\n",
                e(&c.name),
                e(&c.data_type),
                if c.nullable { "?" } else { "" },
                e(&c.meaning),
                e(&c.source)
            ));
        }
        p.push("</tbody></table></div>\n</article>\n");
    }
    p.push("</section>\n");
}

fn footnotes(p: &mut Page, input: &BundleInput) {
    p.push("<section id=\"catatan\">\n<h2>Catatan</h2>\n<ol class=\"footnotes\">\n");
    p.push(
        "<li>Batas bulan adalah pukul 00.00 WIB (Asia/Jakarta, UTC+7) untuk <b>semua</b> provinsi. Pembaca di wilayah \
         WITA dan WIT: aduan yang masuk pukul 00.30 WITA (01.30 WIT) tanggal 1 masih termasuk bulan sebelumnya.</li>\n",
    );
    p.push(
        "<li>Angka BPJS Ketenagakerjaan (pemberi kerja, pekerja terdaftar, tunggakan) untuk provinsi-provinsi Papua \
         (Papua, Papua Barat, Papua Selatan, Papua Tengah, Papua Pegunungan, Papua Barat Daya) dapat masih mengikuti \
         batas wilayah sebelum pemekaran 2022.</li>\n",
    );
    p.push(
        "<li>Kebutuhan pengawas dihitung per provinsi (pengawasan adalah urusan provinsi) dan angka nasional adalah \
         jumlahnya; rasio pekerja hanya mencakup pekerja terdaftar BPJS, sehingga merupakan batas bawah.</li>\n",
    );
    p.push(&format!(
        "<li>Angka suatu bulan diidentifikasi oleh tanggal data (<code>as_of</code> = {}). Laporan yang dijalankan ulang \
         dengan data yang lebih baru dapat berbeda.</li>\n",
        input.as_of.format("%Y-%m-%d")
    ));
    p.push(
        "<li>Sel kosong (–) berarti angka tidak dapat dihitung, misalnya median tanpa aduan atau persentase dengan \
         penyebut nol.</li>\n",
    );
    p.push("</ol>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_province_has_a_short_label() {
        for pr in provinces() {
            assert!(province_short_label(&pr.code).is_some(), "{}", pr.code);
        }
        assert_eq!(provinces().len(), 38);
    }
}
