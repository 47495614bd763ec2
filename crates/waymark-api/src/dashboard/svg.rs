//! Inline SVG charts, generated here: bar charts of a series over the run.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use super::page::esc;

const W: f64 = 360.0;
const H: f64 = 150.0;
const LEFT: f64 = 64.0;
const BOTTOM: f64 = 22.0;
const TOP: f64 = 8.0;

/// A bar chart of `values` (one per bucket starting at `starts`), with a title and a text
/// summary for screen readers. `unit` labels the axis maximum.
pub fn bars(
    id: &str,
    title: &str,
    starts: &[DateTime<Utc>],
    values: &[f64],
    unit: &str,
    colour: &str,
) -> String {
    let max = values.iter().copied().fold(0.0_f64, f64::max);
    let total: f64 = values.iter().sum();
    let summary = if values.is_empty() {
        "No data yet.".to_owned()
    } else {
        format!(
            "{} buckets; highest {} {unit}; total {}.",
            values.len(),
            number(max),
            number(total)
        )
    };
    let mut svg = format!(
        "<figure><figcaption id=\"{id}-t\">{}</figcaption>\
         <svg viewBox=\"0 0 {W} {H}\" width=\"100%\" role=\"img\" \
         aria-labelledby=\"{id}-t {id}-d\"><desc id=\"{id}-d\">{}</desc>",
        esc(title),
        esc(&summary)
    );
    let plot_h = H - BOTTOM - TOP;
    let plot_w = W - LEFT - 6.0;
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{y}\" x2=\"{x2}\" y2=\"{y}\" stroke=\"#aeb7bd\"/>\
         <text x=\"{tx}\" y=\"{ty}\" text-anchor=\"end\">{}</text>\
         <text x=\"{tx}\" y=\"{y}\" text-anchor=\"end\">0</text>",
        esc(&format!("{} {unit}", number(max))),
        y = TOP + plot_h,
        x2 = W - 6.0,
        tx = LEFT - 4.0,
        ty = TOP + 10.0,
    );
    if max > 0.0 {
        let step = plot_w / values.len().max(1) as f64;
        for (i, v) in values.iter().enumerate() {
            let h = (v / max) * plot_h;
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{colour}\"/>",
                LEFT + i as f64 * step + step * 0.1,
                TOP + plot_h - h,
                (step * 0.8).max(1.0),
                h
            );
        }
    }
    if let (Some(first), Some(last)) = (starts.first(), starts.last()) {
        let _ = write!(
            svg,
            "<text x=\"{LEFT}\" y=\"{y}\">{}</text>\
             <text x=\"{x}\" y=\"{y}\" text-anchor=\"end\">{}</text>",
            first.format("%H:%M:%S"),
            last.format("%H:%M:%S"),
            y = H - 6.0,
            x = W - 6.0
        );
    }
    svg.push_str("</svg></figure>");
    svg
}

fn number(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_one_bar_per_value_and_a_text_summary() {
        let t = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        let svg = bars(
            "c",
            "Rate <per min>",
            &[t, t],
            &[3.0, 1.0],
            "msgs",
            "#005eb8",
        );
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("Rate &lt;per min&gt;"));
        assert!(svg.contains("highest 3 msgs"));
        let empty = bars("e", "Empty", &[], &[], "s", "#000");
        assert!(empty.contains("No data yet.") && !empty.contains("<rect"));
    }
}
