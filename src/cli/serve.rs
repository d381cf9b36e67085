//! `media-migrate serve`: the local Media Manager as a standalone server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

use wix_media_manager::ServerConfig;
use wix_media_manager::faults::{FaultConfig, MsRange, parse_rate};
use wix_media_manager::processing::ProcessingConfig;
use wix_media_manager::sites::SiteConfig;
use wix_media_wire::site::valid_site_id;

use super::{Ending, UsageError};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on. A non-loopback address requires --api-key.
    #[arg(long, default_value = "127.0.0.1:7777")]
    pub listen: SocketAddr,
    /// Where the database and blobs are kept.
    #[arg(long, default_value = ".media-manager")]
    pub data_dir: PathBuf,
    /// API key accepted in `Authorization` (repeatable). With none, the server is open.
    /// A key on the command line shows in `ps`: prefer --api-key-file or the environment.
    #[arg(
        long = "api-key",
        env = "MEDIA_MANAGER_API_KEY",
        hide_env_values = true
    )]
    pub api_keys: Vec<String>,
    /// File holding API keys, one a line (blank lines and `#` comments skipped); added to
    /// --api-key. Keeps keys out of `ps` and shell history.
    #[arg(long, value_name = "PATH")]
    pub api_key_file: Option<PathBuf>,
    /// Another host name clients may call the server by (repeatable): `Host` must name the
    /// listen address, `localhost` (on loopback), the --public-url host, or one of these
    /// (`.example.com` allows the domain and its subdomains). Others get 403, which is what
    /// stops DNS rebinding.
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// Connections served at once; one more is answered 503 and closed.
    #[arg(long, default_value_t = 256)]
    pub max_connections: usize,
    /// Seconds a request head may take to arrive (also how long an idle kept-alive
    /// connection stays open).
    #[arg(long, default_value_t = 20)]
    pub header_read_timeout_secs: u64,
    /// Seconds a request body or a response may stall before the connection is dropped.
    #[arg(long, default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// The site id this server stands for (checked against `wix-site-id`).
    #[arg(long, default_value = "local-site")]
    pub site_id: String,
    /// Serve several sites (repeatable): `ID=KEY`, the key given as `@env:VAR` (read from the
    /// environment) or `@file:PATH` (its first non-comment line) — a literal key shows in
    /// `ps`. Each site has its own storage (DATA_DIR/sites/ID/), key, rate limit and stats
    /// (`/_local/stats?site=ID`); API calls are routed by `wix-site-id`. Replaces --site-id
    /// and --api-key.
    #[arg(long = "site", value_name = "ID=KEY")]
    pub sites: Vec<String>,
    /// A site's own rate limit (repeatable): `ID=RPM`, in place of --rate-limit for that site.
    #[arg(long = "site-rate-limit", value_name = "ID=RPM")]
    pub site_rate_limits: Vec<String>,
    /// Base URL put in file, upload and download URLs (default: http://LISTEN).
    #[arg(long)]
    pub public_url: Option<String>,
    /// Items accepted per Bulk Import call.
    #[arg(long, default_value_t = 100)]
    pub max_bulk_items: usize,
    /// API requests per minute per site; beyond it, 429 with Retry-After (see --no-retry-after).
    #[arg(long, value_name = "RPM")]
    pub rate_limit: Option<u32>,
    /// Requests allowed in a burst above the rate limit.
    #[arg(long, default_value_t = 20)]
    pub rate_burst: u32,
    /// Seed of the fault injector, so a run can be repeated.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Latency added to every API call: MS or MS..MS.
    #[arg(long, value_name = "MS[..MS]")]
    pub latency: Option<MsRange>,
    /// Share of API and upload calls answered 503 before anything is done.
    #[arg(long, value_parser = parse_rate, default_value = "0")]
    pub error_rate: f64,
    /// Share of API and upload calls performed, then answered by dropping the connection.
    #[arg(long, value_parser = parse_rate, default_value = "0")]
    pub lost_response_rate: f64,
    /// Share of API and upload calls performed, then answered only after --slow-response (past
    /// a client's timeout, the client can't know the call was done).
    #[arg(long, value_parser = parse_rate, default_value = "0", requires = "slow_response")]
    pub slow_response_rate: f64,
    /// Share of API and upload calls performed, then answered 502 or 503 (a gateway that lost
    /// the backend's answer: the status can't tell whether the work was done).
    #[arg(long, value_parser = parse_rate, default_value = "0")]
    pub performed_error_rate: f64,
    /// How long a slow answer is held: MS or MS..MS.
    #[arg(long, value_name = "MS[..MS]")]
    pub slow_response: Option<MsRange>,
    /// Answer 429 without a Retry-After header: clients must fall back to their own backoff.
    #[arg(long)]
    pub no_retry_after: bool,
    /// Share of bulk-import items failed with a retryable code.
    #[arg(long, value_parser = parse_rate, default_value = "0")]
    pub item_failure_rate: f64,
    /// How long imports stay PENDING at least: MS or MS..MS.
    #[arg(long, value_name = "MS[..MS]")]
    pub processing_time: Option<MsRange>,
    /// Share of imports whose processing ends FAILED.
    #[arg(long, value_parser = parse_rate, default_value = "0")]
    pub processing_failure_rate: f64,
    /// Files processed at once.
    #[arg(long, default_value_t = 8)]
    pub processing_concurrency: usize,
    /// Largest source or upload accepted, in bytes.
    #[arg(long, default_value_t = 1024 * 1024 * 1024)]
    pub max_file_bytes: u64,
    /// Time limit for fetching one source, in seconds.
    #[arg(long, default_value_t = 120)]
    pub fetch_timeout_secs: u64,
    /// Let imports fetch from loopback and private networks even when listening beyond loopback.
    #[arg(long)]
    pub allow_private_sources: bool,
    /// How long upload URLs and tokens stay valid, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub upload_token_ttl_secs: u64,
    /// Live files a site may hold (each site, with --site); past it, imports and upload URLs
    /// answer 400 SITE_QUOTA_EXCEEDED. Trashed files don't count.
    #[arg(long, value_name = "N")]
    pub quota_files: Option<u64>,
    /// Bytes a site's live files may hold (each site, with --site). A URL import's bytes
    /// count once it is processed, an upload's at once.
    #[arg(long, value_name = "N")]
    pub quota_bytes: Option<u64>,
    /// Answer as sparsely as proto3 JSON may (no empty lists or strings, false, 0 or null)
    /// and with fields no client knows, to test that a client reads tolerantly.
    #[arg(long)]
    pub sparse_answers: bool,
}

impl ServeArgs {
    /// The keys of --api-key and --api-key-file together.
    fn keys(&self) -> Result<Vec<String>, UsageError> {
        let mut keys = self.api_keys.clone();
        if let Some(path) = &self.api_key_file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                UsageError(format!("can't read --api-key-file {}: {e}", path.display()))
            })?;
            keys.extend(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(str::to_string),
            );
            if keys.len() == self.api_keys.len() {
                return Err(UsageError(format!(
                    "--api-key-file {} holds no key",
                    path.display()
                )));
            }
        }
        Ok(keys)
    }

    /// The sites of --site and their --site-rate-limit.
    fn sites(&self) -> Result<Vec<SiteConfig>, UsageError> {
        let mut sites: Vec<SiteConfig> = Vec::new();
        for spec in &self.sites {
            let (id, key) = spec.split_once('=').ok_or_else(|| {
                UsageError(format!("--site {:?}: expected ID=KEY", redact_spec(spec)))
            })?;
            if !valid_site_id(id) {
                return Err(UsageError(format!(
                    "--site {id}: a site id is 1-64 of A-Z a-z 0-9 . _ - (not starting with .)"
                )));
            }
            if sites.iter().any(|s| s.id == id) {
                return Err(UsageError(format!("--site {id} is given twice")));
            }
            let key = resolve_key(id, key)?;
            sites.push(SiteConfig {
                id: id.to_string(),
                api_keys: vec![key],
                rate_limit_per_minute: None,
            });
        }
        for spec in &self.site_rate_limits {
            let bad = || {
                UsageError(format!(
                    "--site-rate-limit {spec:?}: expected ID=RPM (RPM ≥ 1)"
                ))
            };
            let (id, rpm) = spec.split_once('=').ok_or_else(bad)?;
            let rpm: u32 = rpm.trim().parse().ok().filter(|r| *r > 0).ok_or_else(bad)?;
            let site = sites
                .iter_mut()
                .find(|s| s.id == id)
                .ok_or_else(|| UsageError(format!("--site-rate-limit {id}: no --site {id}=KEY")))?;
            site.rate_limit_per_minute = Some(rpm);
        }
        Ok(sites)
    }

    pub fn to_config(&self) -> Result<ServerConfig, UsageError> {
        let loopback = self.listen.ip().is_loopback();
        let sites = self.sites()?;
        let api_keys = self.keys()?;
        if !sites.is_empty() && !api_keys.is_empty() {
            return Err(UsageError(
                "--site gives each site its key: drop --api-key, --api-key-file and MEDIA_MANAGER_API_KEY"
                    .to_string(),
            ));
        }
        let api_keys = if sites.is_empty() {
            api_keys
        } else {
            // Only to pass the check below: every site is keyed.
            sites.iter().flat_map(|s| s.api_keys.clone()).collect()
        };
        if !loopback && api_keys.is_empty() {
            return Err(UsageError(format!(
                "refusing to listen on {} without an API key: pass --api-key, or listen on 127.0.0.1",
                self.listen
            )));
        }
        if api_keys.iter().any(|k| k.trim().is_empty()) {
            return Err(UsageError("--api-key must not be empty".to_string()));
        }
        if self.max_bulk_items == 0 {
            return Err(UsageError(
                "--max-bulk-items must be at least 1".to_string(),
            ));
        }
        if self.rate_limit == Some(0) {
            return Err(UsageError(
                "--rate-limit must be at least 1 request per minute".to_string(),
            ));
        }
        let mut config = ServerConfig::new(&self.data_dir);
        if self.max_connections == 0 {
            return Err(UsageError(
                "--max-connections must be at least 1".to_string(),
            ));
        }
        config.api_keys = if sites.is_empty() {
            api_keys
        } else {
            Vec::new()
        };
        config.sites = sites;
        config.allowed_hosts = self.allowed_hosts.clone();
        config.max_connections = self.max_connections;
        config.header_read_timeout = Duration::from_secs(self.header_read_timeout_secs.max(1));
        config.idle_timeout = Duration::from_secs(self.idle_timeout_secs.max(1));
        config.site_id = self.site_id.clone();
        config.public_url = self.public_url.clone();
        config.max_bulk_items = self.max_bulk_items;
        config.rate_limit_per_minute = self.rate_limit;
        config.rate_limit_burst = self.rate_burst;
        config.faults = FaultConfig {
            seed: self.seed,
            latency: self.latency,
            error_rate: self.error_rate,
            lost_response_rate: self.lost_response_rate,
            slow_response_rate: self.slow_response_rate,
            slow_response: self.slow_response,
            performed_error_rate: self.performed_error_rate,
            omit_retry_after: self.no_retry_after,
            item_failure_rate: self.item_failure_rate,
            processing_time: self.processing_time,
            processing_failure_rate: self.processing_failure_rate,
        };
        config.processing = ProcessingConfig {
            concurrency: self.processing_concurrency.max(1),
            max_source_bytes: self.max_file_bytes,
            fetch_timeout: Duration::from_secs(self.fetch_timeout_secs.max(1)),
            // Beyond loopback, the importer must not become a way into the internal network.
            allow_private_sources: loopback || self.allow_private_sources,
            ..ProcessingConfig::default()
        };
        config.upload_token_ttl = Duration::from_secs(self.upload_token_ttl_secs.max(1));
        config.max_upload_bytes = self.max_file_bytes;
        config.quota_files = self.quota_files;
        config.quota_bytes = self.quota_bytes;
        config.sparse_answers = self.sparse_answers;
        Ok(config)
    }
}

/// A --site spec fit for an error message: the id, never the key.
fn redact_spec(spec: &str) -> String {
    if spec.starts_with('@') || !spec.contains('=') {
        "…".to_string()
    } else {
        format!("{}=…", spec.split('=').next().unwrap_or_default())
    }
}

/// The key of `--site ID=KEY`: `@env:VAR`, `@file:PATH` or the key itself. Errors name the
/// site and where the key was looked for, never the key.
fn resolve_key(id: &str, spec: &str) -> Result<String, UsageError> {
    let key = if let Some(var) = spec.strip_prefix("@env:") {
        std::env::var(var).map_err(|_| {
            UsageError(format!(
                "--site {id}: environment variable {var} is not set"
            ))
        })?
    } else if let Some(path) = spec.strip_prefix("@file:") {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("--site {id}: can't read key file {path}: {e}")))?;
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .ok_or_else(|| UsageError(format!("--site {id}: key file {path} holds no key")))?
    } else {
        spec.to_string()
    };
    let key = key.trim().to_string();
    if key.is_empty() {
        return Err(UsageError(format!("--site {id}: the key is empty")));
    }
    Ok(key)
}

pub async fn execute(
    args: ServeArgs,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Ending> {
    let config = args.to_config()?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("can't listen on {}", args.listen))?;
    eprintln!(
        "media-migrate: local Media Manager on http://{} (data in {}{})",
        listener.local_addr().context("reading the bound address")?,
        args.data_dir.display(),
        match config.sites.len() {
            0 => String::new(),
            n => format!("; {n} sites under sites/"),
        }
    );
    wix_media_manager::serve(listener, config, shutdown).await?;
    Ok(Ending::Done)
}
