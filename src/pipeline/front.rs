//! How the staging and import stages of a `--stage` sending pass run side by side: the staging
//! stage goes through the queued local files in manifest order and moves a front — the line
//! through which every row is staged (or answered) — and the import stage reads rows only up
//! to it, so full batches of staged files go out while later files are still being staged.
//! Whichever of the two fails halts the other between its steps, so the files it has in hand
//! are recorded rather than cut off: batches in flight are answered and recorded, objects
//! stored are recorded staged (and so deleted when done).

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

/// The staging front of a sending pass.
pub(crate) struct StageFront {
    /// The line staged through; `u64::MAX` when nothing is left to stage (or none is staging).
    line: watch::Sender<u64>,
    /// One of the two stages failed: the other stops after the step it is on.
    halted: AtomicBool,
}

impl StageFront {
    /// A front with nothing being staged: the import stage reads every row.
    pub(crate) fn new() -> Self {
        Self {
            line: watch::Sender::new(u64::MAX),
            halted: AtomicBool::new(false),
        }
    }

    /// A staging stage begins: nothing staged yet.
    pub(crate) fn begin(&self) {
        self.halted.store(false, Ordering::SeqCst);
        self.line.send_replace(0);
    }

    /// Every row through `line` is staged or answered.
    pub(crate) fn advance(&self, line: u64) {
        self.line.send_replace(line);
    }

    /// The staging stage ended (done, stopped or failed): the import stage reads on.
    pub(crate) fn finish(&self) {
        self.line.send_replace(u64::MAX);
    }

    pub(crate) fn line(&self) -> u64 {
        *self.line.borrow()
    }

    /// Returns once the front is past `line`.
    pub(crate) async fn passed(&self, line: u64) {
        let mut front = self.line.subscribe();
        // The sender lives as long as `self`: the wait ends only by the front moving.
        let _ = front.wait_for(|f| *f > line).await;
    }

    /// One stage failed: the other stops after its current step.
    pub(crate) fn halt(&self) {
        self.halted.store(true, Ordering::SeqCst);
    }

    pub(crate) fn halted(&self) -> bool {
        self.halted.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wait for the front is woken by its moving past the line, not before, and at once when
    /// it already has (a front that moved before the wait began is never missed).
    #[tokio::test(start_paused = true)]
    async fn waits_end_when_the_front_passes() {
        let front = std::sync::Arc::new(StageFront::new());
        front.begin();
        front.advance(10);
        tokio::time::timeout(std::time::Duration::from_secs(1), front.passed(9))
            .await
            .expect("already past");
        let waiting = tokio::spawn({
            let front = front.clone();
            async move { front.passed(10).await }
        });
        tokio::task::yield_now().await;
        front.advance(10);
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "not past 10 yet");
        front.finish();
        tokio::time::timeout(std::time::Duration::from_secs(1), waiting)
            .await
            .expect("woken")
            .expect("joined");
        assert_eq!(front.line(), u64::MAX);
        front.halt();
        assert!(front.halted());
        front.begin();
        assert!(!front.halted(), "a new pass starts unhalted");
    }
}
