//! `media-migrate reconcile MANIFEST`: compares the manifest with what the target holds and
//! writes `reconcile.csv` and `reconcile.json`. The target is chosen as `run` chooses it (Wix
//! credentials, or the embedded local Media Manager); it is only read, and no journal is
//! touched. Exit 0 when every valid row's file is present and as expected — extra files,
//! invalid rows and duplicates are reported but don't change it — else 3.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::args::{ManifestArgs, TargetArgs};
use super::{Outcome, UsageError};
use crate::api::client::MediaClient;
use crate::control::budget::{Budget, BudgetConfig};
use crate::manifest::ManifestOptions;
use crate::reconcile::{self, ReconcileConfig};
use crate::report::TargetSummary;

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub input: ManifestArgs,
    #[command(flatten)]
    pub target: TargetArgs,
    /// Where reconcile.csv and reconcile.json are written.
    #[arg(long, default_value = "reconcile")]
    pub report_dir: PathBuf,
    /// Requests per minute to spend (Wix allows about 200 per site).
    #[arg(long, default_value_t = 180)]
    pub rate: u32,
    /// Time limit of one API request, in seconds.
    #[arg(long, default_value_t = 60)]
    pub request_timeout_secs: u64,
}

impl ReconcileArgs {
    fn check(&self) -> Result<ManifestOptions, UsageError> {
        if self.rate == 0 || self.request_timeout_secs == 0 {
            return Err(UsageError(
                "--rate and --request-timeout-secs must be at least 1".to_string(),
            ));
        }
        // Starting the embedded server on a folder that isn't there would create an empty
        // Media Manager just to report everything missing: almost surely a wrong folder.
        if self.target.is_embedded() && !self.target.local_dir.is_dir() {
            return Err(UsageError(format!(
                "no local Media Manager in {}: give --local-dir, or --api-key and --site-id",
                self.target.local_dir.display()
            )));
        }
        self.input.options()
    }
}

pub async fn run(args: ReconcileArgs) -> anyhow::Result<Outcome> {
    let manifest_options = args.check()?;
    let connected = args.target.connect().await?;
    let budget = Arc::new(Budget::new(BudgetConfig {
        per_minute: args.rate,
        ..BudgetConfig::default()
    }));
    let client = MediaClient::new(
        connected.target.clone(),
        budget,
        Duration::from_secs(args.request_timeout_secs),
    )
    .context("building the HTTP client")?;
    let config = ReconcileConfig {
        manifest: args.input.manifest.clone(),
        manifest_options,
        report_dir: args.report_dir.clone(),
        target: TargetSummary {
            base_url: connected.target.base_url.clone(),
            site_id: connected.target.site_id.clone(),
            embedded: connected.embedded.is_some(),
        },
    };
    let result = reconcile::reconcile(config, &client).await;
    if let Some(server) = connected.embedded {
        server
            .stop()
            .await
            .context("stopping the embedded local Media Manager")?;
    }
    let report = result?;
    let c = &report.summary.counts;
    println!(
        "reconcile: {} rows — {} present, {} missing, {} failed, {} pending, {} differs, {} invalid, {} duplicate; {} extra files; {} API calls; reports {} and {}",
        c.rows,
        c.present,
        c.missing,
        c.failed,
        c.pending,
        c.differs,
        c.invalid,
        c.duplicate,
        c.extra,
        report.summary.api_calls_total,
        report.csv.display(),
        report.json.display()
    );
    Ok(if report.summary.complete() {
        Outcome::Done
    } else {
        Outcome::Partial
    })
}
