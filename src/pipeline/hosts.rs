//! Politeness toward source hosts: per host, a cap on files the target is fetching at once
//! (accepted, not yet READY or FAILED), so a small host is not flooded by the target's fetches.
//!
//! The cap is a congestion window, adapted the way TCP adapts its own: it starts at two
//! batches and grows by one file per file READY (doubling per round trip) until the host first shows
//! trouble; then it grows by a tenth of a batch per window's worth of answers (a round trip's),
//! and halves when more than a third of a window's answers were FAILED, down to a tenth of a
//! batch. A host whose files fail now and then (a flaky
//! link here and there) keeps its window: re-importing heals those, and holding every other
//! file back would not. Rows of a host without room wait in the queue while rows of other
//! hosts fill the batches, so one slow host never starves the others.
//!
//! `--source-host-limit N` fixes every host's window at `N`. Without `--wait` nothing is
//! confirmed, so nothing is paced.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Windows never grow past this (the readiness tracker's backlog cap binds long before).
const MAX_WINDOW: f64 = 100_000.0;
/// A new host's window, in batches: a batch in fetch while the next is sent.
const START_BATCHES: f64 = 2.0;
/// Answers below which a window's trouble is not judged (too few to tell).
const MIN_JUDGED: u32 = 20;

/// A host's key: `host[:port]` of a URL source; `None` for what isn't a URL with a host.
pub(crate) fn host_of(source: &str) -> Option<String> {
    let url = url::Url::parse(source).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
}

/// One host's window and the files it has in fetch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Window {
    /// Files the target may fetch from the host at once.
    pub(crate) limit: f64,
    /// Files sent or accepted and not final yet.
    pub(crate) in_fetch: usize,
    /// Growing by a file per READY file, until the first trouble.
    slow_start: bool,
    /// Answers (READY or FAILED) and failures in the current judgement, and the answers it
    /// takes (the window when it began: a round trip's worth).
    answered: u32,
    failed: u32,
    judged_at: u32,
    /// Fixed by the user: never adapted.
    fixed: bool,
}

impl Window {
    pub(crate) fn adaptive(start: f64) -> Self {
        Self {
            limit: start,
            in_fetch: 0,
            slow_start: true,
            answered: 0,
            failed: 0,
            judged_at: judgement(start),
            fixed: false,
        }
    }

    pub(crate) fn fixed(limit: usize) -> Self {
        Self {
            fixed: true,
            ..Self::adaptive(limit.max(1) as f64)
        }
    }

    /// Files that may be sent to the host now.
    pub(crate) fn room(&self) -> usize {
        (self.limit.floor() as usize).saturating_sub(self.in_fetch)
    }

    /// A file of the host came back READY (`ok`) or FAILED; `floor` is the smallest window and
    /// the additive increase.
    pub(crate) fn answered(&mut self, ok: bool, floor: f64) {
        if self.fixed {
            return;
        }
        self.answered += 1;
        if !ok {
            self.failed += 1;
        } else if self.slow_start {
            self.limit = (self.limit + 1.0).min(MAX_WINDOW);
        }
        if self.answered < self.judged_at {
            return;
        }
        if self.failed * 3 > self.answered {
            self.limit = (self.limit / 2.0).max(floor);
            self.slow_start = false;
        } else if !self.slow_start {
            self.limit = (self.limit + floor).min(MAX_WINDOW);
        }
        (self.answered, self.failed) = (0, 0);
        self.judged_at = judgement(self.limit);
    }
}

/// Answers a judgement of a window of `limit` takes.
fn judgement(limit: f64) -> u32 {
    (limit as u32).max(MIN_JUDGED)
}

/// Where a file in fetch came from, and since when.
struct InFetch {
    host: String,
    since: Instant,
}

struct State {
    windows: HashMap<String, Window>,
    files: HashMap<String, InFetch>,
}

/// The windows of every source host of a run.
pub(crate) struct HostPacer {
    state: Mutex<State>,
    /// `None`: adaptive; `Some(n)`: fixed at `n`.
    fixed: Option<usize>,
    /// Off: nothing is paced (nothing is confirmed without waiting for processing).
    on: bool,
    /// The first window (two batches) and the smallest (a tenth of a batch: the additive step
    /// too).
    start: f64,
    floor: f64,
    /// A file in fetch longer than this no longer holds its host's room (it may never end).
    expiry: Duration,
    changed: Notify,
    /// Bumped at every release of room, so a waiter knows whether it missed one.
    version: AtomicU64,
}

impl HostPacer {
    pub(crate) fn new(on: bool, fixed: Option<usize>, batch: usize, expiry: Duration) -> Self {
        let batch = batch.max(1) as f64;
        Self {
            state: Mutex::new(State {
                windows: HashMap::new(),
                files: HashMap::new(),
            }),
            fixed,
            on,
            start: START_BATCHES * batch,
            floor: (batch / 10.0).ceil(),
            expiry,
            changed: Notify::new(),
            version: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn new_window(&self) -> Window {
        match self.fixed {
            Some(n) => Window::fixed(n),
            None => Window::adaptive(self.start),
        }
    }

    /// The room of every host at this moment, for planning a batch.
    pub(crate) fn rooms(&self) -> HostRooms<'_> {
        HostRooms {
            pacer: self,
            taken: HashMap::new(),
            blocked: HashSet::new(),
        }
    }

    fn room(&self, host: &str) -> usize {
        if !self.on {
            return usize::MAX;
        }
        let s = self.lock();
        s.windows
            .get(host)
            .map_or_else(|| self.new_window().room(), Window::room)
    }

    /// Rows of these hosts are being sent.
    pub(crate) fn sending<'a>(&self, hosts: impl IntoIterator<Item = &'a str>) {
        if !self.on {
            return;
        }
        let mut s = self.lock();
        for host in hosts {
            s.windows
                .entry(host.to_string())
                .or_insert_with(|| self.new_window())
                .in_fetch += 1;
        }
    }

    /// A sent row's answer: `Some(file id)` when the target accepted it and is fetching it,
    /// `None` when it is not fetching it (failed, not done, in doubt, or final already —
    /// `final_ok` then says how it ended).
    pub(crate) fn sent(&self, host: &str, fetching: Option<&str>, final_ok: Option<bool>) {
        if !self.on {
            return;
        }
        {
            let mut s = self.lock();
            match fetching {
                Some(id) => {
                    let at = InFetch {
                        host: host.to_string(),
                        since: Instant::now(),
                    };
                    // The same file accepted for two rows (never, but then one's room comes back).
                    if let Some(old) = s.files.insert(id.to_string(), at)
                        && let Some(w) = s.windows.get_mut(&old.host)
                    {
                        w.in_fetch = w.in_fetch.saturating_sub(1);
                    }
                    return;
                }
                None => {
                    if let Some(w) = s.windows.get_mut(host) {
                        w.in_fetch = w.in_fetch.saturating_sub(1);
                        if let Some(ok) = final_ok {
                            w.answered(ok, self.floor);
                        }
                    }
                }
            }
        }
        self.release();
    }

    /// A file in fetch was found READY (`Some(true)`), FAILED (`Some(false)`) or gone (`None`).
    pub(crate) fn finished(&self, file_id: &str, ok: Option<bool>) {
        if !self.on {
            return;
        }
        {
            let mut s = self.lock();
            let Some(f) = s.files.remove(file_id) else {
                return;
            };
            if let Some(w) = s.windows.get_mut(&f.host) {
                w.in_fetch = w.in_fetch.saturating_sub(1);
                if let Some(ok) = ok {
                    w.answered(ok, self.floor);
                }
            }
        }
        self.release();
    }

    /// Files in fetch for longer than the expiry stop holding their hosts' room; returns when
    /// the next one will, if any.
    pub(crate) fn expire(&self, now: Instant) -> Option<Instant> {
        if !self.on {
            return None;
        }
        let mut s = self.lock();
        let expired: Vec<String> = s
            .files
            .iter()
            .filter(|(_, f)| now.saturating_duration_since(f.since) >= self.expiry)
            .map(|(id, _)| id.clone())
            .collect();
        for id in &expired {
            if let Some(f) = s.files.remove(id)
                && let Some(w) = s.windows.get_mut(&f.host)
            {
                w.in_fetch = w.in_fetch.saturating_sub(1);
            }
        }
        if !expired.is_empty() {
            self.release();
        }
        s.files.values().map(|f| f.since + self.expiry).min()
    }

    /// Whether any of `hosts` has files in fetch (so waiting will free room).
    pub(crate) fn any_in_fetch(&self, hosts: &HashSet<String>) -> bool {
        let s = self.lock();
        hosts
            .iter()
            .any(|h| s.windows.get(h).is_some_and(|w| w.in_fetch > 0))
    }

    fn release(&self) {
        self.version.fetch_add(1, Ordering::SeqCst);
        self.changed.notify_waiters();
    }

    /// Counts the releases of room so far.
    pub(crate) fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    /// Completes at the next release of room; create it before looking at [`Self::version`].
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// The hosts whose windows trouble cut below where they started, with their windows now.
    pub(crate) fn cut_hosts(&self) -> Vec<(String, usize)> {
        let s = self.lock();
        let mut cut: Vec<_> = s
            .windows
            .iter()
            .filter(|(_, w)| !w.fixed && w.limit < self.start)
            .map(|(h, w)| (h.clone(), w.limit as usize))
            .collect();
        cut.sort();
        cut
    }
}

/// The room hosts have while a batch is planned: what the batch takes counts against it.
pub(crate) struct HostRooms<'a> {
    pacer: &'a HostPacer,
    taken: HashMap<String, usize>,
    /// Hosts that had rows left out for want of room.
    pub(crate) blocked: HashSet<String>,
}

impl HostRooms<'_> {
    /// Whether a row of `host` fits (rows without a host always do); marks the host blocked
    /// when it doesn't.
    pub(crate) fn fits(&mut self, host: Option<&str>) -> bool {
        let Some(host) = host else { return true };
        let taken = self.taken.get(host).copied().unwrap_or(0);
        if self.pacer.room(host) > taken {
            return true;
        }
        self.blocked.insert(host.to_string());
        false
    }

    /// A row of `host` was taken into the batch.
    pub(crate) fn take(&mut self, host: Option<&str>) {
        if let Some(host) = host {
            *self.taken.entry(host.to_string()).or_default() += 1;
        }
    }
}

#[cfg(test)]
mod tests;
