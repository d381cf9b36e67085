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

use super::{Outcome, UsageError};
use crate::api::client::{MediaClient, Secret, Target};
use crate::control::budget::{Budget, BudgetConfig};
use crate::journal::{Journal, RunLock};
use crate::manifest::{ColumnMap, Format, ManifestOptions};
use crate::pipeline::{self, RunConfig, SharedJournal, StopSignal};
use crate::report::{self, ManifestSummary, Summary, TargetSummary};
use crate::server::{LocalServer, ServerConfig};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The manifest: CSV, JSON array or JSON Lines (see manifests/README.md).
    pub manifest: PathBuf,
    /// Manifest format, when the extension doesn't tell.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Map a manifest field to another column name: FIELD=HEADER (repeatable).
    #[arg(long = "column", value_name = "FIELD=HEADER")]
    pub columns: Vec<String>,
    /// Wix API key (with --site-id). Without both, the embedded local Media Manager is used.
    #[arg(long, env = "WIX_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Wix site id (with --api-key).
    #[arg(long, env = "WIX_SITE_ID")]
    pub site_id: Option<String>,
    /// Base URL of the Wix API (or of a `media-migrate serve` instance).
    #[arg(long, default_value = "https://www.wixapis.com")]
    pub base_url: String,
    /// Data folder of the embedded local Media Manager.
    #[arg(long, default_value = ".media-manager")]
    pub local_dir: PathBuf,
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

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Csv,
    Json,
    Jsonl,
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
        let columns = ColumnMap::parse_all(&self.columns).map_err(|e| UsageError(e.to_string()))?;
        Ok(RunConfig {
            manifest: self.manifest.clone(),
            manifest_options: ManifestOptions {
                format: self.format.map(|f| match f {
                    FormatArg::Csv => Format::Csv,
                    FormatArg::Json => Format::Json,
                    FormatArg::Jsonl => Format::JsonLines,
                }),
                columns,
            },
            batch_size: self.batch_size,
            max_attempts: self.max_attempts,
            wait: !self.no_wait,
            wait_timeout: Duration::from_secs(self.wait_timeout_secs),
            resumable_threshold: self.resumable_threshold_mib.saturating_mul(1024 * 1024),
            import_concurrency: self.concurrency.div_ceil(2).max(1),
        })
    }
}

/// The target as the run sees it, and the embedded server when there is one.
pub(crate) struct Connected {
    pub(crate) target: Target,
    pub(crate) identity: String,
    pub(crate) embedded: Option<LocalServer>,
}

pub(crate) async fn connect(args: &RunArgs) -> anyhow::Result<Connected> {
    connect_to(
        args.api_key.as_deref(),
        args.site_id.as_deref(),
        &args.base_url,
        &args.local_dir,
    )
    .await
}

/// The Wix site the credentials name, or the embedded local Media Manager in `local_dir`
/// when there are none (shared by `run` and `reconcile`).
pub(crate) async fn connect_to(
    api_key: Option<&str>,
    site_id: Option<&str>,
    base_url: &str,
    local_dir: &Path,
) -> anyhow::Result<Connected> {
    match (api_key, site_id) {
        (Some(key), Some(site)) => Ok(Connected {
            identity: format!("{}#{site}", base_url.trim_end_matches('/')),
            target: Target {
                base_url: base_url.trim_end_matches('/').to_string(),
                api_key: Some(Secret::new(key)),
                site_id: Some(site.to_string()),
            },
            embedded: None,
        }),
        (None, None) => {
            let server = LocalServer::start(ServerConfig::new(local_dir), 0)
                .await
                .with_context(|| format!("starting the embedded local Media Manager in {}", local_dir.display()))?;
            let dir = std::fs::canonicalize(local_dir).unwrap_or_else(|_| local_dir.to_path_buf());
            Ok(Connected {
                identity: format!("local:{}", dir.display()),
                target: Target {
                    base_url: server.url.clone(),
                    api_key: None,
                    site_id: None,
                },
                embedded: Some(server),
            })
        }
        _ => Err(UsageError("give both --api-key and --site-id (or WIX_API_KEY and WIX_SITE_ID), or neither for the embedded local Media Manager".to_string()).into()),
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
    if !args.manifest.is_file() {
        return Err(UsageError(format!(
            "manifest {} does not exist or is not a file",
            args.manifest.display()
        ))
        .into());
    }
    let connected = connect(&args).await?;
    match &connected.embedded {
        Some(server) => println!(
            "target: embedded local Media Manager at {} (data in {})",
            server.url,
            args.local_dir.display()
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
        .unwrap_or_else(|| default_journal(&args.manifest, &connected.identity));
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
            path: args.manifest.display().to_string(),
            sha256: report::sha256_file(&args.manifest)
                .with_context(|| format!("hashing {}", args.manifest.display()))?,
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
