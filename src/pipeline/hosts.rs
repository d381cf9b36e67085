//! Politeness toward source hosts: per host, a cap on files the target is fetching at once
//! (accepted, not yet READY or FAILED), so a small host is not flooded by the target's fetches
//! — and no cap at all for a host that has shown no trouble, so politeness costs a healthy run
//! nothing. The decisions are [`window`]'s, a pure function of each host's answers; this
//! module keeps the files in fetch per host and tells the import stage which hosts have room.
//!
//! A host is trusted until its files come back FAILED more often than flaky links explain
//! ([`window::judge`]). Until then the budget alone paces it: full batches at the budget's
//! rate, as many files in fetch as the readiness tracker's backlog cap allows (what the budget
//! confirms in max(30 s, 3 processing times)). At the first trouble its window is cut to half
//! of what it had in fetch, at most one batch, and it is paced like a TCP window from there.
//!
//! Why trust is safe for a small host: what it is sent before its first answers is bounded by
//! the budget, not by us — at Wix's ~200 requests a minute about three batches a second, for
//! the time until the first poll (one processing time), and never more than the readiness
//! backlog cap. The host never sees that number anyway: it sees the target's fetchers, however
//! many files wait in the target's queue, and they are as many with a window of two batches as
//! with none (the overloaded host of `benches/startup.rs` saw 32 fetches at once either way).
//! A host that fails under that load shows it in its first 20–40 answers; its window then
//! drops to half of what it had in fetch and at most one batch — where the two-batch windows'
//! first cut left it, or lower — and halves again at every further trouble. Its rows that
//! failed in the first burst are explained and imported again at that pace (`reopen`), so every
//! recoverable row still arrives; the burst costs the host one failed fetch per row at most.
//! Rows of a host without room wait in the queue while rows of other hosts fill the batches,
//! so one slow host never starves the others.
//!
//! `--source-host-limit N` fixes every host's window at `N`. Without `--wait` nothing is
//! confirmed, so nothing is paced.

mod window;

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use self::window::{Sizes, Window};

/// A host's key: `host[:port]` of a URL source; `None` for what isn't a URL with a host.
pub(crate) fn host_of(source: &str) -> Option<String> {
    let url = url::Url::parse(source).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    Some(match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    })
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
    /// The sizes windows are counted in, from the batch size.
    sizes: Sizes,
    /// A file in fetch longer than this no longer holds its host's room (it may never end).
    expiry: Duration,
    changed: Notify,
    /// Bumped at every release of room, so a waiter knows whether it missed one.
    version: AtomicU64,
}

impl HostPacer {
    pub(crate) fn new(on: bool, fixed: Option<usize>, batch: usize, expiry: Duration) -> Self {
        Self {
            state: Mutex::new(State {
                windows: HashMap::new(),
                files: HashMap::new(),
            }),
            fixed,
            on,
            sizes: Sizes::of_batch(batch),
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
            None => Window::trusted(),
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
                .sent();
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
                        w.released();
                    }
                    return;
                }
                None => {
                    if let Some(w) = s.windows.get_mut(host) {
                        match final_ok {
                            Some(ok) => w.answered(ok, &self.sizes),
                            None => w.released(),
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
                match ok {
                    Some(ok) => w.answered(ok, &self.sizes),
                    None => w.released(),
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
                w.released();
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

    /// The hosts whose windows trouble cut, with their windows now.
    pub(crate) fn cut_hosts(&self) -> Vec<(String, usize)> {
        let s = self.lock();
        let mut cut: Vec<_> = s
            .windows
            .iter()
            .filter_map(|(h, w)| Some((h.clone(), w.cut_to()? as usize)))
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
