//! A run's metrics for the monitoring a scheduler already has: Prometheus text exposition
//! (`# HELP`/`# TYPE`, escaped label values) rendered from the run's [`Summary`], written
//! atomically for node_exporter's textfile collector ([`write_file`]) or pushed to a
//! Pushgateway ([`push`]). What goes in is what `summary.json` says, plus the bytes uploaded and
//! the exit status; no secret is in any of it. Deciding when to publish is the CLI's.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use crate::report::Summary;

pub mod push;

pub use self::push::{PushError, push};

/// Every metric's name starts with this.
pub const PREFIX: &str = "media_migrate";

/// The name of the one metric a failed run leaves as it was.
pub const LAST_SUCCESS: &str = "media_migrate_last_success_timestamp_seconds";

/// What a run's metrics say, taken from its summary and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunMetrics {
    /// Manifest lines by status, in the reconciliation's order.
    pub rows: Vec<(&'static str, u64)>,
    /// API calls by endpoint.
    pub api_calls: Vec<(String, u64)>,
    pub throttled: u64,
    pub retries: u64,
    pub uploaded_bytes: u64,
    pub duration_secs: f64,
    /// The process's exit code: 0 every row done, 3 some not, 130 interrupted.
    pub exit_status: u8,
    /// When the run ended, in seconds since the Unix epoch.
    pub finished_at_secs: f64,
    /// Every row done (exit 0): only then is the last-success time moved.
    pub success: bool,
}

impl RunMetrics {
    /// The metrics of a run whose reports were written: `summary` as `summary.json` has it.
    pub fn from_summary(summary: &Summary, uploaded_bytes: u64, exit_status: u8) -> Self {
        let c = &summary.counts;
        let finished_at_secs = summary
            .finished_at
            .parse::<jiff::Timestamp>()
            .unwrap_or_else(|_| jiff::Timestamp::now());
        Self {
            rows: c.by_status(),
            api_calls: summary
                .api_calls
                .iter()
                .map(|(k, v)| (k.clone(), *v))
                .collect(),
            throttled: summary.throttled,
            retries: summary.retries,
            uploaded_bytes,
            duration_secs: summary.duration_secs,
            exit_status,
            finished_at_secs: finished_at_secs.as_millisecond() as f64 / 1000.0,
            success: exit_status == 0,
        }
    }

    /// The last-success time to publish: this run's end when it succeeded, else `previous`
    /// (what the file or gateway held), else none.
    pub fn last_success(&self, previous: Option<f64>) -> Option<f64> {
        if self.success {
            Some(self.finished_at_secs)
        } else {
            previous
        }
    }
}

/// The text exposition of `metrics`, every sample carrying `labels` (for a file: `job` and
/// `instance`; for a push, none: the gateway adds its grouping key's). `last_success` is
/// written when there is one.
pub fn render(metrics: &RunMetrics, labels: &[(&str, &str)], last_success: Option<f64>) -> String {
    let mut out = Exposition {
        text: String::new(),
        labels,
    };
    out.family(
        "rows",
        "gauge",
        "Manifest lines of the last run by status (as in its reconciliation report).",
    );
    for (status, n) in &metrics.rows {
        out.sample("rows", &[("status", status)], *n as f64);
    }
    out.family(
        "api_calls_total",
        "counter",
        "Media Manager API calls the last run made, by endpoint.",
    );
    for (endpoint, n) in &metrics.api_calls {
        out.sample("api_calls_total", &[("endpoint", endpoint)], *n as f64);
    }
    let single: [(&str, &str, &str, f64); 6] = [
        (
            "api_throttled_total",
            "counter",
            "API calls the last run had answered 429 (throttled).",
            metrics.throttled as f64,
        ),
        (
            "api_retries_total",
            "counter",
            "API calls the last run sent again.",
            metrics.retries as f64,
        ),
        (
            "uploaded_bytes_total",
            "counter",
            "Bytes of local files the target took during the last run.",
            metrics.uploaded_bytes as f64,
        ),
        (
            "run_duration_seconds",
            "gauge",
            "How long the last run took.",
            metrics.duration_secs,
        ),
        (
            "exit_status",
            "gauge",
            "The last run's exit code: 0 every row done, 3 some rows not done, 130 interrupted.",
            f64::from(metrics.exit_status),
        ),
        (
            "last_run_timestamp_seconds",
            "gauge",
            "When the last run ended, in seconds since the Unix epoch.",
            metrics.finished_at_secs,
        ),
    ];
    for (name, kind, help, value) in single {
        out.family(name, kind, help);
        out.sample(name, &[], value);
    }
    if let Some(at) = last_success {
        let name = &LAST_SUCCESS[PREFIX.len() + 1..];
        out.family(
            name,
            "gauge",
            "When a run last ended with every row done, in seconds since the Unix epoch.",
        );
        out.sample(name, &[], at);
    }
    out.text
}

/// Text being rendered, with the labels every sample carries.
struct Exposition<'a> {
    text: String,
    labels: &'a [(&'a str, &'a str)],
}

impl Exposition<'_> {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {PREFIX}_{name} {}", escape_help(help));
        let _ = writeln!(self.text, "# TYPE {PREFIX}_{name} {kind}");
    }

    fn sample(&mut self, name: &str, own: &[(&str, &str)], value: f64) {
        let _ = write!(self.text, "{PREFIX}_{name}");
        let mut first = true;
        for (label, v) in self.labels.iter().chain(own) {
            let sep = if first { '{' } else { ',' };
            first = false;
            let _ = write!(self.text, "{sep}{label}=\"{}\"", escape_label_value(v));
        }
        if !first {
            self.text.push('}');
        }
        let _ = writeln!(self.text, " {}", format_value(value));
    }
}

/// A label value as the text format wants it: `\`, `"` and line feeds escaped.
pub fn escape_label_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for ch in value.chars() {
        match ch {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            _ => out.push(ch),
        }
    }
    out
}

/// HELP text as the text format wants it: `\` and line feeds escaped (quotes are not).
pub fn escape_help(text: &str) -> String {
    text.replace('\\', "\\\\").replace('\n', "\\n")
}

/// A sample value: the shortest text that reads back as the same float (so a value equals
/// its `summary.json` figure exactly), with the format's spellings of the special values.
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".to_string()
    } else if value == f64::INFINITY {
        "+Inf".to_string()
    } else if value == f64::NEG_INFINITY {
        "-Inf".to_string()
    } else {
        format!("{value}")
    }
}

/// The value of `metric` (any labels) in an exposition text, when there is a sample of it.
pub fn read_value(text: &str, metric: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(metric)?;
        let rest = match rest.chars().next()? {
            ' ' => rest,
            // Labels: the value follows the last closing brace (a value holds none).
            '{' => &rest[rest.rfind('}')? + 1..],
            _ => return None,
        };
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// The last-success time a metrics file already holds (none when there is no file or no
/// such sample).
pub fn previous_last_success(path: &Path) -> Option<f64> {
    let text = std::fs::read_to_string(path).ok()?;
    read_value(&text, LAST_SUCCESS)
}

/// Writes `text` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, then renamed over `path` — a collector reading at any instant sees the old file or
/// the new one, never half of one. Readable by all (0644: node_exporter runs as another user,
/// and nothing in it is secret).
pub fn write_file(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")
    })?;
    // A name the textfile collector ignores (it reads only `*.prom`) while it is written.
    let temp = dir.join(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    ));
    let written = (|| {
        let mut file = std::fs::File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&temp)?;
        file.write_all(text.as_bytes())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        }
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests;
