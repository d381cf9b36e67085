//! `run --stage s3://bucket/prefix`, `--stage-endpoint URL`, `--keep-staged`: the flags of
//! staging local files in an S3-compatible bucket, checked before anything is connected, and
//! the store opened (its bucket and credentials checked with one HEAD) before any import.
//! What is staged when is `pipeline::stage`; the store's calls are `sources::stage`.

use std::time::Duration;

use anyhow::Context;
use clap::Args;

use super::UsageError;
use crate::sources::stage::{Credentials, S3Store, StageLocation, Staging};

/// How long past the wait for processing a presigned URL stays valid: imports queued late in
/// the run and the target's own retries still find the object.
const URL_MARGIN: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Args)]
pub struct StageArgs {
    /// Import local files through Bulk Import (100 a call) instead of one upload URL each:
    /// each file is stored once in this bucket, named by its content (prefix/<sha256>.ext),
    /// and imported from a presigned GET URL; the objects are deleted once their rows are
    /// READY. Credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (AWS_SESSION_TOKEN),
    /// AWS_REGION.
    #[arg(
        long,
        value_name = "s3://BUCKET/PREFIX",
        conflicts_with = "serve_sources"
    )]
    pub stage: Option<String>,
    /// The S3-compatible store's endpoint (MinIO, R2, …), addressed path-style; AWS S3 in
    /// AWS_REGION without it.
    #[arg(long, value_name = "URL", requires = "stage")]
    pub stage_endpoint: Option<String>,
    /// Keep staged objects after their rows are READY.
    #[arg(long, requires = "stage")]
    pub keep_staged: bool,
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide = true, hide_env_values = true)]
    pub aws_access_key_id: Option<String>,
    #[arg(
        long,
        env = "AWS_SECRET_ACCESS_KEY",
        hide = true,
        hide_env_values = true
    )]
    pub aws_secret_access_key: Option<String>,
    #[arg(long, env = "AWS_SESSION_TOKEN", hide = true, hide_env_values = true)]
    pub aws_session_token: Option<String>,
    #[arg(long, env = "AWS_REGION", hide = true)]
    pub aws_region: Option<String>,
    #[arg(long, env = "AWS_DEFAULT_REGION", hide = true)]
    pub aws_default_region: Option<String>,
}

/// The validated flags: where, at which endpoint, with which credentials.
struct StageConfig {
    location: StageLocation,
    endpoint: Option<url::Url>,
    creds: Credentials,
}

impl StageArgs {
    /// Checks the flags before anything is connected.
    pub fn validate(&self, wait: bool) -> Result<(), UsageError> {
        if self.stage.is_some() {
            if !wait && !self.keep_staged {
                return Err(UsageError(
                    "--stage deletes staged objects once their rows are READY, which needs the run to wait for processing: drop --no-wait, or add --keep-staged".to_string(),
                ));
            }
            self.config()?;
        }
        Ok(())
    }

    fn config(&self) -> Result<Option<StageConfig>, UsageError> {
        let Some(stage) = self.stage.as_deref() else {
            return Ok(None);
        };
        let location = StageLocation::parse(stage).map_err(UsageError)?;
        let endpoint = match self.stage_endpoint.as_deref() {
            None => None,
            Some(e) => match url::Url::parse(e) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
                _ => {
                    return Err(UsageError(format!(
                        "--stage-endpoint takes the store's http:// or https:// URL, not {e:?}"
                    )));
                }
            },
        };
        let (Some(id), Some(secret)) = (
            self.aws_access_key_id.as_deref().filter(|s| !s.is_empty()),
            self.aws_secret_access_key
                .as_deref()
                .filter(|s| !s.is_empty()),
        ) else {
            return Err(UsageError(
                "--stage needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_REGION)".to_string(),
            ));
        };
        let region = self
            .aws_region
            .clone()
            .or_else(|| self.aws_default_region.clone())
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "us-east-1".to_string());
        Ok(Some(StageConfig {
            location,
            endpoint,
            creds: Credentials {
                access_key_id: id.to_string(),
                secret_access_key: secret.to_string(),
                session_token: self.aws_session_token.clone().filter(|t| !t.is_empty()),
                region,
            },
        }))
    }

    /// Opens the store when the flag is given and checks its bucket and credentials with one
    /// HEAD, before any import; presigned URLs live `wait_timeout` and a margin.
    pub async fn start(&self, wait_timeout: Duration) -> anyhow::Result<Option<Staging>> {
        let Some(config) = self.config()? else {
            return Ok(None);
        };
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(30))
            .user_agent(concat!(
                "media-migrate/",
                env!("CARGO_PKG_VERSION"),
                " (stage)"
            ))
            .build()
            .context("the stage's HTTP client")?;
        let stage = self.stage.as_deref().unwrap_or_default();
        let store = S3Store::new(
            http,
            config.location,
            config.endpoint.as_ref(),
            config.creds,
        )
        .map_err(UsageError)?;
        store
            .check_bucket()
            .await
            .with_context(|| format!("--stage {stage}: checking the bucket before any import"))?;
        Ok(Some(Staging::new(
            store,
            wait_timeout + URL_MARGIN,
            self.keep_staged,
        )))
    }
}
