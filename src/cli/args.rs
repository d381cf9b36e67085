//! Arguments shared by several commands: the manifest (`plan`, `run`, `reconcile`) and the
//! target (`run`, `reconcile`), with their validation and the connection to the target.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;

use super::UsageError;
use crate::api::client::{Secret, Target};
use crate::manifest::{ColumnMap, Format, ManifestOptions};
use crate::server::{LocalServer, ServerConfig};

#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// The manifest: CSV, JSON array or JSON Lines (see manifests/README.md).
    pub manifest: PathBuf,
    /// Manifest format, when the extension doesn't tell.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Map a manifest field to another column name: FIELD=HEADER (repeatable).
    #[arg(long = "column", value_name = "FIELD=HEADER")]
    pub columns: Vec<String>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Csv,
    Json,
    Jsonl,
}

impl From<FormatArg> for Format {
    fn from(arg: FormatArg) -> Format {
        match arg {
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
            FormatArg::Jsonl => Format::JsonLines,
        }
    }
}

impl ManifestArgs {
    /// Checks the manifest exists and the column mappings parse.
    pub fn options(&self) -> Result<ManifestOptions, UsageError> {
        if !self.manifest.is_file() {
            return Err(UsageError(format!(
                "manifest {} does not exist or is not a file",
                self.manifest.display()
            )));
        }
        let columns = ColumnMap::parse_all(&self.columns).map_err(|e| UsageError(e.to_string()))?;
        Ok(ManifestOptions {
            format: self.format.map(Format::from),
            columns,
        })
    }
}

#[derive(Debug, Args)]
pub struct TargetArgs {
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
}

/// The target as a command sees it, and the embedded server when there is one.
pub struct Connected {
    pub target: Target,
    /// Names the site without secrets (journals are bound to it).
    pub identity: String,
    pub embedded: Option<LocalServer>,
}

impl TargetArgs {
    pub fn is_embedded(&self) -> bool {
        self.api_key.is_none() && self.site_id.is_none()
    }

    /// The Wix site the credentials name, or the embedded local Media Manager in
    /// `local_dir` when there are none.
    pub async fn connect(&self) -> anyhow::Result<Connected> {
        let base_url = self.base_url.trim_end_matches('/');
        match (&self.api_key, &self.site_id) {
            (Some(key), Some(site)) => Ok(Connected {
                identity: format!("{base_url}#{site}"),
                target: Target {
                    base_url: base_url.to_string(),
                    api_key: Some(Secret::new(key.clone())),
                    site_id: Some(site.clone()),
                },
                embedded: None,
            }),
            (None, None) => start_embedded(&self.local_dir).await,
            _ => Err(UsageError(
                "give both --api-key and --site-id (or WIX_API_KEY and WIX_SITE_ID), or neither for the embedded local Media Manager"
                    .to_string(),
            )
            .into()),
        }
    }
}

async fn start_embedded(local_dir: &Path) -> anyhow::Result<Connected> {
    let server = LocalServer::start(ServerConfig::new(local_dir), 0)
        .await
        .with_context(|| {
            format!(
                "starting the embedded local Media Manager in {}",
                local_dir.display()
            )
        })?;
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
