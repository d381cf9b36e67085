//! `media-migrate export`: a site's files as a manifest another site can import, and with
//! `--download DIR` a backup of their bytes (the manifest then names the local copies). The
//! target is chosen as `run` chooses it; it is only read. Exit 0 when every live file of the
//! scope is in the manifest; 3 when some are left out (private without `--download`, not
//! READY, a download that failed or did not verify).

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use super::args::ClientArgs;
use super::{Ending, UsageError};
use crate::export::{self, ExportConfig};

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub client: ClientArgs,
    /// The manifest to write (CSV, this tool's columns). A state file beside it
    /// (`OUT.export-state.json`) makes an interrupted export go on where it stopped.
    #[arg(long, default_value = "export.csv")]
    pub out: PathBuf,
    /// Export this folder and everything below it (`/a/b`), not the whole site.
    #[arg(long, value_name = "PATH", default_value = "")]
    pub folder: String,
    /// Also download every file into DIR as the folder tree (private files through temporary
    /// download URLs), each verified against its size and hash; the manifest then names the
    /// local copies. Files already complete in DIR are verified and kept.
    #[arg(long, value_name = "DIR")]
    pub download: Option<PathBuf>,
    /// With --download: downloads in flight at once.
    #[arg(long, default_value_t = 4)]
    pub download_concurrency: usize,
    /// With --download: seconds a download may send nothing before it is tried again.
    #[arg(long, default_value_t = 60)]
    pub download_timeout_secs: u64,
}

pub async fn execute(args: ExportArgs) -> anyhow::Result<Ending> {
    let client = args.client.to_config()?;
    if args.download_concurrency == 0 || args.download_timeout_secs == 0 {
        return Err(UsageError(
            "--download-concurrency and --download-timeout-secs must be at least 1".to_string(),
        )
        .into());
    }
    let target = &args.client.target;
    if target.is_embedded() && !target.local_dir.is_dir() {
        return Err(UsageError(format!(
            "no local Media Manager in {}: give --local-dir, or --api-key and --site-id",
            target.local_dir.display()
        ))
        .into());
    }
    let connected = target.connect().await?;
    let config = ExportConfig {
        out: args.out.clone(),
        folder: args.folder.clone(),
        download: args.download.clone(),
        concurrency: args.download_concurrency,
        read_timeout: Duration::from_secs(args.download_timeout_secs),
        target_identity: connected.identity.clone(),
    };
    let summary = connected
        .scope(async |connected| {
            let patience = client.connect_timeout;
            let client = connected.client(&client)?;
            crate::api::preflight::check_target(&client, patience).await?;
            Ok(export::export(&config, &client).await?)
        })
        .await?;
    let c = &summary.counts;
    let download = match &summary.download {
        Some(dir) => format!(
            "; {} downloaded into {dir}, {} already there (verified), {} failed",
            c.downloaded, c.already_complete, c.download_failed
        ),
        None => String::new(),
    };
    println!(
        "export: {} files written to {}{}{download}; left out: {} private (need --download), {} not READY; {} folders; {} API calls",
        c.exported,
        summary.manifest,
        if summary.resumed { " (resumed)" } else { "" },
        c.private_skipped,
        c.not_ready,
        summary.folders,
        summary.api_calls_total,
    );
    Ok(if summary.complete() {
        Ending::Done
    } else {
        Ending::Partial
    })
}
