//! `run --stage URL`, `--stage-endpoint URL`, `--stage-bandwidth RATE`, `--keep-staged`: the
//! flags of staging local files in object storage, checked before anything is connected, and
//! the store opened from the environment's credential chain (its bucket and credentials
//! checked before any import). What is staged when is `pipeline::stage`; the store's calls are
//! `sources::stage`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::signer::Signer;
use object_store::{ClientOptions, HeaderValue, ObjectStore, RetryConfig};

use super::UsageError;
use crate::sources::stage::bandwidth::parse_rate;
use crate::sources::stage::store::scrub;
use crate::sources::stage::{StageLocation, Staging, StagingOptions, Store, StoreKind};

/// How long past the wait for processing a presigned URL stays valid: the target's own
/// retries of a fetch still find the object. URLs are signed as each batch is sent.
const URL_MARGIN: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Args)]
pub struct StageArgs {
    /// Import local files through Bulk Import (100 a call) instead of one upload URL each:
    /// each file is stored once in this bucket (s3://, gs://) or Azure container (az://),
    /// named by its content (PREFIX/<sha256>.ext), and imported from a presigned GET URL; the
    /// objects are deleted once their rows are READY. Credentials come from the store's
    /// standard chain: AWS_* variables, web identity, container or instance role (S3);
    /// GOOGLE_SERVICE_ACCOUNT / GOOGLE_APPLICATION_CREDENTIALS or the metadata server (GCS);
    /// AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY, a client secret or a managed
    /// identity (Azure).
    #[arg(long, value_name = "URL", conflicts_with = "serve_sources")]
    pub stage: Option<String>,
    /// An S3-compatible store's endpoint (MinIO, R2, …), addressed path-style (plain http
    /// allowed when given so); AWS S3 in AWS_REGION without it.
    #[arg(long, value_name = "URL", requires = "stage")]
    pub stage_endpoint: Option<String>,
    /// Cap on the bytes per second all uploads to the stage send together, with an optional
    /// K, M or G (powers of 1000), e.g. 50M.
    #[arg(long, value_name = "RATE", requires = "stage")]
    pub stage_bandwidth: Option<String>,
    /// Keep staged objects after their rows are READY.
    #[arg(long, requires = "stage")]
    pub keep_staged: bool,
    /// For tests: presigned URLs live this many seconds instead of the wait for processing
    /// plus a margin.
    #[arg(long, value_name = "SECS", requires = "stage", hide = true)]
    pub stage_url_lifetime_secs: Option<u64>,
}

/// The validated flags: where, at which endpoint, at what rate.
struct StageConfig {
    location: StageLocation,
    endpoint: Option<url::Url>,
    bandwidth: Option<u64>,
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
            Some(_) if location.kind != StoreKind::S3 => {
                return Err(UsageError(
                    "--stage-endpoint is for S3-compatible stores (s3://); GCS and Azure take their endpoints from the environment".to_string(),
                ));
            }
            Some(e) => match url::Url::parse(e) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Some(u),
                _ => {
                    return Err(UsageError(format!(
                        "--stage-endpoint takes the store's http:// or https:// URL, not {e:?}"
                    )));
                }
            },
        };
        if self.stage_url_lifetime_secs == Some(0) {
            return Err(UsageError(
                "--stage-url-lifetime-secs takes at least 1".to_string(),
            ));
        }
        let bandwidth = self
            .stage_bandwidth
            .as_deref()
            .map(parse_rate)
            .transpose()
            .map_err(UsageError)?;
        Ok(Some(StageConfig {
            location,
            endpoint,
            bandwidth,
        }))
    }

    /// Opens the store when the flag is given and checks its bucket and credentials before
    /// any import; presigned URLs live `wait_timeout` and a margin.
    pub async fn start(&self, wait_timeout: Duration) -> anyhow::Result<Option<Staging>> {
        let Some(config) = self.config()? else {
            return Ok(None);
        };
        crate::install_crypto_provider();
        let stage = config.location.to_string();
        let settings = match config.location.kind {
            StoreKind::S3 => "AWS_* settings, web identity or the machine's role",
            StoreKind::Gcs => {
                "GOOGLE_SERVICE_ACCOUNT, GOOGLE_APPLICATION_CREDENTIALS or the metadata server"
            }
            StoreKind::Azure => {
                "AZURE_STORAGE_ACCOUNT_NAME with a key, a client secret or a managed identity"
            }
        };
        let store = open_store(config.location, config.endpoint.as_ref()).map_err(|e| {
            anyhow::anyhow!(
                "--stage {stage}: the store can't be opened from the environment ({settings}): {}",
                scrub(&e.to_string())
            )
        })?;
        store
            .check()
            .await
            .with_context(|| format!("--stage {stage}: checking the store before any import"))?;
        let url_lifetime = self
            .stage_url_lifetime_secs
            .map_or(wait_timeout + URL_MARGIN, Duration::from_secs);
        Ok(Some(Staging::new(
            store,
            StagingOptions {
                url_lifetime,
                keep: self.keep_staged,
                bandwidth: config.bandwidth,
            },
        )))
    }
}

/// The store at `location`, configured from the environment as each store's own tools are
/// (`from_env`: keys, tokens, roles, metadata endpoints), with our client's timeouts and a
/// bounded retry (a store that is down fails the check in about a minute, not many).
fn open_store(
    location: StageLocation,
    endpoint: Option<&url::Url>,
) -> Result<Store, object_store::Error> {
    let options = ClientOptions::new()
        .with_user_agent(HeaderValue::from_static(concat!(
            "media-migrate/",
            env!("CARGO_PKG_VERSION"),
            " (stage)"
        )))
        .with_connect_timeout(Duration::from_secs(30))
        .with_timeout(Duration::from_secs(300));
    let retry = RetryConfig {
        max_retries: 4,
        retry_timeout: Duration::from_secs(60),
        ..RetryConfig::default()
    };
    /// Each backend both holds the objects and signs URLs of them.
    fn both<T: ObjectStore + Signer>(backend: T, location: StageLocation) -> Store {
        let backend = Arc::new(backend);
        Store::new(backend.clone(), backend, location)
    }
    let bucket = location.bucket.clone();
    Ok(match location.kind {
        StoreKind::S3 => {
            let mut b = AmazonS3Builder::from_env()
                .with_bucket_name(&bucket)
                .with_client_options(options)
                .with_retry(retry);
            if let Some(e) = endpoint {
                b = b
                    .with_endpoint(e.as_str().trim_end_matches('/'))
                    .with_virtual_hosted_style_request(false)
                    .with_allow_http(e.scheme() == "http");
            }
            both(b.build()?, location)
        }
        StoreKind::Gcs => both(
            GoogleCloudStorageBuilder::from_env()
                .with_bucket_name(&bucket)
                .with_client_options(options)
                .with_retry(retry)
                .build()?,
            location,
        ),
        StoreKind::Azure => both(
            MicrosoftAzureBuilder::from_env()
                .with_container_name(&bucket)
                .with_client_options(options)
                .with_retry(retry)
                .build()?,
            location,
        ),
    })
}
