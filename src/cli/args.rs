//! Arguments shared by several commands: the manifest (`plan`, `run`, `reconcile`) and the
//! client of the target (`run`, `reconcile`), with their validation; and the one way to
//! connect to the target ([`Connected`]), which always stops the embedded server it started.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::UsageError;
use crate::api::client::{MediaClient, Secret, Target};
use crate::control::budget::{Budget, BudgetConfig};
use crate::manifest::{ColumnError, ColumnMap, FillDown, Format, ManifestOptions};
use crate::report::TargetSummary;
use crate::sources::SourceHeaders;
use wix_media_manager::{LocalServer, ServerConfig};

#[derive(Debug, Args)]
pub struct ManifestArgs {
    /// The manifest: CSV (or ;/tab separated), JSON array, JSON Lines or a plain list of URLs
    /// (.txt), see manifests/README.md.
    pub manifest: PathBuf,
    #[command(flatten)]
    pub mapping: MappingArgs,
}

/// How a manifest's rows are read: its format and where each field comes from.
#[derive(Debug, Clone, Args)]
pub struct MappingArgs {
    /// Manifest format, when the extension doesn't tell.
    #[arg(long, value_enum)]
    pub format: Option<FormatArg>,
    /// Where a field comes from: FIELD=HEADER (a column, or a JSON key or dotted path such as
    /// title.rendered), FIELD=TEMPLATE ('/Shop/{Type}/{Handle|slug}'; filters dirname,
    /// basename, html, trim, slug, lower, upper) or FIELD= (ignore the field's own column).
    /// Repeatable.
    #[arg(long = "column", value_name = "FIELD=HEADER|TEMPLATE")]
    pub columns: Vec<String>,
    /// Fill an empty COLUMN from the row above, within rows that share the GROUP column's
    /// value (e.g. Type@Handle for a Shopify export); without @GROUP, across the whole file.
    /// Repeatable.
    #[arg(long = "fill-down", value_name = "COLUMN[@GROUP]")]
    pub fill_down: Vec<String>,
    /// Skip rows without a source (reported as skipped, not invalid), such as a Shopify
    /// export's variant rows without an image.
    #[arg(long)]
    pub skip_empty_source: bool,
    /// What separates labels in a text cell.
    #[arg(long, value_name = "SEP", default_value = "|")]
    pub labels_separator: String,
    /// The CSV delimiter: , ; tab or | (default: guessed from the header line).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// Local files must be under this folder (default: the manifest's folder); paths that
    /// lead outside it — absolute, `..`, or through a symlink — are invalid rows.
    #[arg(long, value_name = "DIR")]
    pub local_root: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    Csv,
    Json,
    Jsonl,
    /// One URL or local path a line.
    Txt,
}

impl From<FormatArg> for Format {
    fn from(arg: FormatArg) -> Format {
        match arg {
            FormatArg::Csv => Format::Csv,
            FormatArg::Json => Format::Json,
            FormatArg::Jsonl => Format::JsonLines,
            FormatArg::Txt => Format::Text,
        }
    }
}

impl ManifestArgs {
    /// Checks the manifest exists and the mapping flags parse.
    pub fn options(&self) -> Result<ManifestOptions, UsageError> {
        check_manifest(&self.manifest)?;
        self.mapping.options()
    }
}

/// A manifest given on the command line must be a file.
pub(crate) fn check_manifest(manifest: &Path) -> Result<(), UsageError> {
    if !manifest.is_file() {
        return Err(UsageError(format!(
            "manifest {} does not exist or is not a file",
            manifest.display()
        )));
    }
    Ok(())
}

impl MappingArgs {
    /// Checks the mapping flags parse.
    pub fn options(&self) -> Result<ManifestOptions, UsageError> {
        let usage = |e: ColumnError| UsageError(e.to_string());
        let columns = ColumnMap::parse_all(&self.columns).map_err(usage)?;
        let fill_down = self
            .fill_down
            .iter()
            .map(|item| item.parse::<FillDown>())
            .collect::<Result<_, _>>()
            .map_err(usage)?;
        if self.labels_separator.is_empty() {
            return Err(UsageError(
                "--labels-separator must not be empty".to_string(),
            ));
        }
        Ok(ManifestOptions {
            format: self.format.map(Format::from),
            columns,
            fill_down,
            skip_empty_source: self.skip_empty_source,
            labels_separator: self.labels_separator.clone(),
            delimiter: self.delimiter.as_deref().map(parse_delimiter).transpose()?,
            local_root: self.local_root.clone(),
            folder_prefix: String::new(),
        })
    }
}

/// `--delimiter`: one ASCII character, or a name for tab.
/// `--batch-size`: files per Bulk Import call, 1 to the contract's 100.
pub(crate) fn check_batch_size(size: u64) -> Result<(), UsageError> {
    let max = wix_media_wire::types::limits::BULK_IMPORT_MAX_ITEMS as u64;
    if size == 0 || size > max {
        return Err(UsageError(format!(
            "--batch-size {size}: must be between 1 and {max} (Bulk Import takes at most {max} files a call)"
        )));
    }
    Ok(())
}

fn parse_delimiter(text: &str) -> Result<u8, UsageError> {
    match text {
        "tab" | "TAB" | "\\t" | "\t" => Ok(b'\t'),
        _ if text.len() == 1 && text.is_ascii() && !matches!(text, "\"" | "\n" | "\r") => {
            Ok(text.as_bytes()[0])
        }
        _ => Err(UsageError(format!(
            "--delimiter {text:?}: give one character such as , or ; or the word tab"
        ))),
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
    /// Base URL of the Wix API (default https://www.wixapis.com), or of a `media-migrate
    /// serve` instance; needs --api-key and --site-id.
    #[arg(long)]
    pub base_url: Option<String>,
    /// Data folder of the embedded local Media Manager.
    #[arg(long, default_value = ".media-manager")]
    pub local_dir: PathBuf,
}

/// Headers private sources need (`run`, `plan --probe`).
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// A header a source host needs, as 'HOST: Name: value' (repeatable); the value may be
    /// @env:VAR to read it from the environment. Sent with that host's imports and probes
    /// only; never written to the journal, logs or reports.
    #[arg(long = "source-header", value_name = "HOST: NAME: VALUE")]
    pub source_headers: Vec<String>,
}

impl SourceArgs {
    pub fn headers(&self) -> Result<SourceHeaders, UsageError> {
        SourceHeaders::parse_all(&self.source_headers, |var| std::env::var(var).ok())
            .map_err(UsageError)
    }
}

/// The target and how to spend its budget: what every command that calls the API takes.
#[derive(Debug, Args)]
pub struct ClientArgs {
    #[command(flatten)]
    pub target: TargetArgs,
    #[command(flatten)]
    pub budget: BudgetArgs,
}

/// How to spend a target's budget.
#[derive(Debug, Clone, Args)]
pub struct BudgetArgs {
    /// Requests per minute to spend (Wix allows about 200 per site).
    #[arg(long, default_value_t = 180)]
    pub rate: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Time limit of one API request, in seconds.
    #[arg(long, default_value_t = 60)]
    pub request_timeout_secs: u64,
    /// How long to keep asking a target that doesn't answer before giving up (exit 1), in
    /// seconds. A target that refuses the key stops the command at once.
    #[arg(long, default_value_t = 30)]
    pub connect_timeout_secs: u64,
}

/// How the client spends the target's budget, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientConfig {
    pub per_minute: u32,
    pub concurrency: usize,
    pub request_timeout: Duration,
    /// How long the check before the work waits for a target that doesn't answer.
    pub connect_timeout: Duration,
}

impl ClientArgs {
    pub fn to_config(&self) -> Result<ClientConfig, UsageError> {
        self.target.check()?;
        self.budget.to_config()
    }
}

impl BudgetArgs {
    pub fn to_config(&self) -> Result<ClientConfig, UsageError> {
        if self.rate == 0 || self.concurrency == 0 || self.request_timeout_secs == 0 {
            return Err(UsageError(
                "--rate, --concurrency and --request-timeout-secs must be at least 1".to_string(),
            ));
        }
        Ok(ClientConfig {
            per_minute: self.rate,
            concurrency: self.concurrency,
            request_timeout: Duration::from_secs(self.request_timeout_secs),
            connect_timeout: Duration::from_secs(self.connect_timeout_secs),
        })
    }
}

/// The target as a command sees it, and the embedded server when there is one. Close it with
/// [`Connected::close`] whatever the command's result, so the embedded server winds down.
pub struct Connected {
    pub target: Target,
    /// Names the site without secrets (journals are bound to it).
    pub identity: String,
    embedded: Option<LocalServer>,
    local_dir: PathBuf,
}

impl Connected {
    /// A client of the target spending its budget as `config` says.
    pub fn client(&self, config: &ClientConfig) -> anyhow::Result<MediaClient> {
        let budget = Arc::new(Budget::new(BudgetConfig {
            per_minute: config.per_minute,
            concurrency: config.concurrency,
            ..BudgetConfig::default()
        }));
        MediaClient::new(self.target.clone(), budget, config.request_timeout)
            .context("building the HTTP client")
    }

    /// The target without secrets, for reports.
    /// The data dir of the embedded local Media Manager, when that is the target.
    pub fn embedded_dir(&self) -> Option<&Path> {
        self.embedded.as_ref().map(|_| self.local_dir.as_path())
    }

    pub fn summary(&self) -> TargetSummary {
        TargetSummary {
            base_url: self.target.base_url.clone(),
            site_id: self.target.site_id.clone(),
            embedded: self.embedded.is_some(),
        }
    }

    /// One line naming the target, for the terminal.
    pub fn describe(&self) -> String {
        match &self.embedded {
            Some(server) => format!(
                "embedded local Media Manager at {} (data in {})",
                server.url,
                self.local_dir.display()
            ),
            None => format!(
                "{} site {}",
                self.target.base_url,
                self.target.site_id.as_deref().unwrap_or("")
            ),
        }
    }

    /// Ends the connection: stops the embedded server, waiting for its requests and processing
    /// to wind down.
    pub async fn close(self) -> anyhow::Result<()> {
        match self.embedded {
            Some(server) => server
                .stop()
                .await
                .context("stopping the embedded local Media Manager"),
            None => Ok(()),
        }
    }

    /// Runs `work` against the target, then closes it, on errors too; the work's error comes
    /// first.
    pub async fn scope<T>(
        self,
        work: impl AsyncFnOnce(&Connected) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let result = work(&self).await;
        let closed = self.close().await;
        let value = result?;
        closed?;
        Ok(value)
    }
}

/// The Wix API, unless `--base-url` names another.
pub const WIX_BASE_URL: &str = "https://www.wixapis.com";

impl TargetArgs {
    pub fn is_embedded(&self) -> bool {
        self.api_key.is_none() && self.site_id.is_none()
    }

    /// A `--base-url` without credentials would silently migrate into the embedded server.
    pub fn check(&self) -> Result<(), UsageError> {
        match &self.base_url {
            Some(url) if self.is_embedded() => Err(UsageError(format!(
                "--base-url {url} needs --api-key and --site-id (or WIX_API_KEY and WIX_SITE_ID); without them the embedded local Media Manager would be used and --base-url ignored. To reach a `media-migrate serve` instance, pass the key it was started with (its --api-key or MEDIA_MANAGER_API_KEY; any key when it runs without one) and its --site-id (local-site unless set)"
            ))),
            _ => Ok(()),
        }
    }

    /// The Wix site the credentials name, or the embedded local Media Manager in
    /// `local_dir` when there are none.
    pub async fn connect(&self) -> anyhow::Result<Connected> {
        self.check()?;
        let base_url = self
            .base_url
            .as_deref()
            .unwrap_or(WIX_BASE_URL)
            .trim_end_matches('/');
        match (&self.api_key, &self.site_id) {
            (Some(key), Some(site)) => Ok(Connected {
                identity: format!("{base_url}#{site}"),
                target: Target {
                    base_url: base_url.to_string(),
                    api_key: Some(Secret::new(key.clone())),
                    site_id: Some(site.clone()),
                },
                embedded: None,
                local_dir: self.local_dir.clone(),
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
    let config = ServerConfig::new(local_dir);
    let site_id = config.site_id.clone();
    let server = LocalServer::start(config, 0).await.with_context(|| {
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
            // Sent as Wix requires it, though a keyless server doesn't insist.
            site_id: Some(site_id),
        },
        embedded: Some(server),
        local_dir: local_dir.to_path_buf(),
    })
}
