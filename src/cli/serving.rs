//! `run --serve-sources [PUBLIC_BASE_URL]` and `--serve-sources-listen ADDR`: binds the
//! listener the manifest's local files are served from before the run, and closes it after.
//! What is served and how it is signed is `sources::served`.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::UsageError;
use super::args::Connected;
use crate::sources::served::{self, ServedSources};

/// How long past the wait for processing a served URL stays valid: imports queued late in the
/// run and the target's own retries still find it.
const URL_MARGIN: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, Clone, Args)]
pub struct ServeSourcesArgs {
    /// Import local files through Bulk Import (100 a call) instead of one upload URL each:
    /// this run serves them at signed, expiring URLs under PUBLIC_BASE_URL, the address (or
    /// tunnel) where the target reaches --serve-sources-listen, until every row is READY or
    /// failed. Without a URL, for a target on this machine (the embedded local Media
    /// Manager, or a --base-url on loopback): the listener's own address.
    #[arg(long, value_name = "PUBLIC_BASE_URL", num_args = 0..=1, default_missing_value = "")]
    pub serve_sources: Option<String>,
    /// Where --serve-sources listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:0")]
    pub serve_sources_listen: SocketAddr,
}

/// The files being served, and the task serving them.
pub struct Serving {
    pub sources: ServedSources,
    pub local_addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

impl ServeSourcesArgs {
    /// Checks the flags before anything is bound or connected.
    pub fn validate(&self, wait: bool) -> Result<(), UsageError> {
        let Some(base) = self.serve_sources.as_deref() else {
            return Ok(());
        };
        if !wait {
            return Err(UsageError(
                "--serve-sources needs the run to wait for processing (the files are served only while it runs); drop --no-wait".to_string(),
            ));
        }
        if base.is_empty() {
            return Ok(());
        }
        match url::Url::parse(base) {
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.query().is_none() => Ok(()),
            _ => Err(UsageError(format!(
                "--serve-sources takes the public base URL the target reaches this machine at (http:// or https://, no query), not {base:?}; give the manifest before it, or no URL for a target on this machine"
            ))),
        }
    }

    /// Binds the listener and starts serving, when the flag is given (checked by
    /// [`Self::validate`]); URLs stay valid for `wait_timeout` and a margin.
    pub async fn start(
        &self,
        connected: &Connected,
        wait_timeout: Duration,
    ) -> anyhow::Result<Option<Serving>> {
        let Some(base) = self.serve_sources.as_deref() else {
            return Ok(None);
        };
        let listener = tokio::net::TcpListener::bind(self.serve_sources_listen)
            .await
            .with_context(|| {
                format!(
                    "binding --serve-sources-listen {}",
                    self.serve_sources_listen
                )
            })?;
        let local_addr = listener.local_addr().context("the listener's address")?;
        let base = if base.is_empty() {
            if !target_is_local(connected) {
                return Err(UsageError(
                    "--serve-sources needs PUBLIC_BASE_URL, where the target reaches --serve-sources-listen (a public address or a tunnel), unless the target runs on this machine".to_string(),
                )
                .into());
            }
            format!("http://{local_addr}")
        } else {
            base.to_string()
        };
        let sources = ServedSources::new(&base, wait_timeout + URL_MARGIN);
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(served::serve(listener, sources.clone(), async {
            let _ = stopped.await;
        }));
        Ok(Some(Serving {
            sources,
            local_addr,
            stop,
            task,
        }))
    }
}

impl Serving {
    /// Stops serving and closes the listener.
    /// Stops serving: requests in flight may finish for up to [`STOP_GRACE`], then are cut.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        let mut task = self.task;
        match tokio::time::timeout(STOP_GRACE, &mut task).await {
            Ok(ended) => ended
                .context("the --serve-sources task")?
                .context("serving local files"),
            Err(_) => {
                task.abort();
                Ok(())
            }
        }
    }
}

/// How long requests in flight may go on once the run is over.
const STOP_GRACE: std::time::Duration = std::time::Duration::from_secs(20);

/// The embedded local Media Manager, or a target whose base URL is on loopback.
fn target_is_local(connected: &Connected) -> bool {
    connected.embedded_dir().is_some()
        || url::Url::parse(&connected.target.base_url)
            .ok()
            .and_then(|u| match u.host()? {
                url::Host::Domain(d) => Some(d.eq_ignore_ascii_case("localhost")),
                url::Host::Ipv4(ip) => Some(ip.is_loopback()),
                url::Host::Ipv6(ip) => Some(ip.is_loopback()),
            })
            .unwrap_or(false)
}
