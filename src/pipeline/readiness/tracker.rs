//! The files waiting for confirmation: when each is worth a poll, and how long processing
//! takes. Shared by the import stage (which adds files and holds back when too many wait) and
//! the readiness stage (which takes due files for its polls and records what it found).

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use wix_media_wire::types::limits::GET_FILES_MAX_IDS;

/// Backoff after a PENDING answer: bounds.
const MIN_RECHECK: Duration = Duration::from_millis(250);
const MAX_RECHECK: Duration = Duration::from_secs(15);

/// The time most files of a batch take to leave PENDING, learned from what polls find.
///
/// A poll that finds more than a tenth of its files PENDING came too early: the estimate rises
/// to a quarter above the age of its youngest file. One that finds (nearly) all done while its
/// youngest file was close to the estimate says it may be lower: it falls by a tenth. Polls of
/// files long past the estimate say nothing and change nothing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ProcessingEstimate {
    secs: f64,
}

impl ProcessingEstimate {
    const INITIAL: f64 = 2.0;
    const MIN: f64 = 0.05;
    const MAX: f64 = 300.0;

    pub(crate) fn new() -> Self {
        Self {
            secs: Self::INITIAL,
        }
    }

    pub(crate) fn get(&self) -> Duration {
        Duration::from_secs_f64(self.secs)
    }

    /// Learns from one poll: the age (seconds since accepted) of each file whose acceptance
    /// this run saw, and whether it was still PENDING.
    pub(crate) fn observe(&mut self, files: &[(f64, bool)]) {
        let Some(youngest) = files.iter().map(|(age, _)| *age).reduce(f64::min) else {
            return;
        };
        let pending = files.iter().filter(|(_, p)| *p).count();
        if pending * 10 > files.len() {
            // Processing takes longer than the youngest file's age: a quarter more than that.
            // (Not a quarter more than the estimate: polls of a slow target would compound it.)
            self.secs = self.secs.max(youngest * 1.25).min(Self::MAX);
        } else if youngest <= 1.5 * self.secs {
            self.secs = (self.secs.min(youngest) * 0.9).max(Self::MIN);
        }
    }
}

/// Where a file waits for its poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Accepted at this instant, never polled: due once the estimated processing time has
    /// passed, whatever the estimate is by then.
    Fresh(Instant, u64),
    /// Due at this instant (after a PENDING answer, or found in the journal).
    Timed(Instant, u64),
    /// In a poll right now.
    Polling,
}

struct Entry {
    slot: Slot,
    accepted: Option<Instant>,
    misses: u32,
}

impl Entry {
    /// A file whose acceptance time this run did not see.
    fn untimed() -> Self {
        Self {
            slot: Slot::Polling,
            accepted: None,
            misses: 0,
        }
    }
}

struct TrackerState {
    entries: HashMap<String, Entry>,
    /// Never-polled files by acceptance, and the others by due time: both in due order.
    fresh: BTreeMap<(Instant, u64), String>,
    timed: BTreeMap<(Instant, u64), String>,
    seq: u64,
    estimate: ProcessingEstimate,
}

impl TrackerState {
    fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    /// Takes `id` out of its queue (it stays tracked).
    fn unqueue(&mut self, id: &str) {
        let Some(e) = self.entries.get_mut(id) else {
            return;
        };
        match std::mem::replace(&mut e.slot, Slot::Polling) {
            Slot::Fresh(at, seq) => {
                self.fresh.remove(&(at, seq));
            }
            Slot::Timed(at, seq) => {
                self.timed.remove(&(at, seq));
            }
            Slot::Polling => {}
        }
    }

    fn put_fresh(&mut self, id: &str, accepted: Instant) {
        self.unqueue(id);
        let seq = self.next_seq();
        if let Some(e) = self.entries.get_mut(id) {
            e.slot = Slot::Fresh(accepted, seq);
            e.accepted = Some(accepted);
            self.fresh.insert((accepted, seq), id.to_string());
        }
    }

    fn put_timed(&mut self, id: &str, due: Instant) {
        self.unqueue(id);
        let seq = self.next_seq();
        if let Some(e) = self.entries.get_mut(id) {
            e.slot = Slot::Timed(due, seq);
            self.timed.insert((due, seq), id.to_string());
        }
    }

    /// Up to `n` queued files in due order: (due, id). Fresh files are due at acceptance plus
    /// the current estimate, so both queues merge in order.
    fn in_due_order(&self, n: usize) -> Vec<(Instant, &str)> {
        let wait = self.estimate.get();
        let mut fresh = self
            .fresh
            .iter()
            .map(|((at, _), id)| (*at + wait, id.as_str()))
            .peekable();
        let mut timed = self
            .timed
            .iter()
            .map(|((at, _), id)| (*at, id.as_str()))
            .peekable();
        let mut out = Vec::with_capacity(n.min(self.entries.len()));
        while out.len() < n {
            let next = match (fresh.peek(), timed.peek()) {
                (Some(f), Some(t)) if f.0 <= t.0 => fresh.next(),
                (Some(_), Some(_)) => timed.next(),
                (Some(_), None) => fresh.next(),
                (None, _) => timed.next(),
            };
            match next {
                Some(item) => out.push(item),
                None => break,
            }
        }
        out
    }
}

/// What a poll found for one id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Found {
    /// READY or FAILED, or gone from the target: no more polls.
    Final,
    Pending,
}

/// The files waiting for confirmation, shared by the import stage (which adds them) and the
/// readiness stage (which polls them).
pub(crate) struct Tracker {
    state: Mutex<TrackerState>,
    changed: Notify,
    imports_held: std::sync::atomic::AtomicBool,
}

/// Files allowed to wait for confirmation before imports hold back: what the budget can
/// confirm in 30 s at its ceiling (or 3 processing times, if longer), at least 10 polls' worth.
fn backlog_cap(per_minute: u32, processing: Duration) -> usize {
    let horizon = processing.mul_f64(3.0).max(Duration::from_secs(30));
    let files = f64::from(per_minute) * 50.0 * horizon.as_secs_f64() / 60.0;
    (files as usize).max(10 * GET_FILES_MAX_IDS)
}

impl Tracker {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(TrackerState {
                entries: HashMap::new(),
                fresh: BTreeMap::new(),
                timed: BTreeMap::new(),
                seq: 0,
                estimate: ProcessingEstimate::new(),
            }),
            changed: Notify::new(),
            imports_held: std::sync::atomic::AtomicBool::new(false),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TrackerState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many files may wait for confirmation before imports hold back, at a budget of
    /// `per_minute` and the processing time learned so far.
    pub(crate) fn backlog_cap(&self, per_minute: u32) -> usize {
        backlog_cap(per_minute, self.estimate())
    }

    /// Files the target accepted at `at`: worth asking about once processed.
    pub(crate) fn accepted(&self, ids: impl IntoIterator<Item = String>, at: Instant) {
        {
            let mut s = self.lock();
            for id in ids {
                let polling = s.entries.get(&id).map(|e| e.slot == Slot::Polling);
                match polling {
                    // Found in the journal and being polled already: just remember when.
                    Some(true) => {
                        if let Some(e) = s.entries.get_mut(&id) {
                            e.accepted = Some(at);
                        }
                    }
                    Some(false) => s.put_fresh(&id, at),
                    None => {
                        s.entries.insert(id.clone(), Entry::untimed());
                        s.put_fresh(&id, at);
                    }
                }
            }
        }
        self.changed.notify_waiters();
    }

    /// Files found accepted in the journal: those not tracked yet are due at once.
    pub(crate) fn adopt(&self, ids: impl IntoIterator<Item = String>, now: Instant) {
        let mut s = self.lock();
        for id in ids {
            if s.entries.contains_key(&id) {
                continue;
            }
            s.entries.insert(id.clone(), Entry::untimed());
            s.put_timed(&id, now);
        }
    }

    /// Files waiting for confirmation.
    pub(crate) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// How many are due at `now`, counting up to `max`.
    pub(crate) fn due_count(&self, now: Instant, max: usize) -> usize {
        let s = self.lock();
        s.in_due_order(max)
            .into_iter()
            .take_while(|(t, _)| *t <= now)
            .count()
    }

    /// When the `n`th queued file (1-based) in due order is due, if there are that many.
    pub(crate) fn nth_due(&self, n: usize) -> Option<Instant> {
        let s = self.lock();
        s.in_due_order(n).get(n.checked_sub(1)?).map(|(t, _)| *t)
    }

    /// Takes up to `max` due ids for a poll, oldest due first.
    pub(crate) fn take_due(&self, now: Instant, max: usize) -> Vec<String> {
        let mut s = self.lock();
        let ids: Vec<String> = s
            .in_due_order(max)
            .into_iter()
            .take_while(|(t, _)| *t <= now)
            .map(|(_, id)| id.to_string())
            .collect();
        for id in &ids {
            s.unqueue(id);
        }
        ids
    }

    /// Records what a poll at `now` found: final files leave, PENDING ones come back later.
    pub(crate) fn record(&self, now: Instant, found: &[(String, Found)]) {
        {
            let mut s = self.lock();
            let mut samples = Vec::new();
            for (id, f) in found {
                let Some(entry) = s.entries.get_mut(id) else {
                    continue;
                };
                if let Some(at) = entry.accepted.filter(|_| entry.misses == 0) {
                    let age = now.saturating_duration_since(at).as_secs_f64();
                    samples.push((age, *f == Found::Pending));
                }
                match f {
                    Found::Final => {
                        s.unqueue(id);
                        s.entries.remove(id);
                    }
                    Found::Pending => entry.misses += 1,
                }
            }
            s.estimate.observe(&samples);
            let estimate = s.estimate.get();
            for (id, f) in found {
                let Some(misses) = s.entries.get(id).map(|e| e.misses) else {
                    continue;
                };
                if *f == Found::Pending {
                    let wait = estimate
                        .mul_f64(0.5 * 2f64.powi(misses.min(16) as i32 - 1))
                        .clamp(MIN_RECHECK, MAX_RECHECK);
                    s.put_timed(id, now + wait);
                }
            }
        }
        self.changed.notify_waiters();
    }

    /// The current processing-time estimate.
    pub(crate) fn estimate(&self) -> Duration {
        self.lock().estimate.get()
    }

    /// Imports wait for files to be confirmed (their hosts have no room): polls needn't wait
    /// for full calls meanwhile.
    pub(crate) fn set_imports_held(&self, held: bool) {
        self.imports_held
            .store(held, std::sync::atomic::Ordering::Relaxed);
        self.changed.notify_waiters();
    }

    pub(crate) fn imports_held(&self) -> bool {
        self.imports_held.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Completes at the next change (files added, or a poll recorded); create it before
    /// looking at the tracker so no change is missed.
    pub(crate) fn changed(&self) -> tokio::sync::futures::Notified<'_> {
        self.changed.notified()
    }

    /// Waits until fewer than `cap` files wait for confirmation.
    pub(crate) async fn wait_below(&self, cap: usize) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            if self.len() < cap {
                return;
            }
            changed.await;
        }
    }
}

#[cfg(test)]
mod tests;
