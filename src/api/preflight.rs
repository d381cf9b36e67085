//! Before the work: one cheap call (a one-item folder listing) checks that something answers
//! at the base URL and that it accepts the key for the site. A refusal (401/403) is final at
//! once, with what to check; a target that doesn't answer is asked again with backoff for a
//! bounded time. The same advice goes with a refusal in the middle of a run.

use std::time::Duration;

use tokio::time::Instant;

use super::client::{CallError, MediaClient};

/// Why the target can't be used.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// It answered, and refused the key, its permissions or the site.
    #[error("{0}")]
    Refused(String),
    /// Nothing usable answered for the whole patience.
    #[error(
        "the target at {base_url} did not answer usefully for {waited}s ({last}): check --base-url (or WIX_BASE_URL) and your network; for a local `media-migrate serve`, check it is running and use the URL it printed; --connect-timeout-secs waits longer"
    )]
    Unreachable {
        base_url: String,
        waited: u64,
        last: String,
    },
}

/// What to tell the user about a refusal (`e` is a 401 or 403): what was refused and what to
/// check. Never the key itself.
pub fn refusal_advice(e: &CallError) -> String {
    let CallError::Api(api) = e else {
        return e.to_string();
    };
    let what = match api.status {
        401 => "the target refused the API key",
        _ => "the target refused access to the site's Media Manager",
    };
    let check = match api.status {
        401 => {
            "check that WIX_API_KEY (or --api-key) holds a current API key of the account that owns the site"
        }
        _ => {
            "check that the API key has the Media Manager permissions (Manage Media Manager) and that WIX_SITE_ID (or --site-id) is the id of a site of that account"
        }
    };
    let code = api.code.as_deref().unwrap_or("");
    format!(
        "{what} ({} {code}: {}); {check}. Nothing more was sent: rows not done stay queued, and the same command with the right credentials continues",
        api.status, api.description
    )
}

/// Checks the target before the work; waits up to `patience` for one that doesn't answer.
pub async fn check_target(client: &MediaClient, patience: Duration) -> Result<(), TargetError> {
    let start = Instant::now();
    let mut rng = fastrand::Rng::new();
    let mut attempt = 0;
    loop {
        let left = patience.saturating_sub(start.elapsed());
        let last = match tokio::time::timeout(left, client.check_access()).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) if e.is_access_refused() => {
                return Err(TargetError::Refused(refusal_advice(&e)));
            }
            // Any other answer (a 429 from a busy site, a 5xx, an odd body) says the target is
            // there and took the key: the run's own retries deal with the rest.
            Ok(Err(e @ (CallError::Api(_) | CallError::Decode { .. }))) => {
                tracing::info!(error = %e, "the target answered the check with an error; going on");
                return Ok(());
            }
            Ok(Err(e)) => e.to_string(),
            Err(_) => "no answer in time".to_string(),
        };
        let delay = client.backoff().delay(attempt, &mut rng);
        if start.elapsed() + delay >= patience {
            return Err(TargetError::Unreachable {
                base_url: client.target().base_url.clone(),
                waited: patience.as_secs(),
                last,
            });
        }
        tracing::info!(error = %last, "the target did not answer; asking again");
        tokio::time::sleep(delay).await;
        attempt += 1;
    }
}
