//! `report.html`: the account of a run, plan or reconciliation that people read — one
//! self-contained, printable page (inline CSS and SVG, no script, nothing fetched). It shows
//! aggregates only (totals, a per-minute timeline, the commonest failure reasons and folders,
//! each with a few examples), so a million-row run makes a page of the same size as a small
//! one. Every string from the manifest or the target is escaped. The numbers are the ones the
//! JSON summary gives; the callers fill a [`Page`] from the same counts.

mod chart;

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;
use std::path::{Path, PathBuf};

use super::csv_out::OutputError;

pub use self::chart::{Minute, Timeline};

pub const FILE_NAME: &str = "report.html";
/// Examples kept per failure reason.
pub const MAX_EXAMPLES: usize = 3;
/// Failure reasons and folders shown (the ones with most lines).
const MAX_REASONS: usize = 40;
const MAX_FOLDERS: usize = 50;
/// Characters of an example's source or detail shown.
const MAX_TEXT: usize = 200;

/// What the page shows; the caller fills it from the counts its JSON summary gives.
pub struct Page {
    /// "Run", "Plan" or "Reconciliation".
    pub kind: &'static str,
    /// Label → value: target, manifest, duration…
    pub facts: Vec<(&'static str, String)>,
    /// Lines by status, in the order shown.
    pub totals: Vec<(&'static str, u64)>,
    /// Counted beside the totals (adopted, updated, extra…), not part of the sum.
    pub notes: Vec<(&'static str, u64)>,
    pub timeline: Option<Timeline>,
    /// API calls by endpoint.
    pub calls: Vec<(String, u64)>,
    /// What "reason" means on this page ("Failure reasons", "Why rows are not present"…).
    pub reasons_title: &'static str,
    /// The hint shown beside a reason code.
    pub hint: fn(&str) -> Cow<'static, str>,
    pub aggregates: Aggregates,
}

/// A line shown as an example of a reason.
#[derive(Debug, Clone)]
pub struct Example {
    pub line: u64,
    pub source: String,
    pub detail: String,
}

#[derive(Debug, Default)]
struct ReasonTally {
    count: u64,
    examples: Vec<Example>,
}

#[derive(Debug, Default, Clone, Copy)]
struct FolderTally {
    rows: u64,
    ok: u64,
}

/// Reasons and folders, tallied line by line as a report streams past: memory grows with the
/// number of distinct codes and folders, never with the lines.
#[derive(Debug, Default)]
pub struct Aggregates {
    reasons: BTreeMap<String, ReasonTally>,
    folders: HashMap<String, FolderTally>,
}

impl Aggregates {
    /// Counts one line under `code`; keeps it as an example while the code has fewer than
    /// [`MAX_EXAMPLES`] (`example` is only called then).
    pub fn reason(&mut self, code: &str, example: impl FnOnce() -> Example) {
        let tally = match self.reasons.get_mut(code) {
            Some(t) => t,
            None => self.reasons.entry(code.to_string()).or_default(),
        };
        tally.count += 1;
        if tally.examples.len() < MAX_EXAMPLES {
            tally.examples.push(example());
        }
    }

    /// Counts one line in `folder`; `ok` when it is done as wanted.
    pub fn folder(&mut self, folder: &str, ok: bool) {
        let tally = match self.folders.get_mut(folder) {
            Some(t) => t,
            None => self.folders.entry(folder.to_string()).or_default(),
        };
        tally.rows += 1;
        tally.ok += u64::from(ok);
    }

    /// Lines counted under `code`.
    pub fn reason_count(&self, code: &str) -> u64 {
        self.reasons.get(code).map_or(0, |t| t.count)
    }
}

/// Text escaped for an element's content or a double-quoted attribute.
pub(crate) fn esc(s: &str) -> Cow<'_, str> {
    html_escape::encode_double_quoted_attribute(s)
}

/// `n` with thousands separators.
pub(crate) fn num(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn clip(s: &str) -> Cow<'_, str> {
    match s.char_indices().nth(MAX_TEXT) {
        Some((at, _)) => format!("{}…", &s[..at]).into(),
        None => s.into(),
    }
}

/// A number cell: readable text, the exact value in `data-value`.
fn num_cell(n: u64) -> String {
    format!("<td class=\"n\" data-value=\"{n}\">{}</td>", num(n))
}

const STYLE: &str = "
:root{color-scheme:light;--ink:#1b1f24;--muted:#57606a;--line:#d0d7de;--ok:#1a7f37;--bad:#cf222e;--acc:#0969da;--warn:#9a6700}
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:var(--ink);margin:0;background:#fff}
main{max-width:1100px;margin:0 auto;padding:24px}
h1{font-size:1.6em;margin:0 0 4px}h2{font-size:1.2em;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px}caption{text-align:left;font-weight:600;padding:4px 0;color:var(--muted)}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tfoot th,tfoot td{font-weight:700;border-top:2px solid var(--ink)}
ul.ex{margin:0;padding-left:18px;font-size:.9em;color:var(--muted)}code{font-size:.92em;word-break:break-all}th code{word-break:normal;white-space:nowrap}
figure{margin:8px 0 16px}figcaption{color:var(--muted);font-size:.9em}
svg{width:100%;height:auto}svg text{font:13px system-ui,sans-serif;fill:var(--muted)}
.two{display:grid;grid-template-columns:1fr 1fr;gap:8px 32px;align-items:start}
table#facts th{width:11em}
.legend span{display:inline-block;margin-right:16px}.sw{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
details summary{color:var(--acc)}
@media print{body{font-size:10pt}main{padding:0}h2,figure,tr{break-inside:avoid}}
";

/// The page as HTML.
pub fn render(page: &Page) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let title = format!("media-migrate — {} report", page.kind.to_lowercase());
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
        esc(&title),
        esc(&title)
    );
    facts(&mut out, page);
    totals(&mut out, page);
    if let Some(timeline) = &page.timeline {
        chart::timeline(&mut out, timeline);
    }
    reasons(&mut out, page);
    folders(&mut out, page);
    let _ = write!(
        out,
        "<footer><p>Written by media-migrate {}. Aggregates only: every line is in the CSV reports beside this file.</p></footer>\n</main>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    );
    out
}

/// Writes `report.html` into `dir`.
pub fn write(dir: &Path, page: &Page) -> Result<PathBuf, OutputError> {
    let path = dir.join(FILE_NAME);
    crate::create_private_file(&path)
        .and_then(|mut file| std::io::Write::write_all(&mut file, render(page).as_bytes()))
        .map_err(|source| OutputError::Io {
            path: path.clone(),
            source,
        })?;
    Ok(path)
}

fn facts(out: &mut String, page: &Page) {
    out.push_str("<section aria-labelledby=\"h-facts\">\n<h2 id=\"h-facts\">Overview</h2>\n<div class=\"two\">\n<table id=\"facts\">\n<caption>What was checked, where, and when</caption>\n<tbody>\n");
    for (label, value) in &page.facts {
        let _ = writeln!(
            out,
            "<tr data-key=\"{}\"><th scope=\"row\">{}</th><td>{}</td></tr>",
            esc(label),
            esc(label),
            esc(value)
        );
    }
    out.push_str("</tbody>\n</table>\n<div>\n");
    calls(out, page);
    out.push_str("</div>\n</div>\n</section>\n");
}

fn totals(out: &mut String, page: &Page) {
    let sum: u64 = page.totals.iter().map(|(_, n)| n).sum();
    out.push_str(
        "<section aria-labelledby=\"h-totals\">\n<h2 id=\"h-totals\">Totals by status</h2>\n",
    );
    out.push_str("<div class=\"two\">\n<div>\n");
    chart::totals(out, &page.totals, sum);
    out.push_str("</div>\n<div>\n<table id=\"totals\">\n<caption>Manifest lines by status</caption>\n<thead><tr><th scope=\"col\">status</th><th scope=\"col\" class=\"n\">lines</th><th scope=\"col\" class=\"n\">share</th></tr></thead>\n<tbody>\n");
    for (status, n) in &page.totals {
        let share = if sum == 0 {
            0.0
        } else {
            *n as f64 * 100.0 / sum as f64
        };
        let _ = writeln!(
            out,
            "<tr data-key=\"{status}\"><th scope=\"row\">{status}</th>{}<td class=\"n\">{share:.1}%</td></tr>",
            num_cell(*n)
        );
    }
    let _ = write!(
        out,
        "</tbody>\n<tfoot><tr data-key=\"total\"><th scope=\"row\">total</th>{}<td class=\"n\">100%</td></tr></tfoot>\n</table>\n",
        num_cell(sum)
    );
    if !page.notes.is_empty() {
        out.push_str("<table id=\"notes\">\n<caption>Counted besides</caption>\n<tbody>\n");
        for (label, n) in &page.notes {
            let _ = writeln!(
                out,
                "<tr data-key=\"{label}\"><th scope=\"row\">{label}</th>{}</tr>",
                num_cell(*n)
            );
        }
        out.push_str("</tbody>\n</table>\n");
    }
    out.push_str("</div>\n</div>\n</section>\n");
}

fn calls(out: &mut String, page: &Page) {
    if page.calls.is_empty() {
        return;
    }
    let total: u64 = page.calls.iter().map(|(_, n)| n).sum();
    out.push_str("<table id=\"calls\">\n<caption>Calls to the Media Manager by endpoint</caption>\n<thead><tr><th scope=\"col\">endpoint</th><th scope=\"col\" class=\"n\">calls</th></tr></thead>\n<tbody>\n");
    for (endpoint, n) in &page.calls {
        let _ = writeln!(
            out,
            "<tr data-key=\"{}\"><th scope=\"row\">{}</th>{}</tr>",
            esc(endpoint),
            esc(endpoint),
            num_cell(*n)
        );
    }
    let _ = write!(
        out,
        "</tbody>\n<tfoot><tr data-key=\"total\"><th scope=\"row\">total</th>{}</tr></tfoot>\n</table>\n",
        num_cell(total)
    );
}

fn reasons(out: &mut String, page: &Page) {
    let _ = write!(
        out,
        "<section aria-labelledby=\"h-reasons\">\n<h2 id=\"h-reasons\">{}</h2>\n",
        esc(page.reasons_title)
    );
    let reasons = &page.aggregates.reasons;
    if reasons.is_empty() {
        out.push_str("<p id=\"no-reasons\">None: no line needs attention.</p>\n</section>\n");
        return;
    }
    let mut ranked: Vec<(&String, &ReasonTally)> = reasons.iter().collect();
    ranked.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(b.0)));
    let _ = write!(
        out,
        "<table id=\"reasons\">\n<caption>{} by code, the commonest first, with up to {MAX_EXAMPLES} example lines each</caption>\n<thead><tr><th scope=\"col\">code</th><th scope=\"col\" class=\"n\">lines</th><th scope=\"col\">what to do</th><th scope=\"col\">examples</th></tr></thead>\n<tbody>\n",
        esc(page.reasons_title)
    );
    for (code, tally) in ranked.iter().take(MAX_REASONS) {
        let shown = if code.is_empty() { "(no code)" } else { code };
        let _ = write!(
            out,
            "<tr data-key=\"{}\"><th scope=\"row\"><code>{}</code></th>{}<td>{}</td><td><ul class=\"ex\">",
            esc(code),
            esc(shown),
            num_cell(tally.count),
            esc(&(page.hint)(code))
        );
        for ex in &tally.examples {
            let _ = write!(
                out,
                "<li>line {}: <code>{}</code>{}{}</li>",
                ex.line,
                esc(&clip(&ex.source)),
                if ex.detail.is_empty() { "" } else { " — " },
                esc(&clip(&ex.detail))
            );
        }
        out.push_str("</ul></td></tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    if ranked.len() > MAX_REASONS {
        let rest: u64 = ranked[MAX_REASONS..].iter().map(|(_, t)| t.count).sum();
        let _ = writeln!(
            out,
            "<p>And {} more codes ({} lines): see the CSV reports.</p>",
            num((ranked.len() - MAX_REASONS) as u64),
            num(rest)
        );
    }
    out.push_str("</section>\n");
}

fn folders(out: &mut String, page: &Page) {
    let folders = &page.aggregates.folders;
    if folders.is_empty() {
        return;
    }
    let mut ranked: Vec<(&String, &FolderTally)> = folders.iter().collect();
    ranked.sort_by(|a, b| b.1.rows.cmp(&a.1.rows).then(a.0.cmp(b.0)));
    let shown = ranked.len().min(MAX_FOLDERS);
    let _ = write!(
        out,
        "<section aria-labelledby=\"h-folders\">\n<h2 id=\"h-folders\">Folders</h2>\n<table id=\"folders\">\n<caption>{} of {} folders, those with most lines first</caption>\n<thead><tr><th scope=\"col\">folder</th><th scope=\"col\" class=\"n\">lines</th><th scope=\"col\" class=\"n\">done</th><th scope=\"col\" class=\"n\">not done</th></tr></thead>\n<tbody>\n",
        num(shown as u64),
        num(ranked.len() as u64)
    );
    for (path, tally) in &ranked[..shown] {
        let shown_path = if path.is_empty() { "/" } else { path };
        let _ = writeln!(
            out,
            "<tr data-key=\"{}\"><th scope=\"row\"><code>{}</code></th>{}{}{}</tr>",
            esc(path),
            esc(shown_path),
            num_cell(tally.rows),
            num_cell(tally.ok),
            num_cell(tally.rows - tally.ok)
        );
    }
    out.push_str("</tbody>\n</table>\n</section>\n");
}

#[cfg(test)]
mod tests;
