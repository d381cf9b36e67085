//! Pushing a run's metrics to a Prometheus Pushgateway, grouped by `job` and `instance`: the
//! whole group replaced (`PUT`) after a successful run, only the metrics pushed (`POST`)
//! otherwise, so the gateway keeps the last success time of an earlier run. Errors name the
//! gateway without any credentials its URL carries.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;

/// How long a push may take before it is given up (it never holds a run up for long).
const PUSH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error("the Pushgateway URL {0} can't take a path")]
    Url(String),
    #[error("pushing metrics to {gateway} failed: {message}")]
    Failed { gateway: String, message: String },
}

/// The group's URL: `{gateway}/metrics/job/{job}/instance/{instance}`, a value holding a `/`
/// (or empty) in the gateway's `@base64` form, any other percent-encoded.
pub fn group_url(gateway: &url::Url, job: &str, instance: &str) -> Result<url::Url, PushError> {
    let mut url = gateway.clone();
    url.set_query(None);
    url.set_fragment(None);
    {
        let mut path = url
            .path_segments_mut()
            .map_err(|()| PushError::Url(redacted(gateway)))?;
        path.pop_if_empty().push("metrics");
        for (label, value) in [("job", job), ("instance", instance)] {
            if value.is_empty() || value.contains('/') {
                path.push(&format!("{label}@base64"));
                // The gateway's spelling of an empty value is a lone `=`.
                let encoded = URL_SAFE.encode(value);
                path.push(if encoded.is_empty() { "=" } else { &encoded });
            } else {
                path.push(label);
                path.push(value);
            }
        }
    }
    Ok(url)
}

/// The gateway's URL without user, password, query or fragment: what a message may show.
pub fn redacted(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.set_fragment(None);
    shown.to_string()
}

/// Sends `body` (text exposition without `job`/`instance` labels) to the group of `job` and
/// `instance`: replacing the group when `replace`, else only the metrics in `body`.
pub async fn push(
    gateway: &url::Url,
    job: &str,
    instance: &str,
    body: String,
    replace: bool,
) -> Result<(), PushError> {
    let mut url = group_url(gateway, job, instance)?;
    // Credentials go in a header of their own, never in a URL a message could show.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let failed = |message: String| PushError::Failed {
        gateway: redacted(gateway),
        message,
    };
    crate::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(PUSH_TIMEOUT)
        .connect_timeout(PUSH_TIMEOUT / 2)
        .user_agent(concat!("media-migrate/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| failed(e.without_url().to_string()))?;
    let method = if replace {
        reqwest::Method::PUT
    } else {
        reqwest::Method::POST
    };
    let mut request = http
        .request(method, url)
        .header(reqwest::header::CONTENT_TYPE, "text/plain; version=0.0.4")
        .body(body);
    if !gateway.username().is_empty() {
        request = request.basic_auth(gateway.username(), gateway.password());
    }
    let response = request
        .send()
        .await
        .map_err(|e| failed(transport_message(e)))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    let text: String = text.trim().chars().take(200).collect();
    Err(failed(format!("the gateway answered {status}: {text}")))
}

/// A transport error's cause chain, without the URL (which may carry credentials).
fn transport_message(e: reqwest::Error) -> String {
    let e = e.without_url();
    let mut message = e.to_string();
    let mut source = std::error::Error::source(&e);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
