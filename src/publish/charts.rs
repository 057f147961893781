//! The report's charts as inline SVG, drawn with `plotters` (SVG backend):
//! the tile-grid map of the 38 provinces, horizontal bar charts per province
//! or violation, and the 12-month trend.
//!
//! Charts only draw the values they are given; the one derived quantity is
//! the colour class of a map tile (share of open complaints never followed
//! up), computed in integers. Text in the SVG is escaped by plotters.

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::PublishError;
use super::format::{fmt_int, month_short};
use crate::clock::Month;

const FONT: &str = "sans-serif";
const INK: RGBColor = RGBColor(0x22, 0x2b, 0x36);
const MUTED: RGBColor = RGBColor(0x5f, 0x6b, 0x78);
const GRID: RGBColor = RGBColor(0xe3, 0xe7, 0xec);
pub const NAVY: RGBColor = RGBColor(0x1f, 0x3b, 0x57);
pub const TEAL: RGBColor = RGBColor(0x1b, 0x7f, 0x79);
pub const ORANGE: RGBColor = RGBColor(0xe0, 0x7b, 0x28);
pub const RED: RGBColor = RGBColor(0xb8, 0x32, 0x27);
pub const LIGHT_TEAL: RGBColor = RGBColor(0xa8, 0xd5, 0xd1);
const NO_DATA: RGBColor = RGBColor(0xdd, 0xe1, 0xe6);

/// Map classes of the share never followed up: 0–20 %, 20–40 %, …, 80–100 %.
pub const MAP_CLASSES: [(RGBColor, &str); 5] = [
    (RGBColor(0xff, 0xf3, 0xc4), "0–<20%"),
    (RGBColor(0xfe, 0xcc, 0x5c), "20–<40%"),
    (RGBColor(0xfd, 0x8d, 0x3c), "40–<60%"),
    (RGBColor(0xe3, 0x4a, 0x33), "60–<80%"),
    (RGBColor(0xa5, 0x0f, 0x15), "80–100%"),
];

/// Colours of the age buckets of open complaints never followed up.
pub const AGE_COLOURS: [RGBColor; 4] = [
    RGBColor(0xfd, 0xd4, 0x9e),
    RGBColor(0xfc, 0x8d, 0x59),
    RGBColor(0xd7, 0x30, 0x1f),
    RGBColor(0x7f, 0x00, 0x00),
];

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

fn chart_err<E: std::error::Error + Send + Sync + 'static>(chart: &'static str) -> impl FnOnce(E) -> PublishError {
    move |e| PublishError::Chart {
        chart,
        source: Box::new(e),
    }
}

/// Draw into an SVG string and tag it for the page (class, role, label).
fn svg(
    chart: &'static str,
    label: &str,
    size: (u32, u32),
    draw: impl FnOnce(&Area<'_>) -> Result<(), PublishError>,
) -> Result<String, PublishError> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err(chart))?;
        draw(&root)?;
        root.present().map_err(chart_err(chart))?;
    }
    let label = super::format::escape_html(label);
    Ok(out.replacen("<svg ", &format!("<svg class=\"chart\" role=\"img\" aria-label=\"{label}\" "), 1))
}

fn text_style(size: f64, color: &'static RGBColor) -> TextStyle<'static> {
    TextStyle::from((FONT, size).into_font()).color(color)
}

/// One tile of the province map.
#[derive(Debug, Clone)]
pub struct Tile {
    pub row: i64,
    pub col: i64,
    pub label: String,
    /// `(open_not_followed_up, open_at_end)`; `None` when the table lacks the province.
    pub counts: Option<(i128, i128)>,
}

/// The colour class (index into [`MAP_CLASSES`]) of a share `part / whole`;
/// `None` when `whole` is zero.
pub fn map_class(part: i128, whole: i128) -> Option<usize> {
    if whole <= 0 {
        return None;
    }
    let class = (part.clamp(0, whole) * 5) / whole;
    Some((class as usize).min(4))
}

/// Whole percent, rounded half up, for a tile's label.
fn whole_percent(part: i128, whole: i128) -> i128 {
    (part.clamp(0, whole) * 200 + whole) / (2 * whole)
}

/// The tile-grid map of the provinces.
pub fn tile_map(tiles: &[Tile]) -> Result<String, PublishError> {
    const TILE: i32 = 60;
    const GAP: i32 = 4;
    const LEFT: i32 = 12;
    const TOP: i32 = 10;
    let cols = tiles.iter().map(|t| t.col).max().unwrap_or(0) as i32 + 1;
    let rows = tiles.iter().map(|t| t.row).max().unwrap_or(0) as i32 + 1;
    let width = (LEFT * 2 + cols * (TILE + GAP)) as u32;
    let legend_top = TOP + rows * (TILE + GAP) + 16;
    let height = (legend_top + 56) as u32;
    let label = "Peta petak provinsi: porsi aduan terbuka yang belum pernah ditindaklanjuti";
    svg("tile map", label, (width, height), |root| {
        for t in tiles {
            let x = LEFT + t.col as i32 * (TILE + GAP);
            let y = TOP + t.row as i32 * (TILE + GAP);
            let class = t.counts.and_then(|(p, w)| map_class(p, w));
            let fill = class.map_or(NO_DATA, |c| MAP_CLASSES[c].0);
            let ink: &'static RGBColor = if class.is_some_and(|c| c >= 3) { &WHITE } else { &INK };
            root.draw(&Rectangle::new([(x, y), (x + TILE, y + TILE)], fill.filled()))
                .map_err(chart_err("tile map"))?;
            let top = text_style(15.0, ink).pos(Pos::new(HPos::Center, VPos::Center));
            let bold = TextStyle::from((FONT, 15.0).into_font().style(FontStyle::Bold))
                .color(ink)
                .pos(Pos::new(HPos::Center, VPos::Center));
            root.draw(&Text::new(t.label.clone(), (x + TILE / 2, y + 20), bold))
                .map_err(chart_err("tile map"))?;
            let value = match t.counts {
                Some((p, w)) if w > 0 => format!("{}%", whole_percent(p, w)),
                Some(_) => "–".to_string(),
                None => "t.a.".to_string(),
            };
            root.draw(&Text::new(value, (x + TILE / 2, y + 40), top))
                .map_err(chart_err("tile map"))?;
        }
        // Legend.
        let title = text_style(17.0, &INK);
        root.draw(&Text::new(
            "Porsi aduan terbuka akhir bulan yang belum pernah ditindaklanjuti",
            (LEFT, legend_top),
            title,
        ))
        .map_err(chart_err("tile map"))?;
        let mut x = LEFT;
        let y = legend_top + 28;
        let items: Vec<(RGBColor, &str)> = MAP_CLASSES
            .iter()
            .copied()
            .chain(std::iter::once((NO_DATA, "tidak ada aduan terbuka")))
            .collect();
        for (colour, text) in items {
            root.draw(&Rectangle::new([(x, y), (x + 28, y + 20)], colour.filled()))
                .map_err(chart_err("tile map"))?;
            root.draw(&Text::new(
                text.to_string(),
                (x + 35, y + 10),
                text_style(16.0, &INK).pos(Pos::new(HPos::Left, VPos::Center)),
            ))
            .map_err(chart_err("tile map"))?;
            x += 35 + (text.chars().count() as i32) * 8 + 26;
        }
        Ok(())
    })
}

/// One horizontal bar row: a label and its stacked segments.
#[derive(Debug, Clone)]
pub struct BarRow {
    pub label: String,
    pub segments: Vec<i128>,
}

/// Horizontal stacked bars, first row at the top.
pub fn stacked_bars(
    chart: &'static str,
    aria: &str,
    rows: &[BarRow],
    series: &[(&str, RGBColor)],
    x_desc: &str,
) -> Result<String, PublishError> {
    let n = rows.len().max(1) as i32;
    let band = 19;
    let height = (n * band + 110) as u32;
    let max = rows
        .iter()
        .map(|r| r.segments.iter().map(|v| (*v).max(0)).sum::<i128>())
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    svg(chart, aria, (1100, height), |root| {
        let mut c = ChartBuilder::on(root)
            .margin_top(34)
            .margin_right(24)
            .x_label_area_size(40)
            .y_label_area_size(200)
            .build_cartesian_2d(0f64..max * 1.08, (0..n).into_segmented())
            .map_err(chart_err(chart))?;
        c.configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(MUTED)
            .y_labels(n as usize)
            .y_label_style(text_style(14.0, &INK))
            .x_label_style(text_style(13.0, &MUTED))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(k) => rows.get((n - 1 - k) as usize).map(|r| r.label.clone()).unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_formatter(&|v| fmt_int(v.round() as i128))
            .x_desc(x_desc)
            .axis_desc_style(text_style(13.0, &MUTED))
            .draw()
            .map_err(chart_err(chart))?;
        for (i, row) in rows.iter().enumerate() {
            let k = n - 1 - i as i32;
            let mut start = 0f64;
            for (j, v) in row.segments.iter().enumerate() {
                let v = (*v).max(0) as f64;
                if v == 0.0 {
                    continue;
                }
                let colour = series.get(j).map_or(TEAL, |s| s.1);
                let mut r = Rectangle::new(
                    [(start, SegmentValue::Exact(k)), (start + v, SegmentValue::Exact(k + 1))],
                    colour.filled(),
                );
                r.set_margin(3, 3, 0, 0);
                c.draw_series(std::iter::once(r)).map_err(chart_err(chart))?;
                start += v;
            }
        }
        legend(root, series, 200)?;
        Ok(())
    })
}

/// A legend row at the top of a chart.
fn legend(root: &Area<'_>, series: &[(&str, RGBColor)], left: i32) -> Result<(), PublishError> {
    let mut x = left;
    for (name, colour) in series {
        root.draw(&Rectangle::new([(x, 8), (x + 14, 22)], colour.filled()))
            .map_err(chart_err("legend"))?;
        root.draw(&Text::new(
            name.to_string(),
            (x + 20, 15),
            text_style(14.0, &INK).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(chart_err("legend"))?;
        x += 20 + name.chars().count() as i32 * 8 + 26;
    }
    Ok(())
}

/// A bullet row: a wide light bar (`target`), a narrow dark bar (`actual`)
/// and an optional tick (`marker`).
#[derive(Debug, Clone)]
pub struct BulletRow {
    pub label: String,
    pub target: i128,
    pub actual: i128,
    pub marker: Option<i128>,
}

/// Bullet bars (e.g. inspectors needed vs active), first row at the top.
pub fn bullet_bars(
    chart: &'static str,
    aria: &str,
    rows: &[BulletRow],
    series: &[(&str, RGBColor)],
    x_desc: &str,
) -> Result<String, PublishError> {
    let n = rows.len().max(1) as i32;
    let band = 19;
    let height = (n * band + 110) as u32;
    let max = rows
        .iter()
        .map(|r| r.target.max(r.actual).max(r.marker.unwrap_or(0)))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let target_colour = series.first().map_or(LIGHT_TEAL, |s| s.1);
    let actual_colour = series.get(1).map_or(NAVY, |s| s.1);
    let marker_colour = series.get(2).map_or(ORANGE, |s| s.1);
    svg(chart, aria, (1100, height), |root| {
        let mut c = ChartBuilder::on(root)
            .margin_top(34)
            .margin_right(24)
            .x_label_area_size(40)
            .y_label_area_size(200)
            .build_cartesian_2d(0f64..max * 1.08, (0..n).into_segmented())
            .map_err(chart_err(chart))?;
        c.configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .axis_style(MUTED)
            .y_labels(n as usize)
            .y_label_style(text_style(14.0, &INK))
            .x_label_style(text_style(13.0, &MUTED))
            .y_label_formatter(&|v| match v {
                SegmentValue::CenterOf(k) => rows.get((n - 1 - k) as usize).map(|r| r.label.clone()).unwrap_or_default(),
                _ => String::new(),
            })
            .x_label_formatter(&|v| fmt_int(v.round() as i128))
            .x_desc(x_desc)
            .axis_desc_style(text_style(13.0, &MUTED))
            .draw()
            .map_err(chart_err(chart))?;
        for (i, row) in rows.iter().enumerate() {
            let k = n - 1 - i as i32;
            let lo = || SegmentValue::Exact(k);
            let hi = || SegmentValue::Exact(k + 1);
            let mut t = Rectangle::new([(0.0, lo()), (row.target.max(0) as f64, hi())], target_colour.filled());
            t.set_margin(2, 2, 0, 0);
            let mut a = Rectangle::new([(0.0, lo()), (row.actual.max(0) as f64, hi())], actual_colour.filled());
            a.set_margin(6, 6, 0, 0);
            c.draw_series([t, a]).map_err(chart_err(chart))?;
            if let Some(m) = row.marker {
                // A tick about 3 px wide (a zero-width SVG rect would not render).
                let (m, half) = (m.max(0) as f64, max * 1.08 / 876.0 * 1.5);
                let mut tick = Rectangle::new([(m - half, lo()), (m + half, hi())], marker_colour.filled());
                tick.set_margin(1, 1, 0, 0);
                c.draw_series(std::iter::once(tick)).map_err(chart_err(chart))?;
            }
        }
        legend(root, series, 200)?;
        Ok(())
    })
}

/// One month of the trend chart.
#[derive(Debug, Clone)]
pub struct TrendRow {
    pub month: Month,
    pub values: Vec<i128>,
}

/// Lines over the months, oldest left.
pub fn trend_lines(rows: &[TrendRow], series: &[(&str, RGBColor)]) -> Result<String, PublishError> {
    let chart = "trend";
    let n = rows.len().max(1) as i32;
    let max = rows.iter().flat_map(|r| r.values.iter().copied()).max().unwrap_or(0).max(1) as f64;
    svg(
        chart,
        "Tren 12 bulan: aduan diterima, ditindaklanjuti, dan terbuka belum ditindaklanjuti",
        (1100, 380),
        |root| {
            let mut c = ChartBuilder::on(root)
                .margin_top(40)
                .margin_right(30)
                .margin_left(10)
                .x_label_area_size(36)
                .y_label_area_size(70)
                .build_cartesian_2d(-0.4f64..(n as f64 - 0.6), 0f64..max * 1.12)
                .map_err(chart_err(chart))?;
            c.configure_mesh()
                .disable_x_mesh()
                .light_line_style(TRANSPARENT)
                .bold_line_style(GRID)
                .axis_style(MUTED)
                .x_labels(n as usize)
                .x_label_style(text_style(13.0, &MUTED))
                .y_label_style(text_style(13.0, &MUTED))
                .x_label_formatter(&|v| {
                    let i = v.round();
                    if (v - i).abs() > 0.01 || i < 0.0 {
                        return String::new();
                    }
                    rows.get(i as usize).map(|r| month_short(r.month)).unwrap_or_default()
                })
                .y_label_formatter(&|v| fmt_int(v.round() as i128))
                .draw()
                .map_err(chart_err(chart))?;
            for (j, (_, colour)) in series.iter().enumerate() {
                let points: Vec<(f64, f64)> = rows
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| r.values.get(j).map(|v| (i as f64, *v as f64)))
                    .collect();
                c.draw_series(LineSeries::new(points.clone(), colour.stroke_width(3)))
                    .map_err(chart_err(chart))?;
                c.draw_series(points.into_iter().map(|p| Circle::new(p, 4, colour.filled())))
                    .map_err(chart_err(chart))?;
            }
            legend(root, series, 80)?;
            Ok(())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_classes_are_integer_fifths() {
        assert_eq!(map_class(0, 10), Some(0));
        assert_eq!(map_class(1, 10), Some(0));
        assert_eq!(map_class(2, 10), Some(1));
        assert_eq!(map_class(7, 10), Some(3));
        assert_eq!(map_class(8, 10), Some(4));
        assert_eq!(map_class(10, 10), Some(4));
        assert_eq!(map_class(0, 0), None);
        assert_eq!(whole_percent(1, 3), 33);
        assert_eq!(whole_percent(1, 8), 13);
    }

    #[test]
    fn tile_map_is_svg_with_labels_escaped() {
        let tiles = vec![
            Tile {
                row: 0,
                col: 0,
                label: "ACEH".into(),
                counts: Some((3, 4)),
            },
            Tile {
                row: 1,
                col: 1,
                label: "<b>".into(),
                counts: Some((0, 0)),
            },
        ];
        let s = tile_map(&tiles).unwrap();
        assert!(s.starts_with("<svg class=\"chart\" role=\"img\""));
        assert!(s.contains(">\nACEH\n<") || s.contains(">ACEH<"), "{s}");
        assert!(s.contains("75%"));
        assert!(s.contains("&lt;b&gt;"));
        assert!(!s.contains("<b>"));
    }
}
