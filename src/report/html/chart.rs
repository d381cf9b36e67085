//! The page's inline SVG charts: totals as bars, and the timeline (files accepted and ready,
//! API calls against the budget with the 429s marked). Each chart is an `<svg role="img">`
//! with a `<title>` and `<desc>`, and the timeline comes with its data as a table. A long run
//! is shown in bins of several minutes, so a chart never has more than [`MAX_BINS`] bars.

use std::fmt::Write;

use super::{esc, num, num_cell};

/// Bars of a timeline chart, and rows of its table, at most.
const MAX_BINS: usize = 120;
const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const BOTTOM: f64 = 28.0;
const TOP: f64 = 12.0;
const TOTALS_WIDTH: f64 = 520.0;

const ACCEPTED: &str = "#0969da";
const READY: &str = "#1a7f37";
const CALLS: &str = "#8c959f";
const THROTTLED: &str = "#cf222e";

/// One minute of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Minute {
    pub accepted: u64,
    pub ready: u64,
    pub calls: u64,
    /// Calls answered 429.
    pub throttled: u64,
}

/// A run minute by minute, from its start.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    pub minutes: Vec<Minute>,
    /// The client's ceiling, in calls per minute.
    pub budget_per_minute: u32,
}

impl Timeline {
    /// Minutes per bin, and the bins.
    fn bins(&self) -> (usize, Vec<Minute>) {
        let width = self.minutes.len().div_ceil(MAX_BINS).max(1);
        let bins = self
            .minutes
            .chunks(width)
            .map(|chunk| {
                chunk.iter().fold(Minute::default(), |a, m| Minute {
                    accepted: a.accepted + m.accepted,
                    ready: a.ready + m.ready,
                    calls: a.calls + m.calls,
                    throttled: a.throttled + m.throttled,
                })
            })
            .collect();
        (width, bins)
    }
}

/// Totals as horizontal bars.
pub(super) fn totals(out: &mut String, totals: &[(&'static str, u64)], sum: u64) {
    let row = 26.0;
    let height = row * totals.len() as f64 + 8.0;
    let label: Vec<String> = totals
        .iter()
        .map(|(s, n)| format!("{s} {}", num(*n)))
        .collect();
    let _ = write!(
        out,
        "<figure><svg role=\"img\" aria-labelledby=\"totals-title totals-desc\" viewBox=\"0 0 {TOTALS_WIDTH} {height}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"totals-title\">Lines by status</title><desc id=\"totals-desc\">{} of {} lines: {}</desc>",
        totals.len(),
        num(sum),
        esc(&label.join(", "))
    );
    let span = TOTALS_WIDTH - 200.0;
    for (i, (status, n)) in totals.iter().enumerate() {
        let y = 4.0 + row * i as f64;
        let w = if sum == 0 {
            0.0
        } else {
            span * *n as f64 / sum as f64
        };
        let color = match *status {
            "ready" | "present" | "valid" => READY,
            "failed" | "invalid" | "missing" | "differs" => THROTTLED,
            _ => CALLS,
        };
        let _ = write!(
            out,
            "<text x=\"0\" y=\"{:.1}\">{status}</text><rect x=\"100\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"18\" fill=\"{color}\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            y + 14.0,
            106.0 + w,
            y + 14.0,
            num(*n)
        );
    }
    out.push_str("</svg></figure>\n");
}

/// The timeline section: two charts and their data.
pub(super) fn timeline(out: &mut String, timeline: &Timeline) {
    let (width, bins) = timeline.bins();
    let unit = if width == 1 {
        "minute".to_string()
    } else {
        format!("{width} minutes")
    };
    let budget = u64::from(timeline.budget_per_minute) * width as u64;
    let throttled: u64 = bins.iter().map(|b| b.throttled).sum();
    let _ = write!(
        out,
        "<section aria-labelledby=\"h-timeline\">\n<h2 id=\"h-timeline\">Timeline</h2>\n<p>Per {unit} from the start of the run ({} minutes in all).</p>\n<div class=\"two\">\n",
        num(timeline.minutes.len() as u64)
    );
    let peak_files = bins
        .iter()
        .map(|b| b.accepted.max(b.ready))
        .max()
        .unwrap_or(0);
    let accepted: u64 = bins.iter().map(|b| b.accepted).sum();
    let ready: u64 = bins.iter().map(|b| b.ready).sum();
    let desc = format!(
        "{} files accepted and {} made ready over {} bins of {unit}; at most {} in one bin.",
        num(accepted),
        num(ready),
        bins.len(),
        num(peak_files)
    );
    chart_open(out, "files", "Files accepted and ready", &desc);
    let scale = axis(out, peak_files, &bins);
    // A short run's one or two bins stay bars, not walls.
    let slot = ((WIDTH - LEFT) / bins.len().max(1) as f64).min(80.0);
    for (i, b) in bins.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        bar(out, x + slot * 0.1, slot * 0.4, b.accepted, scale, ACCEPTED);
        bar(out, x + slot * 0.5, slot * 0.4, b.ready, scale, READY);
    }
    chart_close(out, &[(ACCEPTED, "accepted"), (READY, "ready")]);

    let peak_calls = bins.iter().map(|b| b.calls).max().unwrap_or(0).max(budget);
    let calls: u64 = bins.iter().map(|b| b.calls).sum();
    let desc = format!(
        "{} API calls against a budget of {} per {unit}; {} answered 429 (too many requests){}.",
        num(calls),
        num(budget),
        num(throttled),
        if throttled > 0 { ", marked in red" } else { "" }
    );
    chart_open(out, "calls", "API calls against the budget", &desc);
    let scale = axis(out, peak_calls, &bins);
    for (i, b) in bins.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        bar(out, x + slot * 0.15, slot * 0.7, b.calls, scale, CALLS);
        if b.throttled > 0 {
            let y = y_of(b.calls, scale) - 8.0;
            let _ = write!(
                out,
                "<path d=\"M{:.1} {:.1} l6 -10 l-12 0 z\" fill=\"{THROTTLED}\"><title>{} × 429</title></path>",
                x + slot * 0.5,
                y,
                num(b.throttled)
            );
        }
    }
    if budget > 0 {
        let y = y_of(budget, scale);
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" x2=\"{WIDTH}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{THROTTLED}\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">budget {}</text>",
            WIDTH - 4.0,
            y - 4.0,
            num(budget)
        );
    }
    chart_close(
        out,
        &[(CALLS, "calls"), (THROTTLED, "429 (▼) and budget (dashed)")],
    );
    out.push_str("</div>\n");
    data_table(out, &bins, width, budget);
    out.push_str("</section>\n");
}

fn chart_open(out: &mut String, id: &str, title: &str, desc: &str) {
    let _ = write!(
        out,
        "<figure><svg role=\"img\" aria-labelledby=\"{id}-title {id}-desc\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title id=\"{id}-title\">{title}</title><desc id=\"{id}-desc\">{}</desc>",
        esc(desc)
    );
}

fn chart_close(out: &mut String, legend: &[(&str, &str)]) {
    out.push_str("</svg><figcaption class=\"legend\">");
    for (color, label) in legend {
        let _ = write!(
            out,
            "<span><i class=\"sw\" style=\"background:{color}\"></i>{label}</span>"
        );
    }
    out.push_str("</figcaption></figure>\n");
}

/// Draws the axes; returns pixels per unit.
fn axis(out: &mut String, peak: u64, bins: &[Minute]) -> f64 {
    let top = (peak as f64 * 1.1).max(1.0);
    let plot = HEIGHT - BOTTOM - TOP;
    let bottom = HEIGHT - BOTTOM;
    let _ = write!(
        out,
        "<line x1=\"{LEFT}\" x2=\"{WIDTH}\" y1=\"{bottom}\" y2=\"{bottom}\" stroke=\"#57606a\"/>\
         <line x1=\"{LEFT}\" x2=\"{LEFT}\" y1=\"{TOP}\" y2=\"{bottom}\" stroke=\"#57606a\"/>\
         <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text><text x=\"{:.1}\" y=\"{bottom}\" text-anchor=\"end\">0</text>\
         <text x=\"{LEFT}\" y=\"{HEIGHT}\">start</text><text x=\"{WIDTH}\" y=\"{HEIGHT}\" text-anchor=\"end\">{} bins</text>",
        LEFT - 6.0,
        TOP + 10.0,
        num(top as u64),
        LEFT - 6.0,
        bins.len()
    );
    plot / top
}

fn y_of(value: u64, scale: f64) -> f64 {
    HEIGHT - BOTTOM - value as f64 * scale
}

fn bar(out: &mut String, x: f64, w: f64, value: u64, scale: f64, color: &str) {
    if value == 0 {
        return;
    }
    let h = value as f64 * scale;
    let _ = write!(
        out,
        "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{w:.1}\" height=\"{h:.1}\" fill=\"{color}\"/>",
        HEIGHT - BOTTOM - h
    );
}

fn data_table(out: &mut String, bins: &[Minute], width: usize, budget: u64) {
    let _ = write!(
        out,
        "<details open><summary>The timeline's data</summary>\n<table id=\"timeline\">\n<caption>Per {} minute(s): files and API calls (budget {} a bin)</caption>\n\
         <thead><tr><th scope=\"col\">from minute</th><th scope=\"col\" class=\"n\">accepted</th><th scope=\"col\" class=\"n\">ready</th><th scope=\"col\" class=\"n\">calls</th><th scope=\"col\" class=\"n\">429</th></tr></thead>\n<tbody>\n",
        width,
        num(budget)
    );
    for (i, b) in bins.iter().enumerate() {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th>{}{}{}{}</tr>",
            i * width,
            num_cell(b.accepted),
            num_cell(b.ready),
            num_cell(b.calls),
            num_cell(b.throttled)
        );
    }
    out.push_str("</tbody>\n</table>\n</details>\n");
}
