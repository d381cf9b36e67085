//! Progress of a run on stderr. On a terminal: a bar of rows done (READY or FAILED) with rows
//! by state, the request rate against the budget and an ETA from the rolling rate. Elsewhere
//! (a scheduler's log): a plain line every few seconds. Silent with `--quiet`.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::api::client::MediaClient;
use crate::journal::RowState;
use crate::pipeline::SharedJournal;

/// A running progress display; `finish` clears the bar.
pub struct Progress {
    task: JoinHandle<()>,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn finish(self) {
        self.task.abort();
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The window of the request rate shown.
const RATE_WINDOW: Duration = Duration::from_secs(30);

/// Calls seen at recent ticks: the rate is taken over a rolling window, not one tick.
#[derive(Default)]
struct CallRate {
    samples: VecDeque<(Instant, u64)>,
}

impl CallRate {
    /// Calls a minute over the window, given the calls made by `now`.
    fn per_minute(&mut self, now: Instant, calls: u64) -> f64 {
        self.samples.push_back((now, calls));
        while self.samples.len() > 2
            && self
                .samples
                .front()
                .is_some_and(|(t, _)| now - *t > RATE_WINDOW)
        {
            self.samples.pop_front();
        }
        match self.samples.front() {
            Some((t, c)) if now > *t => (calls - c) as f64 * 60.0 / (now - *t).as_secs_f64(),
            _ => 0.0,
        }
    }
}

pub fn spawn(journal: SharedJournal, client: MediaClient, quiet: bool) -> Progress {
    let terminal = !quiet && std::io::stderr().is_terminal();
    let bar = terminal.then(|| {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} done, ETA {eta} | {msg}")
                .expect("the template is valid"),
        );
        bar
    });
    let every = if terminal {
        Duration::from_millis(500)
    } else {
        Duration::from_secs(5)
    };
    let shown = bar.clone();
    let task = tokio::spawn(async move {
        if quiet {
            return;
        }
        let mut rate = CallRate::default();
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Ok(counts) = journal.with(|j| j.state_counts(None)).await else {
                continue;
            };
            let get = |s: RowState| counts.get(&s).copied().unwrap_or(0);
            let calls: u64 = client.counters().snapshot().calls.values().sum();
            let per_minute = rate.per_minute(Instant::now(), calls);
            let line = format!(
                "{} ready, {} processing, {} failed, {} to send, {} in doubt | {calls} calls, {per_minute:.0}/min of {:.0}/min",
                get(RowState::Ready),
                get(RowState::Accepted),
                get(RowState::Failed),
                get(RowState::Queued) + get(RowState::Sending),
                get(RowState::InDoubt),
                client.budget().current_rate(),
            );
            match &shown {
                Some(bar) => {
                    bar.set_length(counts.values().sum());
                    bar.set_position(get(RowState::Ready) + get(RowState::Failed));
                    bar.set_message(line);
                }
                None => eprintln!("media-migrate: {line}"),
            }
        }
    });
    Progress { task, bar }
}
