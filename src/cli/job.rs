//! A site's job as `run` and `fleet` both take it: every per-site flag defined once
//! ([`JobArgs`]), validated once into a [`JobConfig`], and the one function that runs a site
//! ([`run_site`]): staging or serving, the pipeline against the journal, the reports, the
//! metrics. What only one command takes — `run`'s target, `--journal` and manifest; `fleet`'s
//! sites file, shard and journal folder — stays in that command.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::args::{BudgetArgs, ClientConfig, Connected, MappingArgs, SourceArgs};
use super::metrics::{MetricsArgs, MetricsConfig};
use super::serving::ServeSourcesArgs;
use super::staging::StageArgs;
use super::{Ending, UsageError};
use crate::journal::{Journal, RunLock};
use crate::pipeline::{self, RunConfig, SharedJournal, StopSignal};
use crate::report::{self, ManifestSummary, RunFacts, Summary};

/// The flags of one site's migration, shared by `run` and `fleet`.
#[derive(Debug, Clone, Args)]
pub struct JobArgs {
    #[command(flatten)]
    pub mapping: MappingArgs,
    #[command(flatten)]
    pub budget: BudgetArgs,
    #[command(flatten)]
    pub sources: SourceArgs,
    #[command(flatten)]
    pub metrics: MetricsArgs,
    #[command(flatten)]
    pub serving: ServeSourcesArgs,
    #[command(flatten)]
    // Boxed: its credentials would make `Command::Run` far larger than the other commands.
    pub staging: Box<StageArgs>,
    /// Where the reports are written (by `fleet`: each site's in <site_id>/, beside the fleet
    /// summary).
    #[arg(long, default_value = "reports")]
    pub report_dir: PathBuf,
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

/// A site's job, validated: the pipeline's config (its manifest still to be named), the
/// client's, where reports and metrics go, and the staging or serving flags (checked).
#[derive(Debug, Clone)]
pub struct JobConfig {
    pub run: RunConfig,
    pub client: ClientConfig,
    pub metrics: MetricsConfig,
    pub serving: ServeSourcesArgs,
    pub staging: StageArgs,
    pub report_dir: PathBuf,
}

impl JobArgs {
    /// The one validation of a job's flags; the manifest is the command's to name.
    pub fn to_config(&self) -> Result<JobConfig, UsageError> {
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
        let client = self.budget.to_config()?;
        let run = RunConfig {
            manifest: PathBuf::new(),
            manifest_options: self.mapping.options()?,
            batch_size: self.batch_size,
            max_attempts: self.max_attempts,
            wait: !self.no_wait,
            wait_timeout: Duration::from_secs(self.wait_timeout_secs),
            resumable_threshold: self.resumable_threshold_mib.saturating_mul(1024 * 1024),
            import_concurrency: client.concurrency.div_ceil(2).max(1),
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
            // As every run does: the target is checked while the manifest is read.
            check_target: Some(client.connect_timeout),
        };
        Ok(JobConfig {
            run,
            client,
            metrics: self.metrics.to_config()?,
            serving: self.serving.clone(),
            staging: (*self.staging).clone(),
            report_dir: self.report_dir.clone(),
        })
    }
}

/// Where a site's run keeps its journal (whose lock the caller already holds), and how loud
/// its progress ticker is.
pub(crate) struct SiteRun<'a> {
    pub journal: &'a Path,
    pub lock: RunLock,
    pub ticker_quiet: bool,
}

/// A site's run as `run` and `fleet` both make it, against `connected`: stages or serves the
/// local files when asked, runs the pipeline, writes the reports, publishes the metrics. The
/// summary and how the run ended. The lock is held until the reports are written.
pub(crate) async fn run_site(
    site: SiteRun<'_>,
    job: JobConfig,
    connected: &Connected,
    stop: StopSignal,
    progress: &dyn Fn(&str),
) -> anyhow::Result<(Summary, Ending)> {
    let JobConfig {
        mut run,
        client,
        metrics,
        serving,
        staging,
        report_dir,
    } = job;
    run.stage = staging.start(run.wait_timeout).await?;
    if let Some(s) = &run.stage {
        progress(&format!(
            "--stage: local files are staged in {} and imported from presigned URLs",
            s.store().location()
        ));
    }
    let serving = serving.start(connected, run.wait_timeout).await?;
    if let Some(s) = &serving {
        progress(&format!(
            "--serve-sources: serving the manifest's local files on http://{} until the run ends",
            s.local_addr
        ));
        run.serve_sources = Some(s.sources.clone());
    }
    let wait = run.wait;
    let result = migrate(site, run, &client, &report_dir, connected, stop, progress).await;
    if let Some(s) = serving {
        s.stop().await?;
    }
    let (summary, uploaded) = result?;
    let ending = ending(&summary, !wait);
    let facts = crate::metrics::RunMetrics::from_summary(&summary, uploaded, ending.exit_code());
    metrics.publish(&facts, &connected.identity).await;
    Ok((summary, ending))
}

/// Runs the pipeline and writes the reports; the summary and the bytes uploaded.
async fn migrate(
    site: SiteRun<'_>,
    config: RunConfig,
    client: &ClientConfig,
    report_dir: &Path,
    connected: &Connected,
    stop: StopSignal,
    progress: &dyn Fn(&str),
) -> anyhow::Result<(Summary, u64)> {
    let SiteRun {
        journal: journal_path,
        lock: _lock,
        ticker_quiet,
    } = site;
    let journal = Journal::open(journal_path)?;
    journal.bind_target(&connected.identity)?;
    let batch_size = config.batch_size;
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
    use std::collections::BTreeSet;

    use clap::{Args, Parser};

    use super::{JobArgs, JobConfig};
    use crate::cli::{Cli, Command};
    use crate::manifest::{ColumnMap, Format};

    /// The job of `run m.csv FLAGS` and of `fleet sites.csv FLAGS`, each validated by the one
    /// validation.
    fn both(flags: &[&str]) -> [JobConfig; 2] {
        let parse = |head: &[&str]| {
            let argv = ["media-migrate"].iter().chain(head).chain(flags);
            match Cli::try_parse_from(argv).map(|c| c.command) {
                Ok(Command::Run(a)) => a.job,
                Ok(Command::Fleet(a)) => a.job,
                other => panic!("{head:?} {flags:?}: {other:?}"),
            }
            .to_config()
            .unwrap_or_else(|e| panic!("{head:?} {flags:?}: {e}"))
        };
        [parse(&["run", "m.csv"]), parse(&["fleet", "sites.csv"])]
    }

    type Check = fn(&JobConfig) -> bool;

    /// Every job flag, an example of it, and what it sets in the job.
    const TABLE: &[(&str, &[&str], Check)] = &[
        ("format", &["--format", "jsonl"], |j| {
            j.run.manifest_options.format == Some(Format::JsonLines)
        }),
        ("column", &["--column", "source=Image Src"], |j| {
            j.run.manifest_options.columns
                == ColumnMap::parse_all(&["source=Image Src"]).expect("map")
        }),
        ("fill-down", &["--fill-down", "Type@Handle"], |j| {
            j.run.manifest_options.fill_down.len() == 1
        }),
        ("skip-empty-source", &["--skip-empty-source"], |j| {
            j.run.manifest_options.skip_empty_source
        }),
        ("labels-separator", &["--labels-separator", ","], |j| {
            j.run.manifest_options.labels_separator == ","
        }),
        ("delimiter", &["--delimiter", ";"], |j| {
            j.run.manifest_options.delimiter == Some(b';')
        }),
        ("local-root", &["--local-root", "/media"], |j| {
            j.run.manifest_options.local_root.as_deref() == Some("/media".as_ref())
        }),
        ("rate", &["--rate", "77"], |j| j.client.per_minute == 77),
        ("concurrency", &["--concurrency", "3"], |j| {
            j.client.concurrency == 3 && j.run.import_concurrency == 2
        }),
        (
            "request-timeout-secs",
            &["--request-timeout-secs", "7"],
            |j| j.client.request_timeout.as_secs() == 7,
        ),
        (
            "connect-timeout-secs",
            &["--connect-timeout-secs", "9"],
            |j| j.client.connect_timeout.as_secs() == 9,
        ),
        (
            "source-header",
            &["--source-header", "cdn.example.com: X-Token: t"],
            |j| {
                j.run
                    .source_headers
                    .for_url("https://cdn.example.com/a.png")
                    .is_some()
            },
        ),
        ("metrics-file", &["--metrics-file", "m-{site}.prom"], |j| {
            j.metrics.file.as_deref() == Some("m-{site}.prom".as_ref())
        }),
        ("pushgateway", &["--pushgateway", "http://gw:9091"], |j| {
            j.metrics.pushgateway.is_some()
        }),
        ("metrics-job", &["--metrics-job", "shops"], |j| {
            j.metrics.job == "shops"
        }),
        (
            "metrics-instance",
            &["--metrics-instance", "i-{site}"],
            |j| j.metrics.instance.as_deref() == Some("i-{site}"),
        ),
        ("serve-sources", &["--serve-sources"], |j| {
            j.serving.serve_sources.as_deref() == Some("")
        }),
        (
            "serve-sources-listen",
            &["--serve-sources-listen", "127.0.0.2:0", "--serve-sources"],
            |j| j.serving.serve_sources_listen.to_string() == "127.0.0.2:0",
        ),
        ("stage", &["--stage", "s3://bucket/p"], |j| {
            j.staging.stage.as_deref() == Some("s3://bucket/p")
        }),
        (
            "stage-endpoint",
            &[
                "--stage",
                "s3://bucket",
                "--stage-endpoint",
                "http://minio:9000",
            ],
            |j| j.staging.stage_endpoint.is_some(),
        ),
        (
            "stage-bandwidth",
            &["--stage", "s3://bucket", "--stage-bandwidth", "5M"],
            |j| j.staging.stage_bandwidth.as_deref() == Some("5M"),
        ),
        (
            "keep-staged",
            &["--stage", "s3://bucket", "--keep-staged"],
            |j| j.staging.keep_staged,
        ),
        (
            "stage-url-lifetime-secs",
            &["--stage", "s3://bucket", "--stage-url-lifetime-secs", "5"],
            |j| j.staging.stage_url_lifetime_secs == Some(5),
        ),
        ("report-dir", &["--report-dir", "out"], |j| {
            j.report_dir.as_path() == std::path::Path::new("out")
        }),
        ("batch-size", &["--batch-size", "20"], |j| {
            j.run.batch_size == 20
        }),
        ("max-attempts", &["--max-attempts", "2"], |j| {
            j.run.max_attempts == 2
        }),
        ("no-wait", &["--no-wait"], |j| !j.run.wait),
        ("wait-timeout-secs", &["--wait-timeout-secs", "11"], |j| {
            j.run.wait_timeout.as_secs() == 11
        }),
        ("retry-failed", &["--retry-failed"], |j| j.run.retry_failed),
        ("keep-failed-files", &["--keep-failed-files"], |j| {
            j.run.keep_failed_files
        }),
        (
            "max-processing-attempts",
            &["--max-processing-attempts", "1"],
            |j| j.run.max_processing_attempts == 1,
        ),
        ("source-host-limit", &["--source-host-limit", "4"], |j| {
            j.run.source_host_limit == Some(4)
        }),
        (
            "resumable-threshold-mib",
            &["--resumable-threshold-mib", "2"],
            |j| j.run.resumable_threshold == 2 * 1024 * 1024,
        ),
        ("no-adopt", &["--no-adopt"], |j| !j.run.adopt),
        ("replace", &["--replace"], |j| j.run.replace),
        ("prune", &["--prune"], |j| {
            j.run.prune_max_percent == Some(5.0)
        }),
        ("max-prune", &["--prune", "--max-prune", "12%"], |j| {
            j.run.prune_max_percent == Some(12.0)
        }),
    ];

    /// Every job flag parses under `run` and `fleet` alike and sets the same field of the one
    /// validated job — a field the defaults don't already set — and the table misses none.
    #[test]
    fn every_job_flag_takes_effect_under_both_commands() {
        let [run_default, fleet_default] = both(&[]);
        for (flag, example, check) in TABLE {
            assert!(
                !check(&run_default) && !check(&fleet_default),
                "--{flag}: the defaults already pass its check"
            );
            for (command, job) in ["run", "fleet"].into_iter().zip(both(example)) {
                assert!(check(&job), "--{flag} under {command}: {job:?}");
            }
        }
        let defined: BTreeSet<String> = JobArgs::augment_args(clap::Command::new("job"))
            .get_arguments()
            .filter_map(|a| a.get_long().map(str::to_string))
            .collect();
        let tested: BTreeSet<String> = TABLE.iter().map(|(f, _, _)| f.to_string()).collect();
        assert_eq!(defined, tested, "job flags without a row in the table");
    }
}
