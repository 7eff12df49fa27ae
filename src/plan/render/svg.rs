//! Hand-written inline SVG charts: horizontal bars (linear, log and "nines" axes, with an
//! optional reference line) and a two-axis line chart. The graph is in `graph.rs`.
//! Every piece of text goes through [`escape`]; nothing refers to anything outside the SVG.

use std::fmt::Write;

/// The chart colours. Each chart has its own, so a screenshot can be checked per chart.
pub mod palette {
    /// Bars of the cost chart.
    pub const COST: &str = "#1b9e77";
    /// The cost series of the horizon chart.
    pub const SERIES_COST: &str = "#d95f02";
    /// The peak series of the horizon chart.
    pub const SERIES_PEAK: &str = "#7570b3";
    /// Bars of the saturation chart.
    pub const SATURATION: &str = "#e7298a";
    /// A bar past its limit: saturated today, or a route below the SLO.
    pub const ALERT: &str = "#b2182b";
    /// Bars of routes that meet the SLO.
    pub const AVAILABILITY: &str = "#66a61e";
    /// Text and reference lines.
    pub const INK: &str = "#222222";
    /// Axis labels and grid.
    pub const MUTED: &str = "#666666";
    pub const GRID: &str = "#e4e4e4";
}

/// Text safe in SVG/HTML content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

pub(super) fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    text.chars()
        .take(max.saturating_sub(1))
        .chain(['…'])
        .collect()
}

/// Round tick values from 0 to at least `max` (about five steps of 1, 2, 2.5 or 5 × 10ᵏ).
pub fn nice_ticks(max: f64) -> Vec<f64> {
    if !(max > 0.0 && max.is_finite()) {
        return vec![0.0, 1.0];
    }
    let raw = max / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    if !(step > 0.0 && step.is_finite()) {
        // Subnormal maxima underflow the step to zero: a unit axis is the honest picture.
        return vec![0.0, 1.0];
    }
    let steps = ((max / step - 1e-9).ceil().max(1.0) as usize).min(20);
    (0..=steps).map(|i| i as f64 * step).collect()
}

/// How values map onto a bar chart's axis.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Axis {
    /// From zero.
    Linear,
    /// Powers of ten (saturation multiples).
    Log,
    /// Number of nines, −log₁₀(1 − a) (availabilities).
    Nines,
}

/// One bar: its label, value, the text printed after it, and its colour.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub text: String,
    pub color: &'static str,
}

/// A horizontal bar chart with an optional vertical reference line (value, caption).
pub struct BarChart {
    pub bars: Vec<Bar>,
    pub axis: Axis,
    pub reference: Option<(f64, String)>,
    pub tick_text: fn(f64) -> String,
}

fn nines(a: f64) -> f64 {
    -(1.0 - a).max(1e-9).log10()
}

impl BarChart {
    /// The domain in axis units and the ticks as raw values.
    fn domain(&self) -> (f64, f64, Vec<f64>) {
        let mut values: Vec<f64> = self.bars.iter().map(|b| b.value).collect();
        values.extend(self.reference.as_ref().map(|r| r.0));
        let max = values.iter().copied().fold(f64::MIN, f64::max);
        let min = values.iter().copied().fold(f64::MAX, f64::min);
        match self.axis {
            Axis::Linear => {
                let ticks = nice_ticks(max);
                (0.0, *ticks.last().unwrap_or(&1.0), ticks)
            }
            Axis::Log => {
                // The 1-2-5 steps around the values: bars start at a round multiple.
                let steps: Vec<f64> = (-3..=6)
                    .flat_map(|k| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(k)))
                    .collect();
                let lo = steps
                    .iter()
                    .rev()
                    .find(|v| **v <= min * 0.8)
                    .unwrap_or(&steps[0]);
                let hi = steps
                    .iter()
                    .find(|v| **v >= max * 1.25)
                    .unwrap_or(&steps[29]);
                let ticks = steps
                    .iter()
                    .filter(|v| *v >= lo && *v <= hi)
                    .copied()
                    .collect();
                (lo.log10(), hi.log10(), ticks)
            }
            Axis::Nines => {
                let lo = nines(min).floor().clamp(0.0, 2.0);
                let hi = (nines(max) + 0.4).ceil().clamp(lo + 1.0, 9.0);
                let ticks = (lo as i32..=hi as i32)
                    .map(|k| 1.0 - 10f64.powi(-k))
                    .collect();
                (lo, hi, ticks)
            }
        }
    }

    fn unit(&self, v: f64) -> f64 {
        match self.axis {
            Axis::Linear => v,
            Axis::Log => v.max(1e-3).log10(),
            Axis::Nines => nines(v),
        }
    }

    /// The chart as an `<svg>` element, `width` pixels wide.
    pub fn svg(&self, width: f64) -> String {
        const ROW: f64 = 26.0;
        const TOP: f64 = 22.0;
        let longest = self
            .bars
            .iter()
            .map(|b| b.label.chars().count())
            .max()
            .unwrap_or(4);
        let label_w = (longest.min(34) as f64 * 7.0 + 12.0).clamp(60.0, 250.0);
        let plot_w = width - label_w - 90.0;
        let height = TOP + ROW * self.bars.len() as f64 + 30.0;
        let (d0, d1, ticks) = self.domain();
        let x = |v: f64| label_w + ((self.unit(v) - d0) / (d1 - d0)).clamp(0.0, 1.0) * plot_w;
        let mut s = svg_open(width, height);
        let axis_y = TOP + ROW * self.bars.len() as f64;
        for t in &ticks {
            let tx = x(*t);
            let _ = write!(
                s,
                concat!(
                    r#"<line x1="{tx:.1}" y1="{TOP}" x2="{tx:.1}" y2="{axis_y}" stroke="{}"/>"#,
                    r#"<text x="{tx:.1}" y="{:.1}" text-anchor="middle" class="tick">{}</text>"#,
                ),
                palette::GRID,
                axis_y + 16.0,
                escape(&(self.tick_text)(*t)),
                tx = tx,
                TOP = TOP,
                axis_y = axis_y,
            );
        }
        for (i, b) in self.bars.iter().enumerate() {
            let y = TOP + ROW * i as f64;
            let end = x(b.value);
            let _ = write!(
                s,
                concat!(
                    r#"<text x="{:.1}" y="{:.1}" text-anchor="end" class="label">{}</text><rect"#,
                    r#" x="{label_w:.1}" y="{:.1}" width="{:.1}" height="18" fill="{}">"#,
                    r#"<title>{}: {}</title></rect><text x="{:.1}" y="{:.1}""#,
                    r#" class="value">{}</text>"#,
                ),
                label_w - 8.0,
                y + 17.0,
                escape(&cut(&b.label, 34)),
                y + 4.0,
                (end - label_w).max(1.0),
                b.color,
                escape(&b.label),
                escape(&b.text),
                end + 5.0,
                y + 17.0,
                escape(&b.text),
                label_w = label_w,
            );
        }
        if let Some((v, caption)) = &self.reference {
            let rx = x(*v);
            let _ = write!(
                s,
                concat!(
                    r#"<line x1="{rx:.1}" y1="{:.1}" x2="{rx:.1}" y2="{axis_y}" stroke="{}""#,
                    r#" stroke-width="2" stroke-dasharray="5 3"/><text x="{rx:.1}" y="12""#,
                    r#" text-anchor="middle" class="marker">{}</text>"#,
                ),
                TOP - 4.0,
                palette::INK,
                escape(caption),
                rx = rx,
                axis_y = axis_y,
            );
        }
        s.push_str("</svg>");
        s
    }
}

pub(super) fn svg_open(width: f64, height: f64) -> String {
    format!(
        concat!(
            r#"<svg width="{width:.0}""#,
            r#" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" role="img">"#,
        ),
        width = width,
        height = height,
    )
}

/// One series of a line chart.
pub struct Series {
    pub label: String,
    pub color: &'static str,
    pub values: Vec<f64>,
    pub tick_text: fn(f64) -> String,
}

/// A line chart over months with `left` on the left axis and `right` on the right axis.
pub fn line_chart(months: &[u32], left: &Series, right: &Series, width: f64) -> String {
    let (ml, mr, top, height) = (72.0, 72.0, 34.0, 300.0);
    let plot_w = width - ml - mr;
    let bottom = height - 34.0;
    let last = months.last().copied().unwrap_or(1).max(1) as f64;
    let x = |m: u32| ml + m as f64 / last * plot_w;
    let max_of = |s: &Series| s.values.iter().copied().fold(0.0, f64::max);
    let (lt, rt) = (nice_ticks(max_of(left)), nice_ticks(max_of(right)));
    let (ltop, rtop) = (*lt.last().unwrap_or(&1.0), *rt.last().unwrap_or(&1.0));
    let y = |v: f64, top_v: f64| bottom - v / top_v * (bottom - top);
    let mut s = svg_open(width, height);
    for t in &lt {
        let ty = y(*t, ltop);
        let _ = write!(
            s,
            concat!(
                r#"<line x1="{ml}" y1="{ty:.1}" x2="{:.1}" y2="{ty:.1}" stroke="{}"/><text"#,
                r#" x="{:.1}" y="{:.1}" text-anchor="end" class="tick">{}</text>"#,
            ),
            ml + plot_w,
            palette::GRID,
            ml - 6.0,
            ty + 4.0,
            escape(&(left.tick_text)(*t)),
            ml = ml,
            ty = ty,
        );
    }
    for t in &rt {
        let ty = y(*t, rtop);
        let _ = write!(
            s,
            r#"<text x="{:.1}" y="{:.1}" class="tick">{}</text>"#,
            ml + plot_w + 6.0,
            ty + 4.0,
            escape(&(right.tick_text)(*t))
        );
    }
    let step = (months.len() / 10).max(1);
    for (i, m) in months.iter().enumerate() {
        if i % step == 0 || i + 1 == months.len() {
            let _ = write!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">{m}</text>"#,
                x(*m),
                bottom + 16.0
            );
        }
    }
    let _ = write!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle" class="tick">month</text>"#,
        ml + plot_w / 2.0,
        bottom + 30.0
    );
    for (series, top_v, lx) in [(left, ltop, ml), (right, rtop, ml + plot_w / 2.0)] {
        let points: Vec<String> = months
            .iter()
            .zip(&series.values)
            .map(|(m, v)| format!("{:.1},{:.1}", x(*m), y(*v, top_v)))
            .collect();
        let _ = write!(
            s,
            concat!(
                r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="3""#,
                r#" stroke-linejoin="round"/><rect x="{lx:.1}" y="8" width="18" height="10""#,
                r#" fill="{c}"/><text x="{:.1}" y="18" class="label">{}</text>"#,
            ),
            points.join(" "),
            lx + 24.0,
            escape(&series.label),
            c = series.color,
            lx = lx,
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_maximum() {
        assert_eq!(
            nice_ticks(12_345.0),
            vec![0.0, 2500.0, 5000.0, 7500.0, 10000.0, 12500.0]
        );
        assert_eq!(nice_ticks(0.0), vec![0.0, 1.0]);
        assert!(*nice_ticks(7.0).last().unwrap() >= 7.0);
    }

    #[test]
    fn text_is_escaped_and_bars_scale() {
        let chart = BarChart {
            bars: vec![
                Bar {
                    label: "<a&b>".into(),
                    value: 2.0,
                    text: "2×".into(),
                    color: palette::SATURATION,
                },
                Bar {
                    label: "c".into(),
                    value: 0.5,
                    text: "0.5×".into(),
                    color: palette::ALERT,
                },
            ],
            axis: Axis::Log,
            reference: Some((1.0, "1× today".into())),
            tick_text: |v| format!("{v}×"),
        };
        let svg = chart.svg(600.0);
        assert!(svg.contains("&lt;a&amp;b&gt;") && !svg.contains("<a&b>"));
        assert!(svg.contains(palette::SATURATION) && svg.contains("1× today"));
        assert_eq!(escape(r#"'"&"#), "&#39;&quot;&amp;");
    }

    #[test]
    fn nines_axis_spreads_high_availabilities() {
        let chart = BarChart {
            bars: vec![Bar {
                label: "r".into(),
                value: 0.9999,
                text: String::new(),
                color: "#000",
            }],
            axis: Axis::Nines,
            reference: Some((0.9995, "SLO".into())),
            tick_text: |v| format!("{v}"),
        };
        let (lo, hi, ticks) = chart.domain();
        assert_eq!((lo, hi), (2.0, 5.0));
        assert_eq!(ticks.len(), 4);
    }
}
