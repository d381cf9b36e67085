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

use super::run::{FormatArg, connect_to};
use super::{Outcome, UsageError};
use crate::api::client::MediaClient;
use crate::control::budget::{Budget, BudgetConfig};
use crate::manifest::{ColumnMap, ManifestOptions};
use crate::reconcile::{self, ReconcileConfig};
use crate::report::TargetSummary;

#[derive(Debug, Args)]
pub struct ReconcileArgs {
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
    /// Data folder of the embedded local Media Manager (it must exist).
    #[arg(long, default_value = ".media-manager")]
    pub local_dir: PathBuf,
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
        if !self.manifest.is_file() {
            return Err(UsageError(format!(
                "manifest {} does not exist or is not a file",
                self.manifest.display()
            )));
        }
        // Starting the embedded server on a folder that isn't there would create an empty
        // Media Manager just to report everything missing: almost surely a wrong folder.
        if self.api_key.is_none() && self.site_id.is_none() && !self.local_dir.is_dir() {
            return Err(UsageError(format!(
                "no local Media Manager in {}: give --local-dir, or --api-key and --site-id",
                self.local_dir.display()
            )));
        }
        let columns = ColumnMap::parse_all(&self.columns).map_err(|e| UsageError(e.to_string()))?;
        Ok(ManifestOptions {
            format: self.format.map(Into::into),
            columns,
        })
    }
}

pub async fn run(args: ReconcileArgs) -> anyhow::Result<Outcome> {
    let manifest_options = args.check()?;
    let connected = connect_to(
        args.api_key.as_deref(),
        args.site_id.as_deref(),
        &args.base_url,
        &args.local_dir,
    )
    .await?;
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
        manifest: args.manifest.clone(),
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
