//! `media-migrate run MANIFEST`: the migration. Sets up the target (a Wix site, or the
//! embedded local Media Manager when no credentials are given), the journal and its lock, the
//! request budget and the client; runs the pipeline; writes the reports; maps the result to an
//! outcome.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use sha2::Digest;

use super::args::{ManifestArgs, TargetArgs};
use super::{Outcome, UsageError};
use crate::api::client::MediaClient;
use crate::control::budget::{Budget, BudgetConfig};
use crate::journal::{Journal, RunLock};
use crate::pipeline::{self, RunConfig, SharedJournal, StopSignal};
use crate::report::{self, ManifestSummary, Summary, TargetSummary};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: ManifestArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where the reports are written.
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
    /// The journal (default: .media-migrate/journals/<manifest>-<hash of manifest and target>.sqlite).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Requests per minute to spend (Wix allows about 200 per site).
    #[arg(long, default_value_t = 180)]
    pub rate: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Files per Bulk Import call (at most 100 on Wix).
    #[arg(long, default_value_t = 100)]
    pub batch_size: usize,
    /// Attempts per row before it is reported failed.
    #[arg(long, default_value_t = 10)]
    pub max_attempts: u32,
    /// Stop once files are accepted, without waiting for processing.
    #[arg(long)]
    pub no_wait: bool,
    /// Give up waiting for processing after this many seconds.
    #[arg(long, default_value_t = 1800)]
    pub wait_timeout_secs: u64,
    /// Time limit of one API request, in seconds.
    #[arg(long, default_value_t = 60)]
    pub request_timeout_secs: u64,
    /// Local files of at least this many MiB use resumable (tus) uploads.
    #[arg(long, default_value_t = 10)]
    pub resumable_threshold_mib: u64,
}

impl RunArgs {
    fn to_config(&self) -> Result<RunConfig, UsageError> {
        if self.batch_size == 0 || self.batch_size > 1000 {
            return Err(UsageError(
                "--batch-size must be between 1 and 1000".to_string(),
            ));
        }
        if self.rate == 0 || self.concurrency == 0 || self.max_attempts == 0 {
            return Err(UsageError(
                "--rate, --concurrency and --max-attempts must be at least 1".to_string(),
            ));
        }
        Ok(RunConfig {
            manifest: self.input.manifest.clone(),
            manifest_options: self.input.options()?,
            batch_size: self.batch_size,
            max_attempts: self.max_attempts,
            wait: !self.no_wait,
            wait_timeout: Duration::from_secs(self.wait_timeout_secs),
            resumable_threshold: self.resumable_threshold_mib.saturating_mul(1024 * 1024),
            import_concurrency: self.concurrency.div_ceil(2).max(1),
        })
    }
}

/// `.media-migrate/journals/<stem>-<12 hex of sha256(manifest path, target)>.sqlite`.
pub fn default_journal(manifest: &Path, target_identity: &str) -> PathBuf {
    let absolute = std::fs::canonicalize(manifest).unwrap_or_else(|_| manifest.to_path_buf());
    let digest =
        sha2::Sha256::digest(format!("{}\n{target_identity}", absolute.display()).as_bytes());
    let stem = manifest
        .file_stem()
        .map_or("manifest".into(), |s| s.to_string_lossy());
    PathBuf::from(".media-migrate")
        .join("journals")
        .join(format!("{stem}-{}.sqlite", &hex::encode(digest)[..12]))
}

pub async fn run(args: RunArgs, stop: StopSignal, quiet: bool) -> anyhow::Result<Outcome> {
    let config = args.to_config()?;
    let connected = args.target.connect().await?;
    match &connected.embedded {
        Some(server) => println!(
            "target: embedded local Media Manager at {} (data in {})",
            server.url,
            args.target.local_dir.display()
        ),
        None => println!(
            "target: {} site {}",
            connected.target.base_url,
            connected.target.site_id.as_deref().unwrap_or("")
        ),
    }
    let journal_path = args
        .journal
        .clone()
        .unwrap_or_else(|| default_journal(&args.input.manifest, &connected.identity));
    let _lock = RunLock::acquire(&journal_path)?;
    let journal = Journal::open(&journal_path)?;
    journal.bind_target(&connected.identity)?;
    let budget = Arc::new(Budget::new(BudgetConfig {
        per_minute: args.rate,
        concurrency: args.concurrency,
        ..BudgetConfig::default()
    }));
    let client = MediaClient::new(
        connected.target.clone(),
        budget,
        Duration::from_secs(args.request_timeout_secs),
    )
    .context("building the HTTP client")?;
    let shared = SharedJournal::new(journal);
    let started = jiff::Timestamp::now();
    let clock = std::time::Instant::now();
    let progress = |msg: &str| {
        if !quiet {
            eprintln!("media-migrate: {msg}");
        }
    };
    let ticker = super::progress::spawn(shared.clone(), client.clone(), quiet);
    let result = pipeline::run(config, client.clone(), shared.clone(), stop, &progress).await;
    ticker.finish();
    let result = result?;
    let elapsed = clock.elapsed();
    let report_dir = args.report_dir.clone();
    let run = result.run;
    let counts = shared
        .with(move |j| {
            report::write_csv_reports(j, run, &report_dir).map_err(|e| match e {
                report::ReportError::Journal(j) => j,
                other => crate::journal::JournalError::Report(other.to_string()),
            })
        })
        .await?;
    let calls = client.counters().snapshot();
    let summary = Summary {
        schema_version: report::SUMMARY_SCHEMA_VERSION,
        manifest: ManifestSummary {
            path: args.input.manifest.display().to_string(),
            sha256: report::sha256_file(&args.input.manifest)
                .with_context(|| format!("hashing {}", args.input.manifest.display()))?,
            rows: result.ingest.rows,
        },
        target: TargetSummary {
            base_url: connected.target.base_url.clone(),
            site_id: connected.target.site_id.clone(),
            embedded: connected.embedded.is_some(),
        },
        journal: journal_path.display().to_string(),
        run,
        api_calls_total: calls.calls.values().sum(),
        api_calls: calls
            .calls
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect(),
        throttled: calls.throttled,
        retries: calls.retries,
        settled_in_doubt: result.settled,
        started_at: started.to_string(),
        finished_at: jiff::Timestamp::now().to_string(),
        duration_secs: elapsed.as_secs_f64(),
        files_per_minute: counts.ready as f64 / elapsed.as_secs_f64().max(1e-3) * 60.0,
        interrupted: result.interrupted,
        wait_timed_out: result.wait_timed_out,
        ingest: result.ingest.clone(),
        counts: counts.clone(),
    };
    report::write_summary(&args.report_dir, &summary)?;
    println!(
        "done: {} rows — {} ready, {} pending, {} failed, {} invalid, {} duplicate; {} API calls; reports in {}",
        counts.total(),
        counts.ready,
        counts.pending,
        counts.failed,
        counts.invalid,
        counts.duplicate,
        summary.api_calls_total,
        args.report_dir.display()
    );
    if let Some(server) = connected.embedded {
        server
            .stop()
            .await
            .context("stopping the embedded local Media Manager")?;
    }
    Ok(if result.interrupted {
        Outcome::Interrupted
    } else if counts.failed > 0 || counts.invalid > 0 || (counts.pending > 0 && !args.no_wait) {
        Outcome::Partial
    } else {
        Outcome::Done
    })
}
