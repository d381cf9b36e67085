//! `media-migrate reconcile MANIFEST`: compares the manifest with what the target holds and
//! writes `reconcile.csv` and `reconcile.json`. The target is chosen as `run` chooses it (Wix
//! credentials, or the embedded local Media Manager); it is only read, and no journal is
//! touched. Exit 0 when every valid row's file is present and as expected — extra files,
//! invalid rows and duplicates are reported but don't change it — else 3.

use std::path::PathBuf;

use clap::Args;

use super::args::{ClientArgs, ClientConfig, ManifestArgs, SourceArgs};
use super::{Ending, UsageError};
use crate::manifest::ManifestOptions;
use crate::reconcile::{self, ReconcileConfig, SourceReading, VerifyContent};

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub input: ManifestArgs,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Where reconcile.csv, reconcile.json and report.html are written.
    #[arg(long, default_value = "reconcile")]
    pub report_dir: PathBuf,
    /// Check each present file's content: its size and hash against the manifest's
    /// expected_size / expected_md5 (`manifest`, the default; a value the target doesn't
    /// report differs, a row with nothing to compare is unverified), or against its source's
    /// bytes, downloaded again (`source`: no API call, polite per host). Any row not verified
    /// makes exit 3.
    #[arg(long, value_name = "WITH", num_args = 0..=1, default_missing_value = "manifest")]
    pub verify_content: Option<VerifyWith>,
    /// With --verify-content=source: downloads in flight to one host.
    #[arg(long, default_value_t = 2)]
    pub source_per_host: usize,
    /// With --verify-content=source: downloads in flight in all.
    #[arg(long, default_value_t = 8)]
    pub source_concurrency: usize,
    /// With --verify-content=source: time limit of one download, in seconds.
    #[arg(long, default_value_t = 300)]
    pub source_timeout_secs: u64,
    #[command(flatten)]
    pub sources: SourceArgs,
}

/// What `--verify-content` compares with.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum VerifyWith {
    Manifest,
    Source,
}

impl ReconcileArgs {
    fn check(&self) -> Result<(ManifestOptions, ClientConfig), UsageError> {
        let client = self.client.to_config()?;
        // Starting the embedded server on a folder that isn't there would create an empty
        // Media Manager just to report everything missing: almost surely a wrong folder.
        let target = &self.client.target;
        if target.is_embedded() && !target.local_dir.is_dir() {
            return Err(UsageError(format!(
                "no local Media Manager in {}: give --local-dir, or --api-key and --site-id",
                target.local_dir.display()
            )));
        }
        if self.source_per_host == 0
            || self.source_concurrency == 0
            || self.source_timeout_secs == 0
        {
            return Err(UsageError(
                "--source-per-host, --source-concurrency and --source-timeout-secs must be at least 1"
                    .to_string(),
            ));
        }
        Ok((self.input.options()?, client))
    }

    fn source_reading(&self) -> Result<SourceReading, UsageError> {
        Ok(SourceReading {
            per_host: self.source_per_host,
            concurrency: self.source_concurrency,
            timeout: std::time::Duration::from_secs(self.source_timeout_secs),
            headers: self.sources.headers()?,
        })
    }
}

pub async fn execute(args: ReconcileArgs) -> anyhow::Result<Ending> {
    let (manifest_options, client) = args.check()?;
    let connected = args.client.target.connect().await?;
    let config = ReconcileConfig {
        manifest: args.input.manifest.clone(),
        manifest_options,
        report_dir: args.report_dir.clone(),
        target: connected.summary(),
        verify: args.verify_content.map(|v| match v {
            VerifyWith::Manifest => VerifyContent::Manifest,
            VerifyWith::Source => VerifyContent::Source,
        }),
        sources: args.source_reading()?,
    };
    let report = connected
        .scope(async |connected| {
            let patience = client.connect_timeout;
            let client = connected.client(&client)?;
            crate::api::preflight::check_target(&client, patience).await?;
            Ok(reconcile::reconcile(config, &client).await?)
        })
        .await?;
    let c = &report.summary.counts;
    let verified = match report.summary.verify_content {
        Some(with) => format!(
            "; content checked against the {with}: {} verified, {} not",
            report.summary.content_verified, report.summary.content_unverified
        ),
        None => String::new(),
    };
    println!(
        "reconcile: {} rows — {} present, {} missing, {} failed, {} pending, {} differs, {} invalid, {} duplicate{}; {} extra files{verified}; {} API calls; reports {} and {}",
        c.rows,
        c.present,
        c.missing,
        c.failed,
        c.pending,
        c.differs,
        c.invalid,
        c.duplicate,
        crate::report::format::skipped(c.skipped),
        c.extra,
        report.summary.api_calls_total,
        report.csv.display(),
        report.json.display()
    );
    Ok(if report.summary.complete() {
        Ending::Done
    } else {
        Ending::Partial
    })
}
