//! One source host's window, as a pure function of what happened to its files: sent, left
//! fetch, answered READY or FAILED. No clock and no locks, so the tests are tables.
//!
//! A host that has shown no trouble is *trusted*: its window never holds a row back. The first
//! trouble — a share of FAILED answers above what flaky links explain — cuts it to half of
//! what it had in fetch, and at most to one batch; from then on it is *paced* as TCP paces a
//! congested link: halved at every trouble, down to a tenth of a batch, and grown by a tenth
//! of a batch per window's worth of healthy answers.

/// Windows never grow past this (the readiness tracker's backlog cap binds long before).
const MAX_WINDOW: f64 = 100_000.0;
/// Answers below which no trouble is judged (too few to tell).
pub(super) const MIN_JUDGED: u32 = 20;
/// How far above a third of the answers, in standard deviations, the FAILED ones must be to
/// show trouble before a judgement is over. A host whose files fail at random (a flaky link)
/// at 20 % crosses it in about one judgement of 200 answers in 5,000; one failing 60 % of its
/// files under load, within its first 20–40 answers.
const Z: f64 = 2.5;

/// The sizes a window is counted in, all from the batch size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Sizes {
    /// The smallest window, and the step it grows by: a tenth of a batch.
    pub(crate) floor: f64,
    /// What a first cut halves at most: two batches (where windows used to start), so the
    /// first cut leaves a trusted host at most one batch in fetch.
    pub(crate) cut_base: f64,
    /// Answers a trusted host's judgement takes: two batches' worth.
    pub(crate) span: u32,
}

impl Sizes {
    pub(crate) fn of_batch(batch: usize) -> Self {
        let batch = batch.max(1) as f64;
        Self {
            floor: (batch / 10.0).ceil(),
            cut_base: 2.0 * batch,
            span: (2.0 * batch) as u32,
        }
    }
}

/// How many files a host may have in fetch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Limit {
    /// No trouble seen: no limit but the budget's own.
    Trusted,
    /// Cut by trouble.
    Paced(f64),
    /// `--source-host-limit`: never adapted.
    Fixed(usize),
}

/// What a judgement of the answers so far says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Too few answers yet.
    Open,
    /// A judgement's worth of answers, and no trouble.
    Healthy,
    /// FAILED answers above the noise.
    Trouble,
}

/// Judges `failed` of `answered` answers, in a judgement of `span` answers: trouble as soon
/// as the FAILED share is clearly above a third (by [`Z`] standard deviations of a third), or,
/// once the judgement is over, above a third at all (the rule of a whole window, as TCP-like
/// windows always judged).
pub(crate) fn judge(answered: u32, failed: u32, span: u32) -> Verdict {
    let n = f64::from(answered);
    let clearly_above = n / 3.0 + Z * (n * 2.0 / 9.0).sqrt();
    if answered >= MIN_JUDGED && f64::from(failed) > clearly_above {
        Verdict::Trouble
    } else if answered < span.max(MIN_JUDGED) {
        Verdict::Open
    } else if failed * 3 > answered {
        Verdict::Trouble
    } else {
        Verdict::Healthy
    }
}

/// One host's window and the files it has in fetch.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Window {
    pub(crate) limit: Limit,
    /// Files sent or accepted and not final yet.
    pub(crate) in_fetch: usize,
    /// Answers (READY or FAILED) and failures in the current judgement.
    answered: u32,
    failed: u32,
}

impl Window {
    pub(crate) fn trusted() -> Self {
        Self::with(Limit::Trusted)
    }

    pub(crate) fn fixed(limit: usize) -> Self {
        Self::with(Limit::Fixed(limit.max(1)))
    }

    fn with(limit: Limit) -> Self {
        Self {
            limit,
            in_fetch: 0,
            answered: 0,
            failed: 0,
        }
    }

    /// Files that may be sent to the host now.
    pub(crate) fn room(&self) -> usize {
        match self.limit {
            Limit::Trusted => usize::MAX,
            Limit::Paced(limit) => (limit.floor() as usize).saturating_sub(self.in_fetch),
            Limit::Fixed(limit) => limit.saturating_sub(self.in_fetch),
        }
    }

    /// A file of the host is being sent.
    pub(crate) fn sent(&mut self) {
        self.in_fetch += 1;
    }

    /// A file left fetch with nothing learned about the host (not accepted, gone, or in fetch
    /// too long).
    pub(crate) fn released(&mut self) {
        self.in_fetch = self.in_fetch.saturating_sub(1);
    }

    /// A file of the host came back READY (`ok`) or FAILED.
    pub(crate) fn answered(&mut self, ok: bool, sizes: &Sizes) {
        let flight = self.in_fetch as f64;
        self.released();
        let span = match self.limit {
            Limit::Fixed(_) => return,
            Limit::Trusted => sizes.span,
            Limit::Paced(limit) => limit as u32,
        };
        self.answered += 1;
        self.failed += u32::from(!ok);
        match judge(self.answered, self.failed, span) {
            Verdict::Open => return,
            Verdict::Trouble => {
                // Half of what was in fetch when the trouble showed, as TCP halves its flight,
                // and never more than half the window before (or of two batches, for a host
                // trusted until now).
                let before = match self.limit {
                    Limit::Paced(limit) => limit,
                    _ => sizes.cut_base,
                };
                let cut = (before.min(flight.max(1.0)) / 2.0).max(sizes.floor);
                self.limit = Limit::Paced(cut);
            }
            Verdict::Healthy => {
                if let Limit::Paced(limit) = self.limit {
                    self.limit = Limit::Paced((limit + sizes.floor).min(MAX_WINDOW));
                }
            }
        }
        (self.answered, self.failed) = (0, 0);
    }

    /// The window trouble cut it to, if it was.
    pub(crate) fn cut_to(&self) -> Option<f64> {
        match self.limit {
            Limit::Paced(limit) => Some(limit),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
