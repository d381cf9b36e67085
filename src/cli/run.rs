//! `media-migrate run MANIFEST`: the migration of one site. Sets up the target (a Wix site, or
//! the embedded local Media Manager when no credentials are given), the journal and its lock,
//! then runs the site's job as `fleet` runs each of its sites ([`super::job`]); prints the
//! last line and maps the result to an outcome.

use std::path::{Path, PathBuf};

use clap::Args;
use sha2::Digest;

use super::args::{Connected, TargetArgs, check_manifest};
use super::job::{JobArgs, JobConfig, SiteRun, run_site};
use super::{Ending, UsageError};
use crate::journal::RunLock;
use crate::pipeline::StopSignal;
use crate::report::Summary;

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The manifest: CSV (or ;/tab separated), JSON array, JSON Lines or a plain list of URLs
    /// (.txt), see manifests/README.md.
    pub manifest: PathBuf,
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub job: JobArgs,
    /// The journal (default: one per target site — $XDG_DATA_HOME/media-migrate/journals/<hash of
    /// the site>.sqlite, or <local-dir>.journal.sqlite for the embedded local Media Manager).
    #[arg(long)]
    pub journal: Option<PathBuf>,
}

impl RunArgs {
    /// The job, validated, for this command's manifest.
    pub(crate) fn to_config(&self) -> Result<JobConfig, UsageError> {
        let mut job = self.job.to_config()?;
        check_manifest(&self.manifest)?;
        self.target.check()?;
        job.run.manifest = self.manifest.clone();
        Ok(job)
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
    let job = args.to_config()?;
    let connected = args.target.connect().await?;
    println!("target: {}", connected.describe());
    connected
        .scope(async |connected| migrate(&args, job, connected, stop, quiet).await)
        .await
}

/// The run against a connected target: the journal and its lock, then the site's job.
async fn migrate(
    args: &RunArgs,
    job: JobConfig,
    connected: &Connected,
    stop: StopSignal,
    quiet: bool,
) -> anyhow::Result<Ending> {
    let journal_path = journal_path(args.journal.as_deref(), connected, &args.manifest)?;
    let lock = RunLock::acquire(&journal_path)?;
    let site = SiteRun {
        journal: &journal_path,
        lock,
        ticker_quiet: quiet,
    };
    let progress = |msg: &str| {
        if !quiet {
            eprintln!("media-migrate: {msg}");
        }
    };
    let report_dir = job.report_dir.clone();
    let (summary, ending) = run_site(site, job, connected, stop, &progress).await?;
    println!("{}", done_line(&summary, &report_dir));
    Ok(ending)
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
        crate::report::format::skipped(c.skipped),
        summary.api_calls_total,
        report_dir.display()
    )
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::path::Path;

    use super::default_journal;
    use crate::cli::job::parse_percent;

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
