//! `media-migrate fleet SITES`: many sites, each migrated as `run` migrates one — the same
//! job flags ([`super::job`]), with what the sites file gives the site; its own key, budget,
//! journal (`--journal-dir/<site>.sqlite`) and its lock, reports (`--report-dir/<site>/`) —
//! several at once, in this process. One site's trouble (a refused
//! key, a missing manifest, an unreachable target) is that site's line in the fleet summary,
//! never the others' end. `--shard I/N` (or `JOB_COMPLETION_INDEX`/`JOB_COMPLETIONS`) takes
//! this process's share of the sites file; a site whose lock another process holds is `busy`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use futures_util::StreamExt;

use super::args::{TargetArgs, WIX_BASE_URL};
use super::job::{JobArgs, JobConfig, SiteRun};
use super::{Ending, UsageError};
use crate::fleet::summary::{FLEET_SUMMARY_SCHEMA_VERSION, fleet_exit_code, write_fleet_summary};
use crate::fleet::{
    FleetSummary, KeySource, Shard, SiteEntry, SiteOutcome, SiteReport, SiteStatus, read_sites,
};
use crate::journal::{JournalError, RunLock};
use crate::manifest::ColumnMap;
use crate::pipeline::StopSignal;
use crate::report::Summary;
use crate::sources::SourceHeaders;

#[derive(Debug, Args)]
pub struct FleetArgs {
    /// The sites file: CSV with a header row, or JSON Lines (.jsonl), with site_id, key_env
    /// (an environment variable holding the key) or key_file (a file holding it, as a
    /// Kubernetes Secret mounts it), manifest, and optionally what differs from the flags for
    /// that site: rate, folder_prefix, mapping (a file of --column items, one a line),
    /// source_header ('HOST: Name: @env:VAR') and stage. Relative paths are taken from the
    /// sites file's folder.
    pub sites: PathBuf,
    /// This process's share of the sites: I/N (0 <= I < N), by rendezvous hashing of the site
    /// ids, so appending sites never moves one already placed. Default: JOB_COMPLETION_INDEX
    /// of JOB_COMPLETIONS when both are set (a Kubernetes Indexed Job), else every site.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Sites migrated at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency_sites: usize,
    /// Base URL of the Wix API, or of a `media-migrate serve --site ...` instance.
    #[arg(long, default_value = WIX_BASE_URL)]
    pub base_url: String,
    /// Where each site's journal is kept, as <site_id>.sqlite (and its lock beside it).
    #[arg(long, default_value = "journals")]
    pub journal_dir: PathBuf,
    /// Each site's job, as `run` takes it; the sites file may give a site its own rate,
    /// mapping, folder prefix, source headers and stage.
    #[command(flatten)]
    pub job: JobArgs,
}

/// What stands for the site's id in `--metrics-file` and `--metrics-instance`.
const SITE_PLACEHOLDER: &str = "{site}";

/// The fleet's settings, validated.
struct FleetConfig {
    shard: Shard,
    base_url: String,
    journal_dir: PathBuf,
    concurrency_sites: usize,
    /// Every site's job, before the sites file's overrides.
    job: JobConfig,
    /// Written into each lock taken, so a shard finding a site busy can say who has it.
    holder: String,
}

impl FleetArgs {
    fn to_config(&self) -> Result<FleetConfig, UsageError> {
        let shard = match &self.shard {
            Some(spec) => Shard::parse(spec).map_err(|e| UsageError(format!("--shard: {e}")))?,
            None => shard_from_env(
                std::env::var("JOB_COMPLETION_INDEX").ok(),
                std::env::var("JOB_COMPLETIONS").ok(),
            )?,
        };
        if self.concurrency_sites == 0 {
            return Err(UsageError(
                "--concurrency-sites must be at least 1".to_string(),
            ));
        }
        let job = self.job.to_config()?;
        refuse_shared(&self.job, self.concurrency_sites)?;
        let host = std::env::var("HOSTNAME").unwrap_or_default();
        let holder = format!(
            "shard {shard}, pid {}{}",
            std::process::id(),
            if host.is_empty() {
                String::new()
            } else {
                format!(", host {host}")
            }
        );
        Ok(FleetConfig {
            shard,
            base_url: self.base_url.trim_end_matches('/').to_string(),
            journal_dir: self.journal_dir.clone(),
            concurrency_sites: self.concurrency_sites,
            job,
            holder,
        })
    }
}

/// The job flags that would be one thing shared by every site — one file, one metrics
/// instance, one listener — are refused, naming the flag and why, unless they can be one per
/// site: a path or name with `{site}` in it, a listener of its own on a free port.
fn refuse_shared(job: &JobArgs, concurrency_sites: usize) -> Result<(), UsageError> {
    if let Some(path) = &job.metrics.metrics_file
        && !path.to_string_lossy().contains(SITE_PLACEHOLDER)
    {
        return Err(UsageError(format!(
            "--metrics-file {}: every site would write the one file over the others' metrics; put {SITE_PLACEHOLDER} in the path (e.g. /var/lib/node_exporter/media-migrate-{SITE_PLACEHOLDER}.prom)",
            path.display()
        )));
    }
    if let Some(instance) = &job.metrics.metrics_instance
        && !instance.contains(SITE_PLACEHOLDER)
    {
        return Err(UsageError(format!(
            "--metrics-instance {instance}: every site would publish under the one instance, each replacing the last; put {SITE_PLACEHOLDER} in it, or leave it out (each site's is its target)"
        )));
    }
    if job.serving.serve_sources.is_some() && concurrency_sites > 1 {
        if job.serving.serve_sources.as_deref() != Some("") {
            return Err(UsageError(
                "--serve-sources PUBLIC_BASE_URL: one public address can't front the listeners of sites migrated at once; pass --concurrency-sites 1, or use --stage".to_string(),
            ));
        }
        if job.serving.serve_sources_listen.port() != 0 {
            return Err(UsageError(format!(
                "--serve-sources-listen {}: sites migrated at once can't all listen on one port; leave the port 0 (each site its own), or pass --concurrency-sites 1",
                job.serving.serve_sources_listen
            )));
        }
    }
    Ok(())
}

/// The shard a Kubernetes Indexed Job gives its pod: both variables or neither.
fn shard_from_env(index: Option<String>, count: Option<String>) -> Result<Shard, UsageError> {
    match (index, count) {
        (None, _) => Ok(Shard::ALL),
        (Some(i), Some(n)) => Shard::parse(&format!("{i}/{n}"))
            .map_err(|e| UsageError(format!("JOB_COMPLETION_INDEX/JOB_COMPLETIONS: {e}"))),
        (Some(_), None) => Err(UsageError(
            "JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not: set it to the Job's completions, or pass --shard I/N".to_string(),
        )),
    }
}

pub async fn execute(args: FleetArgs, stop: StopSignal, quiet: bool) -> anyhow::Result<Ending> {
    let config = args.to_config()?;
    let all = read_sites(&args.sites).map_err(|e| UsageError(e.to_string()))?;
    let mine: Vec<SiteEntry> = all
        .iter()
        .filter(|s| config.shard.takes(&s.site_id))
        .cloned()
        .collect();
    if !quiet {
        eprintln!(
            "media-migrate: fleet: shard {} takes {} of {} sites, {} at once",
            config.shard,
            mine.len(),
            all.len(),
            config.concurrency_sites
        );
    }
    let started_at = jiff::Timestamp::now();
    let clock = Instant::now();
    let suffix = if config.shard.count == 1 {
        String::new()
    } else {
        format!("-{}-of-{}", config.shard.index, config.shard.count)
    };
    let mut summary = FleetSummary {
        schema_version: FLEET_SUMMARY_SCHEMA_VERSION,
        shard: config.shard.to_string(),
        sites_total: all.len() as u64,
        sites_in_shard: mine.len() as u64,
        exit_code: 0,
        started_at: started_at.to_string(),
        duration_secs: 0.0,
        sites: Vec::new(),
    };
    let order: Vec<String> = mine.iter().map(|s| s.site_id.clone()).collect();
    let mut runs = futures_util::stream::iter(mine)
        .map(|site| migrate_one(site, &config, stop.clone(), quiet))
        .buffer_unordered(config.concurrency_sites);
    // Written after every site, so a process killed midway leaves the sites it finished
    // reported, and once more at the end.
    let record = |summary: &mut FleetSummary| {
        summary.exit_code = fleet_exit_code(&summary.sites, stop.is_stopped());
        summary.duration_secs = clock.elapsed().as_secs_f64();
        write_fleet_summary(&config.job.report_dir, &suffix, summary).with_context(|| {
            format!(
                "writing the fleet summary in {}",
                config.job.report_dir.display()
            )
        })
    };
    while let Some(report) = runs.next().await {
        println!("{}", site_line(&report));
        summary.sites.push(report);
        summary
            .sites
            .sort_by_key(|r| order.iter().position(|id| *id == r.site_id));
        record(&mut summary)?;
    }
    record(&mut summary)?;
    let count = |s: SiteStatus| summary.sites.iter().filter(|r| r.status == s).count();
    println!(
        "fleet: {} sites — {} done, {} partial, {} failed, {} busy, {} interrupted; summary in {}",
        summary.sites.len(),
        count(SiteStatus::Done),
        count(SiteStatus::Partial),
        count(SiteStatus::Failed),
        count(SiteStatus::Busy),
        count(SiteStatus::Interrupted),
        config
            .job
            .report_dir
            .join(format!("fleet-summary{suffix}.json"))
            .display()
    );
    Ok(match summary.exit_code {
        0 => Ending::Done,
        3 => Ending::Partial,
        130 => Ending::Interrupted,
        _ => return Err(FleetFailed(count(SiteStatus::Failed)).into()),
    })
}

/// Some sites could not be migrated at all (exit 1); the others ran to their end.
#[derive(Debug, thiserror::Error)]
#[error("{0} site(s) failed (see the fleet summary); the others ran to their end")]
pub struct FleetFailed(pub usize);

/// One line of stdout per site as it ends.
fn site_line(r: &SiteReport) -> String {
    let what = match (&r.outcome, &r.error) {
        (Some(o), _) => format!(
            "{} ready, {} pending, {} failed, {} invalid; {} API calls, {} throttled",
            o.ready, o.pending, o.failed, o.invalid, o.api_calls, o.throttled
        ),
        (None, Some(e)) => e.clone(),
        (None, None) => String::new(),
    };
    format!("site {}: {} — {what}", r.site_id, r.status.name())
}

/// One site, from its key to its report; never an error — what went wrong is its report's.
async fn migrate_one(
    site: SiteEntry,
    config: &FleetConfig,
    stop: StopSignal,
    quiet: bool,
) -> SiteReport {
    let clock = Instant::now();
    let journal = config.journal_dir.join(format!("{}.sqlite", site.site_id));
    let report_dir = config.job.report_dir.join(&site.site_id);
    let mut report = SiteReport {
        site_id: site.site_id.clone(),
        status: SiteStatus::Failed,
        exit_code: 1,
        outcome: None,
        duration_secs: 0.0,
        report_dir: report_dir.display().to_string(),
        journal: journal.display().to_string(),
        error: None,
    };
    let result = if stop.is_stopped() {
        Err(SiteEnd::Stopped)
    } else {
        run_site(&site, config, &journal, &report_dir, stop, quiet).await
    };
    match result {
        Ok((summary, ending)) => {
            report.status = match ending {
                Ending::Done => SiteStatus::Done,
                Ending::Partial => SiteStatus::Partial,
                Ending::Interrupted => SiteStatus::Interrupted,
            };
            report.outcome = Some(outcome(&summary));
        }
        Err(SiteEnd::Busy(holder)) => {
            report.status = SiteStatus::Busy;
            report.error = Some(format!(
                "busy: the journal lock is held ({})",
                holder.as_deref().unwrap_or("holder unknown")
            ));
        }
        Err(SiteEnd::Stopped) => {
            report.status = SiteStatus::Interrupted;
            report.error = Some("not started: the fleet was stopped".to_string());
        }
        Err(SiteEnd::Failed(e)) => {
            report.error = Some(e);
        }
    }
    report.exit_code = report.status.exit_code();
    report.duration_secs = clock.elapsed().as_secs_f64();
    report
}

enum SiteEnd {
    Busy(Option<String>),
    Stopped,
    Failed(String),
}

async fn run_site(
    site: &SiteEntry,
    config: &FleetConfig,
    journal: &Path,
    report_dir: &Path,
    stop: StopSignal,
    quiet: bool,
) -> Result<(Summary, Ending), SiteEnd> {
    let failed = |e: anyhow::Error| SiteEnd::Failed(format!("{e:#}"));
    let key = read_key(&site.key).map_err(SiteEnd::Failed)?;
    let job = site_job(site, &config.job, report_dir).map_err(SiteEnd::Failed)?;
    if !site.manifest.is_file() {
        return Err(SiteEnd::Failed(format!(
            "manifest {} (sites file line {}) does not exist or is not a file",
            site.manifest.display(),
            site.line
        )));
    }
    let lock = match RunLock::acquire_as(journal, &config.holder) {
        Ok(lock) => lock,
        Err(JournalError::Locked { .. }) => return Err(SiteEnd::Busy(RunLock::holder(journal))),
        Err(e) => return Err(failed(e.into())),
    };
    let target = TargetArgs {
        api_key: Some(key),
        site_id: Some(site.site_id.clone()),
        base_url: Some(config.base_url.clone()),
        local_dir: PathBuf::new(),
    };
    let connected = target.connect().await.map_err(failed)?;
    let id = site.site_id.clone();
    let progress = move |msg: &str| {
        if !quiet {
            eprintln!("media-migrate: [{id}] {msg}");
        }
    };
    let run = SiteRun {
        journal,
        lock,
        ticker_quiet: true,
    };
    connected
        .scope(async |connected| super::job::run_site(run, job, connected, stop, &progress).await)
        .await
        .map_err(failed)
}

/// This site's job: the fleet's, with what the sites file gives the site (rate, mapping,
/// folder prefix, source headers, stage), its own report folder, stage prefix
/// (`--stage`/<site_id>, so no site deletes an object another still imports) and metrics
/// names. Errors name the sites file's line and field.
fn site_job(site: &SiteEntry, fleet: &JobConfig, report_dir: &Path) -> Result<JobConfig, String> {
    let at = |field: &str, e: &dyn std::fmt::Display| {
        format!("{field} (sites file line {}): {e}", site.line)
    };
    let mut job = fleet.clone();
    job.run.manifest = site.manifest.clone();
    job.report_dir = report_dir.to_path_buf();
    if let Some(rate) = site.rate {
        job.client.per_minute = rate;
    }
    if let Some(items) = &site.mapping {
        job.run.manifest_options.columns =
            ColumnMap::parse_all(items).map_err(|e| at("mapping", &e))?;
    }
    job.run.manifest_options.folder_prefix = site.folder_prefix.clone();
    if !site.source_headers.is_empty() {
        let own = SourceHeaders::parse_all(&site.source_headers, |var| std::env::var(var).ok())
            .map_err(|e| at("source_header", &e))?;
        job.run.source_headers.extend(own);
    }
    job.staging.stage = match (&site.stage, &fleet.staging.stage) {
        (Some(own), _) => Some(own.clone()),
        (None, Some(shared)) => Some(format!("{}/{}", shared.trim_end_matches('/'), site.site_id)),
        (None, None) => None,
    };
    if site.stage.is_some() && fleet.serving.serve_sources.is_some() {
        return Err(at(
            "stage",
            &"the fleet serves local files (--serve-sources); a site can't also stage them",
        ));
    }
    job.staging
        .validate(job.run.wait)
        .map_err(|e| at("stage", &e))?;
    let per_site = |text: &str| text.replace(SITE_PLACEHOLDER, &site.site_id);
    let file = job.metrics.file.as_deref().map(Path::to_string_lossy);
    job.metrics.file = file.map(|path| PathBuf::from(per_site(&path)));
    job.metrics.instance = job.metrics.instance.as_deref().map(per_site);
    Ok(job)
}

/// A site's key from where the sites file says; errors name the variable or file, never a key.
fn read_key(source: &KeySource) -> Result<String, String> {
    let key = match source {
        KeySource::Env(var) => std::env::var(var)
            .map_err(|_| format!("the key's environment variable {var} is not set"))?,
        KeySource::File(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("can't read the key file {}: {e}", path.display()))?;
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .ok_or_else(|| format!("the key file {} holds no key", path.display()))?
        }
    };
    let key = key.trim().to_string();
    if key.is_empty() {
        return Err("the key is empty".to_string());
    }
    Ok(key)
}

fn outcome(summary: &Summary) -> SiteOutcome {
    let c = &summary.counts;
    SiteOutcome {
        ready: c.ready,
        pending: c.pending,
        failed: c.failed,
        invalid: c.invalid,
        duplicate: c.duplicate,
        skipped: c.skipped,
        api_calls: summary.api_calls_total,
        throttled: summary.throttled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An Indexed Job's variables give the shard; one without the other is a usage error.
    #[test]
    fn shard_from_the_job_environment() {
        let s = |v: &str| Some(v.to_string());
        assert_eq!(shard_from_env(None, None).unwrap(), Shard::ALL);
        assert_eq!(shard_from_env(None, s("3")).unwrap(), Shard::ALL);
        assert_eq!(
            shard_from_env(s("2"), s("3")).unwrap(),
            Shard::new(2, 3).unwrap()
        );
        assert!(shard_from_env(s("3"), s("3")).is_err());
        assert!(shard_from_env(s("1"), None).is_err());
    }

    /// A site's job is the fleet's with the sites file's changes: its rate, mapping, folder
    /// prefix and headers; `--stage` under the site's id unless it has its own stage; `{site}`
    /// in the metrics file and instance replaced by its id.
    #[test]
    fn a_sites_job_is_the_fleets_with_its_own_changes() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "media-migrate",
            "fleet",
            "sites.csv",
            "--rate",
            "100",
            "--column",
            "source=Image Src",
            "--source-header",
            "cdn.example.com: X-A: a",
            "--stage",
            "s3://bucket/staged/",
            "--metrics-file",
            "/m/{site}.prom",
            "--metrics-instance",
            "shop-{site}",
        ])
        .expect("flags");
        let crate::cli::Command::Fleet(args) = cli.command else {
            panic!("not fleet");
        };
        let fleet = args.job.to_config().expect("valid");
        let plain = SiteEntry {
            line: 2,
            site_id: "a".to_string(),
            key: KeySource::Env("K".to_string()),
            manifest: PathBuf::from("a.csv"),
            rate: None,
            folder_prefix: String::new(),
            mapping: None,
            source_headers: Vec::new(),
            stage: None,
        };
        let job = site_job(&plain, &fleet, Path::new("r/a")).expect("job");
        assert_eq!(job.client.per_minute, 100);
        assert_eq!(job.run.manifest, PathBuf::from("a.csv"));
        assert_eq!(job.run.manifest_options, fleet.run.manifest_options);
        assert_eq!(job.staging.stage.as_deref(), Some("s3://bucket/staged/a"));
        assert_eq!(job.metrics.file, Some(PathBuf::from("/m/a.prom")));
        assert_eq!(job.metrics.instance.as_deref(), Some("shop-a"));
        assert_eq!(job.report_dir, PathBuf::from("r/a"));
        assert!(
            job.run
                .source_headers
                .for_url("https://img.example.com/x")
                .is_none()
        );

        let own = SiteEntry {
            rate: Some(30),
            folder_prefix: "/B".to_string(),
            mapping: Some(vec!["source=url".to_string()]),
            source_headers: vec!["img.example.com: X-B: @env:PATH".to_string()],
            stage: Some("gs://other/b".to_string()),
            ..plain.clone()
        };
        let job = site_job(&own, &fleet, Path::new("r/a")).expect("job");
        assert_eq!(job.client.per_minute, 30);
        assert_eq!(job.run.manifest_options.folder_prefix, "/B");
        assert_eq!(
            job.run.manifest_options.columns,
            ColumnMap::parse_all(&["source=url"]).expect("map")
        );
        assert!(
            job.run
                .source_headers
                .for_url("https://img.example.com/x")
                .is_some()
        );
        assert!(
            job.run
                .source_headers
                .for_url("https://cdn.example.com/x")
                .is_some()
        );
        assert_eq!(job.staging.stage.as_deref(), Some("gs://other/b"));

        let unset = SiteEntry {
            source_headers: vec!["img.example.com: X-B: @env:MEDIA_MIGRATE_UNSET_9".to_string()],
            ..plain
        };
        let err = site_job(&unset, &fleet, Path::new("r/a")).expect_err("unset variable");
        assert!(
            err.contains("source_header (sites file line 2)")
                && err.contains("MEDIA_MIGRATE_UNSET_9"),
            "{err}"
        );
    }
}
