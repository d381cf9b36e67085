//! `run`'s metrics flags (`--metrics-file`, `--pushgateway`, `--metrics-job`,
//! `--metrics-instance`), validated, and publishing a finished run's metrics: a file or a push
//! that fails is a warning on stderr, never a failed run.

use std::path::PathBuf;

use clap::Args;

use super::UsageError;
use crate::metrics::{self, RunMetrics};

#[derive(Debug, Clone, Args)]
pub struct MetricsArgs {
    /// Write the run's metrics to PATH in Prometheus text format (for node_exporter's textfile
    /// collector: a `.prom` file in its directory), replaced atomically after each run. For
    /// `fleet`, {site} in PATH stands for each site's id (one file per site).
    #[arg(long, value_name = "PATH")]
    pub metrics_file: Option<PathBuf>,
    /// Push the run's metrics to this Prometheus Pushgateway (e.g. http://pushgateway:9091),
    /// grouped by --metrics-job and --metrics-instance. A failed push is a warning.
    #[arg(
        long,
        value_name = "URL",
        env = "MEDIA_MIGRATE_PUSHGATEWAY",
        hide_env_values = true
    )]
    pub pushgateway: Option<String>,
    /// The `job` label of the metrics.
    #[arg(long, value_name = "NAME", default_value = "media-migrate")]
    pub metrics_job: String,
    /// The `instance` label of the metrics (default: the target, as the journal names it:
    /// base URL#site id, or local:DIR for the embedded Media Manager). For `fleet`, {site}
    /// stands for each site's id.
    #[arg(long, value_name = "NAME")]
    pub metrics_instance: Option<String>,
}

/// Where a run's metrics go, validated.
#[derive(Debug, Clone, Default)]
pub struct MetricsConfig {
    pub file: Option<PathBuf>,
    pub pushgateway: Option<url::Url>,
    pub job: String,
    pub instance: Option<String>,
}

impl MetricsArgs {
    pub fn to_config(&self) -> Result<MetricsConfig, UsageError> {
        if self.metrics_job.is_empty() {
            return Err(UsageError("--metrics-job must not be empty".to_string()));
        }
        let pushgateway = self
            .pushgateway
            .as_deref()
            .map(|text| {
                url::Url::parse(text)
                    .ok()
                    .filter(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
                    .ok_or_else(|| {
                        UsageError(
                            "--pushgateway must be an http:// or https:// URL such as http://pushgateway:9091"
                                .to_string(),
                        )
                    })
            })
            .transpose()?;
        Ok(MetricsConfig {
            file: self.metrics_file.clone(),
            pushgateway,
            job: self.metrics_job.clone(),
            instance: self.metrics_instance.clone(),
        })
    }
}

impl MetricsConfig {
    /// Writes the file and pushes, as configured; `identity` names the target when no
    /// instance was given. Failures are told on stderr and go no further.
    pub async fn publish(&self, run: &RunMetrics, identity: &str) {
        let instance = self.instance.as_deref().unwrap_or(identity);
        if let Some(path) = &self.file {
            let previous = metrics::previous_last_success(path);
            let labels = [("job", self.job.as_str()), ("instance", instance)];
            let text = metrics::render(run, &labels, run.last_success(previous));
            if let Err(e) = metrics::write_file(path, &text) {
                eprintln!(
                    "media-migrate: warning: writing metrics to {}: {e}",
                    path.display()
                );
            }
        }
        if let Some(gateway) = &self.pushgateway {
            // A failed run pushes no last-success time, and only replaces the metrics it
            // pushes: the gateway keeps the time of the last success.
            let body = metrics::render(run, &[], run.last_success(None));
            if let Err(e) = metrics::push(gateway, &self.job, instance, body, run.success).await {
                eprintln!("media-migrate: warning: {e}");
            }
        }
    }
}
