//! `media-migrate run MANIFEST`: the migration. Sets up the target (a Wix site, or the
//! embedded local Media Manager when no credentials are given), the journal and its lock, the
//! request budget and the client; runs the pipeline; writes the reports; maps the result to an
//! outcome.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use sha2::Digest;

use super::args::{ClientArgs, ClientConfig, Connected, ManifestArgs, SourceArgs};
use super::metrics::{MetricsArgs, MetricsConfig};
use super::serving::ServeSourcesArgs;
use super::staging::StageArgs;
use super::{Ending, UsageError};
use crate::journal::{Journal, RunLock};
use crate::pipeline::{self, RunConfig, SharedJournal, StopSignal};
use crate::report::{self, ManifestSummary, RunFacts, Summary};

#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub input: ManifestArgs,
    #[command(flatten)]
    pub client: ClientArgs,
    #[command(flatten)]
    pub sources: SourceArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub serving: ServeSourcesArgs,
    #[command(flatten)]
    // Boxed: its credentials would make `Command::Run` far larger than the other commands.
    pub staging: Box<StageArgs>,
    /// Where the reports are written.
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
    /// The journal (default: one per target site — $XDG_DATA_HOME/media-migrate/journals/<hash of
    /// the site>.sqlite, or <local-dir>.journal.sqlite for the embedded local Media Manager).
    #[arg(long)]
    pub journal: Option<PathBuf>,
    /// Files per Bulk Import call, 1 to 100 (Wix's limit).
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
    /// Give rows that ended failed in earlier runs of this journal a fresh set of attempts
    /// (after fixing their sources); their FAILED files go to the trash first.
    #[arg(long)]
    pub retry_failed: bool,
    /// Leave FAILED files in place when their rows are imported again (by --retry-failed, or
    /// after a failure that can heal) instead of moving them to the trash.
    #[arg(long)]
    pub keep_failed_files: bool,
    /// Imports of a row whose file FAILED for a reason that can heal (its source throttled,
    /// failed or did not answer, or processing failed on a healthy source), the first
    /// included; 1 imports once.
    #[arg(long, default_value_t = 3)]
    pub max_processing_attempts: u32,
    /// Files one source host may have in fetch by the target at once (accepted, not yet READY
    /// or FAILED). Default: adapted per host — no cap until the host shows trouble (more of its
    /// files FAILED than flaky links explain), then at most one batch, halved while it fails.
    #[arg(long, value_name = "N")]
    pub source_host_limit: Option<usize>,
    /// Local files of at least this many MiB use resumable (tus) uploads.
    #[arg(long, default_value_t = 10)]
    pub resumable_threshold_mib: u64,
    /// Import rows new to the journal without first looking for them at the target (by
    /// default a file already there with the same source and name is adopted instead).
    #[arg(long)]
    pub no_adopt: bool,
    /// When a row changed under its external_id (source, folder or name), also move the file
    /// it replaces to the trash once the new one is READY.
    #[arg(long)]
    pub replace: bool,
    /// The manifest is a full snapshot: move the files this journal imported for keys it no
    /// longer holds to the trash (listed in pruned.csv). Never files the tool didn't create.
    #[arg(long)]
    pub prune: bool,
    /// With --prune: refuse (exit 1, nothing trashed) to prune more than this percentage of
    /// the journal's files.
    #[arg(long, default_value = "5", value_parser = parse_percent)]
    pub max_prune: f64,
}

/// `5`, `5%` or `0.5` → a percentage between 0 and 100.
pub fn parse_percent(text: &str) -> Result<f64, String> {
    let number = text.trim().trim_end_matches('%').trim();
    match number.parse::<f64>() {
        Ok(p) if (0.0..=100.0).contains(&p) => Ok(p),
        _ => Err(format!("{text:?} is not a percentage between 0 and 100")),
    }
}

impl RunArgs {
    pub(crate) fn to_config(&self) -> Result<RunConfig, UsageError> {
        super::args::check_batch_size(self.batch_size as u64)?;
        if self.source_host_limit == Some(0) {
            return Err(UsageError(
                "--source-host-limit must be at least 1".to_string(),
            ));
        }
        self.serving.validate(!self.no_wait)?;
        self.staging.validate(!self.no_wait)?;
        if self.max_attempts == 0 || self.max_processing_attempts == 0 {
            return Err(UsageError(
                "--max-attempts and --max-processing-attempts must be at least 1".to_string(),
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
            import_concurrency: self.client.concurrency.div_ceil(2).max(1),
            source_headers: self.sources.headers()?,
            retry_failed: self.retry_failed,
            keep_failed_files: self.keep_failed_files,
            max_processing_attempts: self.max_processing_attempts,
            source_host_limit: self.source_host_limit,
            adopt: !self.no_adopt,
            replace: self.replace,
            prune_max_percent: self.prune.then_some(self.max_prune),
            serve_sources: None,
            stage: None,
            check_target: None,
        })
    }
}

/// Where a run keeps its journal when `--journal` is not given: one journal per target site,
/// whatever the manifest is called or where the command runs from. The embedded local target
/// keeps it beside its data dir (`<local-dir>.journal.sqlite`); any other target in the
/// platform's data dir, `$XDG_DATA_HOME/media-migrate/journals/<24 hex of sha256(identity)>.sqlite`
/// (`~/.local/share` when `XDG_DATA_HOME` is unset or not absolute, as the XDG spec says).
/// The environment is passed in so the choice can be tested.
pub fn default_journal(
    target_identity: &str,
    embedded_dir: Option<&Path>,
    xdg_data_home: Option<&std::ffi::OsStr>,
    home: Option<&std::ffi::OsStr>,
) -> Result<PathBuf, UsageError> {
    if let Some(dir) = embedded_dir {
        let trimmed = dir.components().as_path();
        let name = trimmed
            .file_name()
            .map_or_else(|| ".media-manager".into(), |n| n.to_string_lossy());
        return Ok(trimmed.with_file_name(format!("{name}.journal.sqlite")));
    }
    let data_home = match xdg_data_home.map(PathBuf::from) {
        Some(dir) if dir.is_absolute() => dir,
        _ => match home.map(PathBuf::from) {
            Some(home) if home.is_absolute() => home.join(".local").join("share"),
            _ => {
                return Err(UsageError(
                    "no data directory for the journal: neither XDG_DATA_HOME nor HOME is set; pass --journal PATH".to_string(),
                ));
            }
        },
    };
    let digest = sha2::Sha256::digest(target_identity.as_bytes());
    Ok(data_home
        .join("media-migrate")
        .join("journals")
        .join(format!("{}.sqlite", &hex::encode(digest)[..24])))
}

/// The journal of earlier versions for this manifest and target, under the current directory.
fn legacy_journal(manifest: &Path, target_identity: &str) -> PathBuf {
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

/// The journal a command uses against `connected`: `--journal`, else the site's default.
pub fn journal_path(
    given: Option<&Path>,
    connected: &Connected,
    manifest: &Path,
) -> anyhow::Result<PathBuf> {
    if let Some(path) = given {
        return Ok(path.to_path_buf());
    }
    let path = default_journal(
        &connected.identity,
        connected.embedded_dir(),
        std::env::var_os("XDG_DATA_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    )?;
    let legacy = legacy_journal(manifest, &connected.identity);
    if legacy.exists() && !path.exists() {
        eprintln!(
            "media-migrate: note: the journal is now one per site, {}; {} (an earlier version's) is not used: rows it holds are adopted from the target, not imported again (pass --journal {} to keep using it)",
            path.display(),
            legacy.display(),
            legacy.display()
        );
    }
    Ok(path)
}

pub async fn execute(args: RunArgs, stop: StopSignal, quiet: bool) -> anyhow::Result<Ending> {
    let config = args.to_config()?;
    let client = args.client.to_config()?;
    let metrics = args.metrics.to_config()?;
    let connected = args.client.target.connect().await?;
    println!("target: {}", connected.describe());
    connected
        .scope(async |connected| {
            migrate(&args, config, &client, &metrics, connected, stop, quiet).await
        })
        .await
}

/// The run against a connected target: journal, pipeline, reports, and how it ended.
async fn migrate(
    args: &RunArgs,
    mut config: RunConfig,
    client: &ClientConfig,
    metrics: &MetricsConfig,
    connected: &Connected,
    stop: StopSignal,
    quiet: bool,
) -> anyhow::Result<Ending> {
    let journal_path = journal_path(args.journal.as_deref(), connected, &args.input.manifest)?;
    let lock = RunLock::acquire(&journal_path)?;
    let site = SiteRun {
        journal: &journal_path,
        lock,
        report_dir: &args.report_dir,
        batch_size: args.batch_size,
        ticker_quiet: quiet,
    };
    let progress = |msg: &str| {
        if !quiet {
            eprintln!("media-migrate: {msg}");
        }
    };
    config.stage = args.staging.start(config.wait_timeout).await?;
    if let Some(s) = &config.stage {
        progress(&format!(
            "--stage: local files are staged in {} and imported from presigned URLs",
            s.store().location()
        ));
    }
    let serving = args.serving.start(connected, config.wait_timeout).await?;
    if let Some(s) = &serving {
        progress(&format!(
            "--serve-sources: serving the manifest's local files on http://{} until the run ends",
            s.local_addr
        ));
        config.serve_sources = Some(s.sources.clone());
    }
    let result = migrate_site(site, config, client, connected, stop, &progress).await;
    if let Some(s) = serving {
        s.stop().await?;
    }
    let (summary, uploaded) = result?;
    println!("{}", done_line(&summary, &args.report_dir));
    let ending = ending(&summary, args.no_wait);
    let run = crate::metrics::RunMetrics::from_summary(&summary, uploaded, ending.exit_code());
    metrics.publish(&run, &connected.identity).await;
    Ok(ending)
}

/// One site's run as `run` and `fleet` both make it: the journal (its lock already held),
/// where the reports go, and how loud the progress ticker is.
pub(crate) struct SiteRun<'a> {
    pub journal: &'a Path,
    pub lock: RunLock,
    pub report_dir: &'a Path,
    pub batch_size: usize,
    pub ticker_quiet: bool,
}

/// Runs the pipeline against `connected` and writes the reports; the summary and the bytes
/// uploaded. The lock is held until the reports are written.
pub(crate) async fn migrate_site(
    site: SiteRun<'_>,
    config: RunConfig,
    client: &ClientConfig,
    connected: &Connected,
    stop: StopSignal,
    progress: &dyn Fn(&str),
) -> anyhow::Result<(Summary, u64)> {
    let SiteRun {
        journal: journal_path,
        lock: _lock,
        report_dir,
        batch_size,
        ticker_quiet,
    } = site;
    let journal = Journal::open(journal_path)?;
    journal.bind_target(&connected.identity)?;
    let config = RunConfig {
        check_target: Some(client.connect_timeout),
        ..config
    };
    let client = connected.client(client)?;
    let shared = SharedJournal::new(journal);
    // The timeline's minute 0 is the client's: the calls it counts and the files the journal
    // dates share one origin.
    let clock = client.counters().started();
    let started_at = jiff::Timestamp::now()
        - jiff::SignedDuration::try_from(clock.elapsed()).unwrap_or_default();
    let manifest = config.manifest.clone();
    let ticker = super::progress::spawn(shared.clone(), client.clone(), batch_size, ticker_quiet);
    let result = pipeline::migrate(config, client.clone(), shared.clone(), stop, progress).await;
    ticker.finish();
    let result = result?;
    let facts = RunFacts {
        manifest: ManifestSummary {
            path: manifest.display().to_string(),
            sha256: report::sha256_file(&manifest)
                .with_context(|| format!("hashing {}", manifest.display()))?,
            rows: result.ingest.rows,
        },
        target: connected.summary(),
        journal: journal_path.display().to_string(),
        run: result.run,
        ingest: result.ingest.clone(),
        calls: client.counters().snapshot(),
        settled_in_doubt: result.settled,
        started_at,
        duration: clock.elapsed(),
        interrupted: result.interrupted,
        wait_timed_out: result.wait_timed_out,
        adoption_listings: result.adoption_listings,
        pruned: result.pruned,
        prune_skipped_for_invalid: result.prune_skipped_for_invalid,
        replaced: result.replaced,
        budget_per_minute: client.budget().ceiling(),
    };
    let dir = report_dir.to_path_buf();
    let summary = shared
        .call(move |j| report::write_run(j, &dir, facts))
        .await??;
    Ok((summary, client.counters().snapshot().uploaded_bytes))
}

/// The last line of a run on the terminal, naming the commonest reasons rows failed.
fn done_line(summary: &Summary, report_dir: &Path) -> String {
    let c = &summary.counts;
    let mut reasons: Vec<(&String, &u64)> = summary.failure_reasons.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let why = if reasons.is_empty() {
        String::new()
    } else {
        let top: Vec<String> = reasons
            .iter()
            .take(3)
            .map(|(code, n)| format!("{n} {code}"))
            .collect();
        let more = if reasons.len() > 3 { ", …" } else { "" };
        format!(" (why: {}{more}; see failed.csv)", top.join(", "))
    };
    if summary.interrupted {
        return format!(
            "stopped: {} rows — {} ready, {} failed, {} invalid, {} not done yet{why}; {} API calls; run the same command to resume; reports in {}",
            c.total(),
            c.ready,
            c.failed,
            c.invalid,
            c.pending,
            summary.api_calls_total,
            report_dir.display()
        );
    }
    let mut changes = String::new();
    for (n, what) in [
        (c.adopted, "adopted"),
        (c.updated, "updated"),
        (summary.pruned, "pruned"),
    ] {
        if n > 0 {
            changes.push_str(&format!(", {n} {what}"));
        }
    }
    format!(
        "done: {} rows — {} ready, {} pending, {} failed, {} invalid, {} duplicate{}{changes}{why}; {} API calls; reports in {}",
        c.total(),
        c.ready,
        c.pending,
        c.failed,
        c.invalid,
        c.duplicate,
        skipped(c.skipped),
        summary.api_calls_total,
        report_dir.display()
    )
}

/// ", N skipped" when rows were skipped for want of a source, else nothing.
pub fn skipped(n: u64) -> String {
    if n == 0 {
        String::new()
    } else {
        format!(", {n} skipped")
    }
}

/// How a run ended: stopped; finished with rows failed, invalid or (when waiting) still
/// pending; or every row done.
pub(crate) fn ending(summary: &Summary, no_wait: bool) -> Ending {
    let c = &summary.counts;
    if summary.interrupted {
        Ending::Interrupted
    } else if c.failed > 0 || c.invalid > 0 || (c.pending > 0 && !no_wait) {
        Ending::Partial
    } else {
        Ending::Done
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::path::Path;

    use super::{default_journal, parse_percent};

    /// One journal per site: the same identity gives the same path wherever the command runs
    /// and whatever the manifest; XDG_DATA_HOME first, then ~/.local/share; the embedded
    /// target beside its data dir; no home at all is a usage error.
    #[test]
    fn journal_path_choice() {
        let xdg = Some(OsStr::new("/data"));
        let home = Some(OsStr::new("/home/u"));
        let a = default_journal("https://www.wixapis.com#site-a", None, xdg, home).unwrap();
        let b = default_journal("https://www.wixapis.com#site-b", None, xdg, home).unwrap();
        assert!(a.starts_with("/data/media-migrate/journals"), "{a:?}");
        assert_ne!(a, b);
        assert_eq!(
            a,
            default_journal("https://www.wixapis.com#site-a", None, xdg, home).unwrap()
        );
        let fallback = default_journal("x", None, None, home).unwrap();
        assert!(fallback.starts_with("/home/u/.local/share/media-migrate/journals"));
        let relative_xdg = default_journal("x", None, Some(OsStr::new("rel")), home).unwrap();
        assert_eq!(
            relative_xdg, fallback,
            "a relative XDG_DATA_HOME is ignored"
        );
        assert!(default_journal("x", None, None, None).is_err());
        let embedded = default_journal(
            "local:/w/.media-manager",
            Some(Path::new(".media-manager/")),
            xdg,
            home,
        )
        .unwrap();
        assert_eq!(embedded, Path::new(".media-manager.journal.sqlite"));
        let nested = default_journal("l", Some(Path::new("/w/mm")), xdg, home).unwrap();
        assert_eq!(nested, Path::new("/w/mm.journal.sqlite"));
    }

    #[test]
    fn percentages() {
        assert_eq!(parse_percent("5"), Ok(5.0));
        assert_eq!(parse_percent("12.5%"), Ok(12.5));
        assert!(parse_percent("101").is_err());
        assert!(parse_percent("x").is_err());
    }
}
