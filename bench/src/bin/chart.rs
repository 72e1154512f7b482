//! Draws the benchmark's chart: `bench-chart SPEC.json OUT.svg`.
//!
//! The harness decides what is shown (panels, categories, series, reference lines) and writes
//! it as JSON; this program only draws it, so the chart is regenerated from the measured data
//! and never edited by hand. One panel per row; grouped bars on a logarithmic axis, because
//! the peers differ by orders of magnitude; each reference (the ceiling) is a dashed line.

use plotters::prelude::*;
use serde::Deserialize;

#[derive(Deserialize)]
struct Spec {
    title: String,
    y_label: String,
    panels: Vec<Panel>,
}

#[derive(Deserialize)]
struct Panel {
    name: String,
    categories: Vec<String>,
    series: Vec<Series>,
    #[serde(default)]
    lines: Vec<Line>,
}

#[derive(Deserialize)]
struct Series {
    name: String,
    /// One value per category; null where the peer has no figure.
    values: Vec<Option<f64>>,
}

#[derive(Deserialize)]
struct Line {
    name: String,
    value: f64,
}

const COLORS: [RGBColor; 5] = [
    RGBColor(0xd9, 0x48, 0x1c), // todo-api
    RGBColor(0x3b, 0x6e, 0xa8), // FastAPI
    RGBColor(0x7f, 0xa7, 0xd6), // FastAPI tuned
    RGBColor(0x5a, 0x9e, 0x4b),
    RGBColor(0x8c, 0x5a, 0xa8),
];
const PANEL_HEIGHT: u32 = 340;
const WIDTH: u32 = 1100;

fn short(v: f64) -> String {
    match v {
        v if v >= 10_000.0 => format!("{:.0}k", v / 1000.0),
        v if v >= 1000.0 => format!("{:.1}k", v / 1000.0),
        v => format!("{v:.0}"),
    }
}

fn draw_panel(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    panel: &Panel,
    y_label: &str,
) -> Result<(), Box<dyn std::error::Error>> {
    let n = panel.categories.len();
    let all = panel
        .series
        .iter()
        .flat_map(|s| s.values.iter().flatten().copied())
        .chain(panel.lines.iter().map(|l| l.value));
    let (min, max) = all.fold((f64::MAX, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    // From the power of ten below the smallest bar; headroom above for the value labels and
    // the legend.
    let y_min = 10f64.powf((min.max(1.0) / 2.0).log10().floor());
    let y_max = max * 12.0;
    let mut chart = ChartBuilder::on(area)
        .caption(&panel.name, ("sans-serif", 18))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(-0.5f64..n as f64 - 0.5, (y_min..y_max).log_scale())?;
    let label = |x: &f64| {
        let i = x.round();
        if (x - i).abs() < 1e-6 && i >= 0.0 {
            panel.categories.get(i as usize).cloned().unwrap_or_default()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n)
        .x_label_formatter(&label)
        .y_desc(y_label)
        .y_label_formatter(&|v| short(*v))
        .draw()?;

    let k = panel.series.len().max(1) as f64;
    let width = 0.8 / k;
    for (j, series) in panel.series.iter().enumerate() {
        let color = COLORS[j % COLORS.len()];
        let left = |i: usize| i as f64 - 0.4 + j as f64 * width;
        let bars = series.values.iter().enumerate().filter_map(|(i, v)| {
            v.map(|v| Rectangle::new([(left(i), y_min), (left(i) + width, v.max(y_min))], color.filled()))
        });
        chart
            .draw_series(bars)?
            .label(&series.name)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled()));
        let values = series.values.iter().enumerate().filter_map(|(i, v)| {
            v.map(|v| {
                Text::new(short(v), (left(i) + width / 2.0, v.max(y_min) * 1.15), ("sans-serif", 10).into_font().color(&BLACK).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    plotters::style::text_anchor::VPos::Bottom,
                )))
            })
        });
        chart.draw_series(values)?;
    }
    for line in &panel.lines {
        let style = ShapeStyle::from(&BLACK).stroke_width(1);
        chart
            .draw_series(DashedLineSeries::new(
                [(-0.5, line.value), (n as f64 - 0.5, line.value)],
                6,
                4,
                style,
            ))?
            .label(format!("{} ({})", line.name, short(line.value)))
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 12, y)], style));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, spec, out] = args.as_slice() else {
        return Err("usage: bench-chart SPEC.json OUT.svg".into());
    };
    let spec: Spec = serde_json::from_str(&std::fs::read_to_string(spec)?)?;
    let height = 40 + PANEL_HEIGHT * spec.panels.len() as u32;
    let root = SVGBackend::new(out, (WIDTH, height)).into_drawing_area();
    root.fill(&WHITE)?;
    let (title, body) = root.split_vertically(40);
    title.titled(&spec.title, ("sans-serif", 22))?;
    for (area, panel) in body.split_evenly((spec.panels.len(), 1)).iter().zip(&spec.panels) {
        draw_panel(area, panel, &spec.y_label)?;
    }
    root.present()?;
    Ok(())
}
