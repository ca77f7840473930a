//! The two-series bar chart: a title with a legend, a y axis in the chart's unit with a
//! few round ticks, two bars per label and the labels beneath.
//!
//! Invariants:
//! - the axis runs from 0 to a round top at or above the largest value (in the chart's
//!   unit, value / scale); a bar's height is its value over that top, so no bar leaves
//!   the plot; a zero value draws no bar;
//! - ticks are 1, 2 or 5 times a power of ten apart (at least 0.001), at most
//!   [`MAX_TICKS`] intervals, found from a fixed list of powers (no `log10`), so the same
//!   chart always gets the same axis; with nothing but zeros the axis runs to 1;
//! - the chart is one block of fixed height: it is never split across pages.

use domain::funnel::document::{Align, BarChart, thousands};

use super::layout::{ACCENT, CONTENT_W, HAIRLINE, INK, MARGIN, MUTED, Op, Pager, RULE, Rgb};

const TITLE_SIZE: f32 = 11.0;
const LABEL_SIZE: f32 = 8.0;
const TICK_SIZE: f32 = 7.0;
const HEADER_H: f32 = 22.0;
const UNIT_H: f32 = 12.0;
const PLOT_H: f32 = 160.0;
const LABELS_H: f32 = 18.0;
const MAX_TICKS: u32 = 5;
/// The two series' fills: dark blue, light grey.
const SERIES: [Rgb; 2] = [ACCENT, (0xc4, 0xc9, 0xd1)];

/// The axis: its top and the step between ticks, in the chart's unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Axis {
    pub top: f64,
    pub step: f64,
    /// Decimals the tick labels need (0 for whole steps).
    pub decimals: usize,
}

/// A round axis for values up to `max` (in the chart's unit).
pub(super) fn axis(max: f64) -> Axis {
    if !(max.is_finite() && max > 0.0) {
        return Axis { top: 1.0, step: 1.0, decimals: 0 };
    }
    // Powers of ten held exactly where they can be: 10^k for k >= 0 is an exact f64.
    let fractions = [(0.001, 3), (0.01, 2), (0.1, 1)];
    let wholes = (0..=19u32).map(|k| (10u64.pow(k) as f64, 0));
    for (magnitude, decimals) in fractions.into_iter().chain(wholes) {
        for m in [1.0, 2.0, 5.0] {
            let step = m * magnitude;
            // The tolerance keeps 0.3 / 0.1 at 3 intervals, not 4.
            let intervals = (max / step - 1e-9).ceil().max(1.0);
            if intervals <= f64::from(MAX_TICKS) {
                return Axis { top: intervals * step, step, decimals };
            }
        }
    }
    Axis { top: max, step: max, decimals: 0 }
}

fn tick_label(v: f64, decimals: usize) -> String {
    if decimals == 0 {
        // `v` is a whole multiple of a whole step, well inside u64 for any chart of u64s.
        thousands(v.round() as u64)
    } else {
        format!("{v:.decimals$}")
    }
}

/// Lays out `chart` at the pager's position (a new page if it does not fit).
pub(super) fn bar_chart(p: &mut Pager<'_>, chart: &BarChart) {
    let height = HEADER_H + UNIT_H + PLOT_H + LABELS_H;
    p.gap(10.0);
    p.need(height);
    let top = p.y;

    // Title, and the legend on the same line, right-aligned.
    let b = p.baseline(top, TITLE_SIZE, HEADER_H);
    let legend: Vec<(String, f32)> = chart.series.iter().map(|s| (s.clone(), p.m.width(s, LABEL_SIZE))).collect();
    let legend_w: f32 = legend.iter().map(|(_, w)| 10.0 + 4.0 + w + 10.0).sum();
    let title = p.m.fit(&chart.title, TITLE_SIZE, CONTENT_W - legend_w - 8.0);
    p.text(MARGIN, b, TITLE_SIZE, INK, &title);
    let mut x = MARGIN + CONTENT_W - legend_w + 10.0;
    let lb = p.baseline(top, LABEL_SIZE, HEADER_H);
    for ((name, w), fill) in legend.iter().zip(SERIES) {
        p.push(Op::Rect { x, y: lb - 8.0, w: 9.0, h: 9.0, fill: Some(fill), stroke: None });
        p.text(x + 13.0, lb, LABEL_SIZE, INK, name);
        x += 10.0 + 4.0 + w + 10.0;
    }

    // The axis, in the chart's unit.
    let scale = chart.scale.max(1) as f64;
    let max = chart.bars.iter().flat_map(|b| b.values).max().unwrap_or(0) as f64 / scale;
    let ax = axis(max);
    let intervals = (ax.top / ax.step).round() as u32;
    let ticks: Vec<(f64, String)> =
        (0..=intervals).map(|i| f64::from(i) * ax.step).map(|v| (v, tick_label(v, ax.decimals))).collect();
    let axis_w =
        ticks.iter().map(|(_, l)| p.m.width(l, TICK_SIZE)).fold(p.m.width(&chart.unit, TICK_SIZE), f32::max) + 8.0;
    let plot_x = MARGIN + axis_w;
    let plot_w = CONTENT_W - axis_w;
    let plot_top = top + HEADER_H + UNIT_H;
    let plot_bottom = plot_top + PLOT_H;
    let y_of = |v: f64| plot_bottom - (v / ax.top) as f32 * PLOT_H;

    let unit_b = p.baseline(top + HEADER_H, TICK_SIZE, UNIT_H) - 4.0;
    p.aligned((MARGIN, axis_w - 4.0), unit_b, TICK_SIZE, MUTED, &format!("({})", chart.unit), Align::Right);
    for (v, label) in &ticks {
        let y = y_of(*v);
        if *v > 0.0 {
            p.push(Op::Line { x1: plot_x, y1: y, x2: plot_x + plot_w, y2: y, color: HAIRLINE, width: 0.5 });
        }
        let tb = y + TICK_SIZE * 0.35;
        p.aligned((MARGIN, axis_w - 4.0), tb, TICK_SIZE, MUTED, label, Align::Right);
    }

    // Bars, two per label, and the labels beneath.
    let n = chart.bars.len().max(1) as f32;
    let group_w = plot_w / n;
    let bar_w = (group_w * 0.32).min(18.0);
    let pair_w = 2.0 * bar_w + 2.0;
    for (i, bar) in chart.bars.iter().enumerate() {
        let gx = plot_x + i as f32 * group_w;
        let mut bx = gx + (group_w - pair_w) / 2.0;
        for (value, fill) in bar.values.iter().zip(SERIES) {
            let h = plot_bottom - y_of(*value as f64 / scale);
            if h > 0.0 {
                p.push(Op::Rect { x: bx, y: plot_bottom - h, w: bar_w, h, fill: Some(fill), stroke: None });
            }
            bx += bar_w + 2.0;
        }
        let label = p.m.fit(&bar.label, LABEL_SIZE, group_w - 2.0);
        let lb = p.baseline(plot_bottom + 2.0, LABEL_SIZE, LABELS_H - 2.0);
        p.aligned((gx, group_w), lb, LABEL_SIZE, INK, &label, Align::Center);
    }
    p.push(Op::Line { x1: plot_x, y1: plot_top, x2: plot_x, y2: plot_bottom, color: RULE, width: 0.7 });
    p.push(Op::Line { x1: plot_x, y1: plot_bottom, x2: plot_x + plot_w, y2: plot_bottom, color: RULE, width: 0.7 });
    p.y = top + height + 6.0;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_is_round_and_covers_the_largest_value() {
        assert_eq!(axis(10_000.0), Axis { top: 10_000.0, step: 2_000.0, decimals: 0 });
        assert_eq!(axis(12_345.0), Axis { top: 15_000.0, step: 5_000.0, decimals: 0 });
        assert_eq!(axis(3.0), Axis { top: 3.0, step: 1.0, decimals: 0 });
        assert_eq!(axis(0.0), Axis { top: 1.0, step: 1.0, decimals: 0 });
        let small = axis(0.7);
        assert!(small.top >= 0.7 && small.decimals == 1, "{small:?}");
        for max in [1.0, 7.0, 99.0, 101.0, 5_000.0, 123_456_789.0, 1.8e15] {
            let a = axis(max);
            assert!(a.top >= max && a.top / a.step <= 5.0 + 1e-9, "{max}: {a:?}");
        }
        assert_eq!(tick_label(20_000.0, 0), "20,000");
        assert_eq!(tick_label(0.5, 1), "0.5");
    }
}
