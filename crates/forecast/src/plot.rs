//! PNG line plots: plotters draws frames, grids and series into an RGB buffer; text is drawn
//! from a built-in bitmap font (Noto Sans Mono), so no system fonts are needed on any machine.

use std::path::Path;

use crate::ForecastError;

use noto_sans_mono_bitmap::{FontWeight, RasterHeight, get_raster, get_raster_width};
use plotters::prelude::*;
/// Colours of lines (plotters' RGB type).
pub use plotters::style::RGBColor;

/// One line (or set of markers) in a panel; one without a label stays out of the legend.
pub struct Line {
    /// The legend entry.
    pub label: String,
    /// Its colour.
    pub color: RGBColor,
    /// `(x, y)` points in drawing order.
    pub points: Vec<(f64, f64)>,
    /// Draw markers instead of a line (targets, forecasts).
    pub markers: bool,
}

impl Line {
    /// A line through `points`.
    pub fn new(label: &str, color: RGBColor, points: Vec<(f64, f64)>) -> Self {
        Self {
            label: label.into(),
            color,
            points,
            markers: false,
        }
    }

    /// Draw markers instead of a line.
    #[must_use]
    pub fn markers(mut self) -> Self {
        self.markers = true;
        self
    }
}

/// One chart.
pub struct Panel {
    /// Above the chart.
    pub title: String,
    /// Under the x axis.
    pub x_label: String,
    /// Beside the y axis.
    pub y_label: String,
    /// What is drawn.
    pub lines: Vec<Line>,
}

/// Matplotlib's first colour.
pub const BLUE: RGBColor = RGBColor(31, 119, 180);
/// Matplotlib's second colour.
pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
/// Matplotlib's red.
pub const RED: RGBColor = RGBColor(214, 39, 40);
/// Matplotlib's green.
pub const GREEN: RGBColor = RGBColor(44, 160, 44);
/// Matplotlib's purple.
pub const PURPLE: RGBColor = RGBColor(148, 103, 189);

struct Text {
    x: i32,
    y: i32,
    text: String,
    color: RGBColor,
    /// Anchor: 0 left, 1 centre, 2 right.
    align: u8,
}

/// A "nice" tick step for a range (1, 2 or 5 times a power of ten).
fn ticks(lo: f64, hi: f64) -> Vec<f64> {
    let span = (hi - lo).abs().max(1e-12);
    let raw = span / 5.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 6.0)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while t <= hi + step * 1e-9 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

fn label(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.abs() >= 1e6 || v.abs() < 0.001 {
        format!("{v:.0e}")
    } else {
        let s = format!("{v:.4}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn range(lines: &[Line], axis: fn(&(f64, f64)) -> f64) -> (f64, f64) {
    let vals = lines
        .iter()
        .flat_map(|l| l.points.iter().map(axis))
        .filter(|v| v.is_finite());
    let (lo, hi) = vals.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| (a.min(v), b.max(v)));
    if !lo.is_finite() {
        return (0.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-9);
    (lo - pad, hi + pad)
}

/// Renders `panels` side by side into a PNG at `path` (written atomically).
pub fn render(path: &Path, panels: &[Panel], width: u32, height: u32) -> Result<(), ForecastError> {
    let plot_error = |e: &dyn std::fmt::Display| ForecastError::Plot {
        path: path.to_path_buf(),
        why: e.to_string(),
    };
    let (w, h) = (width as usize, height as usize);
    let mut buf = vec![255u8; w * h * 3];
    let mut texts: Vec<Text> = Vec::new();
    {
        let root = BitMapBackend::with_buffer(&mut buf, (width, height)).into_drawing_area();
        let areas = root.split_evenly((1, panels.len().max(1)));
        for (area, panel) in areas.iter().zip(panels) {
            let (x0, _) = area.get_base_pixel();
            let (aw, _) = area.dim_in_pixel();
            let xr = range(&panel.lines, |p| p.0);
            let yr = range(&panel.lines, |p| p.1);
            let mut chart = ChartBuilder::on(area)
                .margin_top(52)
                .margin_bottom(44)
                .margin_left(70)
                .margin_right(16)
                .build_cartesian_2d(xr.0..xr.1, yr.0..yr.1)
                .map_err(|e| plot_error(&e))?;
            let grey = RGBColor(225, 225, 225);
            for x in ticks(xr.0, xr.1) {
                chart
                    .draw_series(std::iter::once(PathElement::new(vec![(x, yr.0), (x, yr.1)], grey)))
                    .map_err(|e| plot_error(&e))?;
                let (px, py) = chart.backend_coord(&(x, yr.0));
                texts.push(Text {
                    x: px,
                    y: py + 6,
                    text: label(x),
                    color: BLACK,
                    align: 1,
                });
            }
            for y in ticks(yr.0, yr.1) {
                chart
                    .draw_series(std::iter::once(PathElement::new(vec![(xr.0, y), (xr.1, y)], grey)))
                    .map_err(|e| plot_error(&e))?;
                let (px, py) = chart.backend_coord(&(xr.0, y));
                texts.push(Text {
                    x: px - 6,
                    y: py - 8,
                    text: label(y),
                    color: BLACK,
                    align: 2,
                });
            }
            let frame = vec![(xr.0, yr.0), (xr.1, yr.0), (xr.1, yr.1), (xr.0, yr.1), (xr.0, yr.0)];
            chart
                .draw_series(std::iter::once(PathElement::new(frame, BLACK)))
                .map_err(|e| plot_error(&e))?;
            for line in &panel.lines {
                if line.markers {
                    let c = line.color;
                    chart
                        .draw_series(line.points.iter().map(|&p| Cross::new(p, 5, c.stroke_width(2))))
                        .map_err(|e| plot_error(&e))?;
                } else {
                    chart
                        .draw_series(LineSeries::new(line.points.clone(), line.color.stroke_width(2)))
                        .map_err(|e| plot_error(&e))?;
                }
            }
            let (left, top) = chart.backend_coord(&(xr.0, yr.1));
            let (right, bottom) = chart.backend_coord(&(xr.1, yr.0));
            texts.push(Text {
                x: x0 + aw as i32 / 2,
                y: 8,
                text: panel.title.clone(),
                color: BLACK,
                align: 1,
            });
            texts.push(Text {
                x: (left + right) / 2,
                y: bottom + 24,
                text: panel.x_label.clone(),
                color: BLACK,
                align: 1,
            });
            texts.push(Text {
                x: x0 + 4,
                y: top - 22,
                text: panel.y_label.clone(),
                color: BLACK,
                align: 0,
            });
            // Legend: one row above the plot, right-aligned, each entry in its line's colour.
            let char_w = get_raster_width(FontWeight::Regular, RasterHeight::Size16) as i32;
            let mut x = right;
            // A line without a label (the second edge of a band) has no entry.
            for line in panel.lines.iter().rev().filter(|l| !l.label.is_empty()) {
                let text = if line.markers {
                    format!("x {}", line.label)
                } else {
                    format!("- {}", line.label)
                };
                let advance = char_w * (text.chars().count() as i32 + 2);
                texts.push(Text {
                    x,
                    y: top - 22,
                    text,
                    color: line.color,
                    align: 2,
                });
                x -= advance;
            }
        }
        root.present().map_err(|e| plot_error(&e))?;
    }
    for t in &texts {
        draw_text(&mut buf, w, h, t);
    }
    write_png(path, &buf, width, height)
}

fn draw_text(buf: &mut [u8], w: usize, h: usize, t: &Text) {
    let size = RasterHeight::Size16;
    let cw = get_raster_width(FontWeight::Regular, size) as i32;
    let width = cw * t.text.chars().count() as i32;
    let mut x = match t.align {
        0 => t.x,
        1 => t.x - width / 2,
        _ => t.x - width,
    };
    for c in t.text.chars() {
        let raster = get_raster(c, FontWeight::Regular, size).or_else(|| get_raster('?', FontWeight::Regular, size));
        if let Some(r) = raster {
            for (ry, row) in r.rows().enumerate() {
                for (rx, &a) in row.iter().enumerate() {
                    let (px, py) = (x + rx as i32, t.y + ry as i32);
                    if a == 0 || px < 0 || py < 0 || px as usize >= w || py as usize >= h {
                        continue;
                    }
                    let i = (py as usize * w + px as usize) * 3;
                    let alpha = u16::from(a);
                    for (k, fg) in [t.color.0, t.color.1, t.color.2].into_iter().enumerate() {
                        let bg = u16::from(buf[i + k]);
                        buf[i + k] = ((u16::from(fg) * alpha + bg * (255 - alpha)) / 255) as u8;
                    }
                }
            }
        }
        x += cw;
    }
}

fn write_png(path: &Path, rgb: &[u8], width: u32, height: u32) -> Result<(), ForecastError> {
    let plot_error = |e: &dyn std::fmt::Display| ForecastError::Plot {
        path: path.to_path_buf(),
        why: e.to_string(),
    };
    let mut bytes = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut bytes, width, height);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(|e| plot_error(&e))?;
        writer.write_image_data(rgb).map_err(|e| plot_error(&e))?;
    }
    rnnlab_layers::atomic_file::write(path, &bytes).map_err(ForecastError::io(path))
}
