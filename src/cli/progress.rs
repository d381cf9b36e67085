//! Progress of a run on stderr: a line every few seconds with rows by state and the request
//! rate against the budget. Silent with `--quiet`.

use std::time::Duration;

use tokio::task::JoinHandle;

use crate::api::client::MediaClient;
use crate::journal::RowState;
use crate::pipeline::SharedJournal;

const EVERY: Duration = Duration::from_secs(5);

pub fn spawn(journal: SharedJournal, client: MediaClient, quiet: bool) -> JoinHandle<()> {
    tokio::spawn(async move {
        if quiet {
            return;
        }
        let mut last_calls = 0u64;
        let mut tick = tokio::time::interval(EVERY);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Ok(counts) = journal.with(|j| j.all_state_counts()).await else {
                continue;
            };
            let get = |s: RowState| counts.get(&s).copied().unwrap_or(0);
            let calls: u64 = client.counters().snapshot().calls.values().sum();
            let per_minute = (calls - last_calls) as f64 * 60.0 / EVERY.as_secs_f64();
            last_calls = calls;
            eprintln!(
                "media-migrate: {} ready, {} processing, {} failed, {} to send, {} in doubt | {calls} calls, {per_minute:.0}/min (budget {:.0}/min)",
                get(RowState::Ready),
                get(RowState::Accepted),
                get(RowState::Failed),
                get(RowState::Queued) + get(RowState::Sending),
                get(RowState::InDoubt),
                client.budget().current_rate(),
            );
        }
    })
}
