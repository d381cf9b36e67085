//! The fleet summary: one line per site of the shard (rows by status, calls, 429s, duration,
//! how it ended), written as `fleet-summary.json` and `fleet-summary.csv`, and the fleet's
//! exit status by the rules of `run`: 130 interrupted, else 1 if a site failed fatally, else
//! 3 if rows are not done at some site, else 0. A site another process holds (`busy`) is that
//! process's to report and changes nothing here.

use std::path::Path;

use serde::{Deserialize, Serialize};

/// How one site's migration ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteStatus {
    /// Every row done (a run's exit 0).
    Done,
    /// Finished with rows not done: failed, invalid, pending (exit 3).
    Partial,
    /// Could not run: a refused key, an unreachable target, a bad manifest (exit 1).
    Failed,
    /// Stopped by a signal, or never started because of one (exit 130).
    Interrupted,
    /// Another process holds the site's journal lock; skipped.
    Busy,
}

impl SiteStatus {
    pub fn name(self) -> &'static str {
        match self {
            SiteStatus::Done => "done",
            SiteStatus::Partial => "partial",
            SiteStatus::Failed => "failed",
            SiteStatus::Interrupted => "interrupted",
            SiteStatus::Busy => "busy",
        }
    }

    /// The exit code a `run` of this site alone would have had (`busy`: none, 0).
    pub fn exit_code(self) -> u8 {
        match self {
            SiteStatus::Done | SiteStatus::Busy => 0,
            SiteStatus::Partial => 3,
            SiteStatus::Failed => 1,
            SiteStatus::Interrupted => 130,
        }
    }
}

/// What a site's run counted, from its `summary.json` (absent when it didn't get that far).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteOutcome {
    pub ready: u64,
    pub pending: u64,
    pub failed: u64,
    pub invalid: u64,
    pub duplicate: u64,
    pub skipped: u64,
    pub api_calls: u64,
    pub throttled: u64,
}

/// One site's line of the fleet summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SiteReport {
    pub site_id: String,
    pub status: SiteStatus,
    pub exit_code: u8,
    /// Rows by status, calls and 429s; `None` when the site never ran to its report.
    pub outcome: Option<SiteOutcome>,
    pub duration_secs: f64,
    /// The site's report folder.
    pub report_dir: String,
    pub journal: String,
    /// Why it failed, or who holds it when busy (never a key).
    pub error: Option<String>,
}

/// `fleet-summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetSummary {
    pub schema_version: u32,
    /// `I/N`.
    pub shard: String,
    /// Sites in the sites file, and those of this shard.
    pub sites_total: u64,
    pub sites_in_shard: u64,
    pub exit_code: u8,
    pub started_at: String,
    pub duration_secs: f64,
    pub sites: Vec<SiteReport>,
}

pub const FLEET_SUMMARY_SCHEMA_VERSION: u32 = 1;

/// The fleet's exit code from its sites', by `run`'s rules.
pub fn fleet_exit_code(sites: &[SiteReport], interrupted: bool) -> u8 {
    let any = |s: SiteStatus| sites.iter().any(|r| r.status == s);
    if interrupted || any(SiteStatus::Interrupted) {
        130
    } else if any(SiteStatus::Failed) {
        1
    } else if any(SiteStatus::Partial) {
        3
    } else {
        0
    }
}

const CSV_HEADER: [&str; 15] = [
    "site_id",
    "status",
    "exit_code",
    "ready",
    "pending",
    "failed",
    "invalid",
    "duplicate",
    "skipped",
    "api_calls",
    "throttled",
    "duration_secs",
    "report_dir",
    "journal",
    "error",
];

/// Writes `fleet-summary{suffix}.json` and `.csv` into `dir`, each atomically (a temporary
/// file renamed), so a reader never sees half a summary.
pub fn write_fleet_summary(
    dir: &Path,
    suffix: &str,
    summary: &FleetSummary,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_vec_pretty(summary).map_err(std::io::Error::other)?;
    write_atomically(&dir.join(format!("fleet-summary{suffix}.json")), &json)?;
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(CSV_HEADER)
        .map_err(std::io::Error::other)?;
    for site in &summary.sites {
        let o = site.outcome.clone().unwrap_or_default();
        let n = |v: u64| {
            if site.outcome.is_some() {
                v.to_string()
            } else {
                String::new()
            }
        };
        csv.write_record([
            site.site_id.clone(),
            site.status.name().to_string(),
            site.exit_code.to_string(),
            n(o.ready),
            n(o.pending),
            n(o.failed),
            n(o.invalid),
            n(o.duplicate),
            n(o.skipped),
            n(o.api_calls),
            n(o.throttled),
            format!("{:.3}", site.duration_secs),
            site.report_dir.clone(),
            site.journal.clone(),
            site.error.clone().unwrap_or_default(),
        ])
        .map_err(std::io::Error::other)?;
    }
    let bytes = csv
        .into_inner()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    write_atomically(&dir.join(format!("fleet-summary{suffix}.csv")), &bytes)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(status: SiteStatus) -> SiteReport {
        SiteReport {
            site_id: "s".into(),
            status,
            exit_code: status.exit_code(),
            outcome: None,
            duration_secs: 0.0,
            report_dir: String::new(),
            journal: String::new(),
            error: None,
        }
    }

    /// The fleet's exit code follows `run`'s: interrupted over fatal over partial; busy
    /// sites are another process's to report.
    #[test]
    fn fleet_exit_codes() {
        use SiteStatus::*;
        let code = |s: &[SiteStatus], i| {
            fleet_exit_code(&s.iter().map(|&s| site(s)).collect::<Vec<_>>(), i)
        };
        assert_eq!(code(&[Done, Busy], false), 0);
        assert_eq!(code(&[Done, Partial], false), 3);
        assert_eq!(code(&[Partial, Failed, Done], false), 1);
        assert_eq!(code(&[Failed, Interrupted], false), 130);
        assert_eq!(code(&[Done], true), 130);
        assert_eq!(code(&[], false), 0);
    }
}
