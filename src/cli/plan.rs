//! `media-migrate plan MANIFEST`: the dry-run audit. Turns the arguments into a
//! [`PlanConfig`], runs [`crate::plan::plan`] and prints one line naming the reports. No
//! Media Manager is contacted and no journal is written.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::args::{ManifestArgs, SourceArgs};
use super::{Ending, UsageError};
use crate::plan::{self, PlanConfig, ProbeConfig, PruneCheck};

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub input: ManifestArgs,
    /// Where plan.csv and plan.json are written.
    #[arg(long, default_value = "plan")]
    pub report_dir: PathBuf,
    /// Requests per minute `run` will spend, for the time estimate.
    #[arg(long, default_value_t = 180)]
    pub rate: u32,
    /// Files per Bulk Import call `run` will use, 1 to 100 (Wix's limit).
    #[arg(long, default_value_t = 100)]
    pub batch_size: u64,
    /// Also ask every URL source (HEAD, or a one-byte GET) whether it answers, its type and size.
    #[arg(long)]
    pub probe: bool,
    /// With --probe: requests in flight to one host.
    #[arg(long, default_value_t = 2)]
    pub probe_per_host: usize,
    /// With --probe: requests in flight in all.
    #[arg(long, default_value_t = 16)]
    pub probe_concurrency: usize,
    /// With --probe: time limit of one probe, in seconds.
    #[arg(long, default_value_t = 15)]
    pub probe_timeout_secs: u64,
    #[command(flatten)]
    pub sources: SourceArgs,
    /// Show what `run --prune` would move to the trash from --journal (prune.csv), and
    /// whether --max-prune would refuse it. Reads the journal only.
    #[arg(long, requires = "journal")]
    pub prune: bool,
    /// With --prune: the limit `run --prune` would apply, a percentage of the journal's files.
    #[arg(long, default_value = "5", value_parser = super::job::parse_percent)]
    pub max_prune: f64,
    /// The journal --prune looks at (a run names its journal in its summary.json).
    #[arg(long)]
    pub journal: Option<PathBuf>,
}

impl PlanArgs {
    fn to_config(&self) -> Result<PlanConfig, UsageError> {
        super::args::check_batch_size(self.batch_size)?;
        if self.rate == 0
            || self.probe_per_host == 0
            || self.probe_concurrency == 0
            || self.probe_timeout_secs == 0
        {
            return Err(UsageError(
                "--rate, --probe-per-host, --probe-concurrency and --probe-timeout-secs must be at least 1".to_string(),
            ));
        }
        Ok(PlanConfig {
            manifest: self.input.manifest.clone(),
            manifest_options: self.input.options()?,
            report_dir: self.report_dir.clone(),
            batch_size: self.batch_size,
            rate_per_minute: self.rate,
            probe: self.probe.then(|| ProbeConfig {
                per_host: self.probe_per_host,
                concurrency: self.probe_concurrency,
                timeout: Duration::from_secs(self.probe_timeout_secs),
            }),
            source_headers: self.sources.headers()?,
            prune: match (&self.journal, self.prune) {
                (Some(journal), true) => {
                    if !journal.is_file() {
                        return Err(UsageError(format!(
                            "--journal {}: no such journal",
                            journal.display()
                        )));
                    }
                    Some(PruneCheck {
                        journal: journal.clone(),
                        max_percent: self.max_prune,
                    })
                }
                _ => None,
            },
        })
    }
}

pub async fn execute(args: PlanArgs) -> anyhow::Result<Ending> {
    let config = args.to_config()?;
    let report = plan::plan(config).await?;
    let s = &report.summary;
    let probed = s
        .probe
        .as_ref()
        .map(|p| format!(", {} of {} probed sources failed", p.failed(), p.probed))
        .unwrap_or_default();
    let mut hosts: Vec<(&String, &u64)> = s.source_hosts.iter().collect();
    hosts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let top: Vec<String> = hosts
        .iter()
        .take(3)
        .map(|(h, n)| format!("{h} {n}"))
        .collect();
    let more = if hosts.len() > 3 { ", …" } else { "" };
    let sources = if hosts.is_empty() {
        String::new()
    } else {
        format!("; {} source hosts ({}{more})", hosts.len(), top.join(", "))
    };
    let local = s
        .local_files
        .as_ref()
        .map(|l| {
            format!(
                "; {} local files: about {} of budget through upload URLs, about {} with --stage or --serve-sources",
                l.files, l.upload_urls.time, l.serve_sources.time
            )
        })
        .unwrap_or_default();
    let pruning = s
        .prune
        .as_ref()
        .map(|p| {
            let verdict = if p.would_skip_for_invalid {
                " — run --prune would prune nothing while the manifest has invalid lines"
                    .to_string()
            } else if p.would_refuse {
                format!(
                    " — run --prune would refuse (over --max-prune {}%)",
                    p.max_percent
                )
            } else {
                String::new()
            };
            format!(
                "; --prune would trash {} of the journal's {} files{verdict} (prune.csv)",
                p.files, p.journal_files
            )
        })
        .unwrap_or_default();
    let steps = match s.api_calls.folders {
        0 => String::new(),
        n => format!(" ({n} of them reach folder paths longer than filePath's 100 characters)"),
    };
    println!(
        "plan: {} rows — {} valid, {} invalid, {} duplicate{}{probed}{sources}{pruning}{local}; {} folders, {} API calls{steps}, about {} at {}/min; reports {} and {}",
        s.counts.rows,
        s.counts.valid,
        s.counts.invalid,
        s.counts.duplicate,
        crate::report::format::skipped(s.counts.skipped),
        s.folders.len(),
        s.api_calls.total,
        s.estimated_time,
        s.rate_per_minute,
        report.csv.display(),
        report.json.display()
    );
    Ok(if s.clean() {
        Ending::Done
    } else {
        Ending::Partial
    })
}
