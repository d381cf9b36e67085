//! `media-migrate reconcile MANIFEST`: compares the manifest with what the target holds and
//! writes `reconcile.csv` and `reconcile.json`. The target is chosen as `run` chooses it (Wix
//! credentials, or the embedded local Media Manager); it is only read, and no journal is
//! touched. Exit 0 when every valid row's file is present and as expected — extra files,
//! invalid rows and duplicates are reported but don't change it — else 3.

use std::path::PathBuf;

use clap::Args;

use super::args::{ClientArgs, ClientConfig, ManifestArgs};
use super::{Ending, UsageError};
use crate::manifest::ManifestOptions;
use crate::reconcile::{self, ReconcileConfig};

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    pub input: ManifestArgs,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Where reconcile.csv and reconcile.json are written.
    #[arg(long, default_value = "reconcile")]
    pub report_dir: PathBuf,
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
        Ok((self.input.options()?, client))
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
    println!(
        "reconcile: {} rows — {} present, {} missing, {} failed, {} pending, {} differs, {} invalid, {} duplicate{}; {} extra files; {} API calls; reports {} and {}",
        c.rows,
        c.present,
        c.missing,
        c.failed,
        c.pending,
        c.differs,
        c.invalid,
        c.duplicate,
        super::run::skipped(c.skipped),
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
