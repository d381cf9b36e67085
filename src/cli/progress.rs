//! Progress of a run on stderr, from the first call: rows by phase (read, to send, processing,
//! ready, failed), elapsed time, files a minute, requests a minute against the budget, an ETA
//! from the budget model, and the commonest failure so far. On a terminal: one line redrawn in
//! place, cut to the terminal's width (the least useful parts go first). Elsewhere (a
//! scheduler's log): the whole line every few seconds. Silent with `--quiet`.

use std::collections::VecDeque;
use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::api::client::MediaClient;
use crate::journal::RowState;
use crate::pipeline::SharedJournal;
use wix_media_wire::types::limits::GET_FILES_MAX_IDS;

/// A running progress display; `finish` clears the line.
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

/// What the line shows, read from the journal and the client at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Snapshot {
    /// Rows read into the journal so far.
    pub read: u64,
    /// Rows not sent yet (queued), and being sent or in doubt.
    pub to_send: u64,
    pub sending: u64,
    /// Accepted by the target, not processed yet.
    pub processing: u64,
    pub ready: u64,
    pub failed: u64,
    pub elapsed: Duration,
    /// READY files a minute since the start.
    pub files_per_minute: f64,
    /// API requests a minute (rolling), and the budget's current rate.
    pub calls_per_minute: f64,
    pub budget_per_minute: f64,
    /// Time to finish at the budget's rate, if it can be told.
    pub eta: Option<Duration>,
    /// The commonest failure so far, and how many rows it failed.
    pub top_failure: Option<(String, u64)>,
}

impl Snapshot {
    /// Every row read is in exactly one phase.
    pub fn phases_add_up(&self) -> bool {
        self.to_send + self.sending + self.processing + self.ready + self.failed == self.read
    }
}

/// API calls the rest of the work needs at the floor: a Bulk Import per `batch` rows to send,
/// and a poll per 100 files to confirm.
fn calls_left(s: &Snapshot, batch: u64) -> u64 {
    let send = s.to_send + s.sending;
    send.div_ceil(batch.max(1)) + (send + s.processing).div_ceil(GET_FILES_MAX_IDS as u64)
}

/// The ETA: the calls left at the budget's rate, plus a processing time for the last files.
/// It moves with the budget (which moves slowly) and the work left, never with a tick's noise.
pub fn eta(s: &Snapshot, batch: u64, processing: Duration) -> Option<Duration> {
    if s.budget_per_minute <= 0.0 {
        return None;
    }
    let left = calls_left(s, batch);
    if left == 0 {
        return Some(Duration::ZERO);
    }
    let calls = Duration::from_secs_f64(left as f64 * 60.0 / s.budget_per_minute);
    Some(calls + processing)
}

/// `1234` → `1234`, `12345` → `12.3k`, `1234567` → `1.2M`.
fn count(n: u64) -> String {
    match n {
        0..10_000 => n.to_string(),
        10_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

/// `42s`, `3m05s`, `2h07m`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

/// The line, at most `width` characters: parts are kept by importance and shown in reading
/// order. Everything is ASCII, so characters are columns.
pub fn render(s: &Snapshot, width: usize) -> String {
    // (importance: lower is kept first, text)
    let mut parts: Vec<(u8, String)> =
        vec![(0, format!("{}/{} ready", count(s.ready), count(s.read)))];
    if s.failed > 0 {
        parts.push((1, format!("{} failed", count(s.failed))));
    }
    parts.push((3, format!("{} processing", count(s.processing))));
    parts.push((4, format!("{} to send", count(s.to_send + s.sending))));
    parts.push((5, clock(s.elapsed)));
    parts.push((
        6,
        format!(
            "{:.0}/{:.0} req/min",
            s.calls_per_minute, s.budget_per_minute
        ),
    ));
    parts.push((7, format!("{} files/min", count(s.files_per_minute as u64))));
    if let Some(eta) = s.eta {
        parts.push((2, format!("ETA {}", clock(eta))));
    }
    if let Some((code, n)) = &s.top_failure {
        parts.push((8, format!("top: {code} x{}", count(*n))));
    }
    const SEP: &str = " | ";
    let mut keep: Vec<usize> = (0..parts.len()).collect();
    keep.sort_by_key(|&i| parts[i].0);
    let mut chosen = Vec::new();
    let mut used = 0;
    for i in keep {
        let extra = parts[i].1.len() + if chosen.is_empty() { 0 } else { SEP.len() };
        if used + extra <= width {
            used += extra;
            chosen.push(i);
        }
    }
    chosen.sort_unstable();
    let line = chosen
        .iter()
        .map(|&i| parts[i].1.as_str())
        .collect::<Vec<_>>()
        .join(SEP);
    // Even the first part may not fit a very narrow terminal.
    line.chars().take(width).collect()
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

/// The terminal's width, from `COLUMNS` or the terminal itself; 80 when it can't be told.
fn terminal_width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .or_else(|| {
            let (_, cols) = console_size()?;
            Some(cols)
        })
        .unwrap_or(80)
}

#[cfg(unix)]
fn console_size() -> Option<(usize, usize)> {
    // SAFETY: TIOCGWINSZ fills a winsize for the descriptor; nothing else is touched.
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        (libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0)
            .then_some((usize::from(ws.ws_row), usize::from(ws.ws_col)))
    }
}

#[cfg(not(unix))]
fn console_size() -> Option<(usize, usize)> {
    None
}

/// How often failure reasons are read (a grouped query, so not every tick).
const REASONS_EVERY: Duration = Duration::from_secs(5);
/// The processing time the ETA allows for the last files.
const LAST_PROCESSING: Duration = Duration::from_secs(5);

pub fn spawn(journal: SharedJournal, client: MediaClient, batch: usize, quiet: bool) -> Progress {
    let terminal = !quiet && std::io::stderr().is_terminal();
    let bar = terminal.then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{msg}").expect("the template is valid"));
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
        let start = Instant::now();
        let mut rate = CallRate::default();
        let mut tick = tokio::time::interval(every);
        let mut top_failure = None;
        let mut reasons_at = start;
        loop {
            tick.tick().await;
            let Ok(counts) = journal.with(|j| j.state_counts(None)).await else {
                continue;
            };
            let get = |s: RowState| counts.get(&s).copied().unwrap_or(0);
            let now = Instant::now();
            if get(RowState::Failed) > 0 && now >= reasons_at {
                reasons_at = now + REASONS_EVERY;
                if let Ok(r) = journal.with(|j| j.failure_reasons(1)).await {
                    top_failure = r.into_iter().next();
                }
            }
            let calls: u64 = client.counters().snapshot().calls.values().sum();
            let elapsed = now - start;
            let mut snap = Snapshot {
                read: counts.values().sum(),
                to_send: get(RowState::Queued),
                sending: get(RowState::Sending) + get(RowState::InDoubt),
                processing: get(RowState::Accepted),
                ready: get(RowState::Ready),
                failed: get(RowState::Failed),
                elapsed,
                files_per_minute: get(RowState::Ready) as f64 * 60.0
                    / elapsed.as_secs_f64().max(1.0),
                calls_per_minute: rate.per_minute(now, calls),
                budget_per_minute: client.budget().current_rate(),
                eta: None,
                top_failure: top_failure.clone(),
            };
            snap.eta = eta(&snap, batch as u64, LAST_PROCESSING);
            match &shown {
                Some(bar) => bar.set_message(render(&snap, terminal_width().saturating_sub(1))),
                None => eprintln!("media-migrate: {}", render(&snap, usize::MAX)),
            }
        }
    });
    Progress { task, bar }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn busy() -> Snapshot {
        let mut s = Snapshot {
            read: 1_234_567,
            to_send: 700_000,
            sending: 300,
            processing: 4_267,
            ready: 520_000,
            failed: 10_000,
            elapsed: Duration::from_secs(3 * 3600 + 7 * 60),
            files_per_minute: 2_777.0,
            calls_per_minute: 178.4,
            budget_per_minute: 180.0,
            eta: None,
            top_failure: Some(("SOURCE_NOT_FOUND".to_string(), 9_100)),
        };
        s.eta = eta(&s, 100, LAST_PROCESSING);
        s
    }

    /// At any width the line fits, and what it keeps comes in importance order: ready first,
    /// then failures, ETA, and so on.
    #[test]
    fn the_line_fits_every_width() {
        let s = busy();
        assert!(s.phases_add_up(), "{s:?}");
        for width in 0..200 {
            let line = render(&s, width);
            assert!(line.chars().count() <= width, "{width}: {line}");
        }
        let at80 = render(&s, 80);
        assert!(
            at80.starts_with("520.0k/1.2M ready | 10.0k failed"),
            "{at80}"
        );
        assert!(at80.contains("ETA "), "{at80}");
        let wide = render(&s, 200);
        for part in [
            "processing",
            "to send",
            "req/min",
            "files/min",
            "top: SOURCE_NOT_FOUND",
        ] {
            assert!(wide.contains(part), "{part}: {wide}");
        }
    }

    /// The ETA is the calls left at the budget's rate (plus the last processing): 7,003
    /// imports and 7,043 polls at 180/min.
    #[test]
    fn the_eta_comes_from_the_budget() {
        let s = busy();
        let calls = 700_300u64.div_ceil(100) + (700_300u64 + 4_267).div_ceil(100);
        let want = Duration::from_secs_f64(calls as f64 / 3.0) + LAST_PROCESSING;
        assert_eq!(s.eta, Some(want));
        let done = Snapshot {
            budget_per_minute: 180.0,
            ..Snapshot::default()
        };
        assert_eq!(eta(&done, 100, LAST_PROCESSING), Some(Duration::ZERO));
        assert_eq!(eta(&Snapshot::default(), 100, LAST_PROCESSING), None);
    }

    #[test]
    fn counts_and_clocks_are_short() {
        assert_eq!(count(9_999), "9999");
        assert_eq!(count(12_345), "12.3k");
        assert_eq!(count(2_500_000), "2.5M");
        assert_eq!(clock(Duration::from_secs(42)), "42s");
        assert_eq!(clock(Duration::from_secs(185)), "3m05s");
        assert_eq!(clock(Duration::from_secs(7_620)), "2h07m");
    }
}
