//! Which batch may create which folders: a batch claims every folder of its rows' paths not
//! known to exist, ancestors included; a row whose path needs a folder another batch in flight
//! has claimed waits for that batch's answer. Folders known to exist are free for all.

use std::collections::{HashMap, HashSet, VecDeque};

/// What the import stage knows of the target's folders.
pub(crate) struct Folders {
    /// Folder path → id.
    pub(super) known: HashMap<String, String>,
    /// Paths known to exist, id known or not (every ancestor of a known path).
    exists: HashSet<String>,
    /// Paths a batch in flight may create, and which batch.
    claimed: HashMap<String, u64>,
}

/// `/a/b/c` → `/a`, `/a/b`, `/a/b/c`.
fn prefixes(path: &str) -> impl Iterator<Item = String> + '_ {
    let mut acc = String::new();
    path.split('/').filter(|s| !s.is_empty()).map(move |seg| {
        acc.push('/');
        acc.push_str(seg);
        acc.clone()
    })
}

impl Folders {
    pub(crate) fn new(known: HashMap<String, String>) -> Self {
        let exists = known.keys().flat_map(|p| prefixes(p)).collect();
        Self {
            known,
            exists,
            claimed: HashMap::new(),
        }
    }

    /// Claims for `batch` every folder a row of `path` may create; false (claiming nothing)
    /// when another batch has claimed one of them.
    pub(crate) fn claim(&mut self, path: &str, batch: u64) -> bool {
        let create: Vec<String> = prefixes(path)
            .filter(|p| !self.exists.contains(p))
            .collect();
        if create
            .iter()
            .any(|p| self.claimed.get(p).is_some_and(|b| *b != batch))
        {
            return false;
        }
        for p in create {
            self.claimed.insert(p, batch);
        }
        true
    }

    /// Drops the claims of `batch` (answered, or not sent after all).
    pub(crate) fn release(&mut self, batch: u64) {
        self.claimed.retain(|_, b| *b != batch);
    }

    /// A file was created in `path`: the path and its ancestors exist, and maybe the id is known.
    pub(crate) fn learn(&mut self, path: &str, id: Option<&str>) {
        self.exists.extend(prefixes(path));
        if let Some(id) = id {
            self.known.insert(path.to_string(), id.to_string());
        }
    }
}

/// Takes from `held`, in order, up to `size` items that `admit` lets in (it counts what it
/// admits) and whose folders `batch` can claim; the rest stay, in order.
pub(crate) fn take_claimable<T>(
    held: &mut VecDeque<T>,
    path_of: impl Fn(&T) -> &str,
    mut admit: impl FnMut(&T) -> bool,
    folders: &mut Folders,
    batch: u64,
    size: usize,
) -> Vec<T> {
    let mut taken = Vec::new();
    let mut rest = VecDeque::with_capacity(held.len());
    while let Some(item) = held.pop_front() {
        if taken.len() < size && admit(&item) && folders.claim(path_of(&item), batch) {
            taken.push(item);
        } else {
            rest.push_back(item);
        }
    }
    *held = rest;
    taken
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch claims every folder of a path not known to exist, ancestors included; another
    /// batch can't use a path that needs one of them until the first is answered; folders
    /// known to exist are free for all.
    #[test]
    fn folders_are_created_by_one_batch_at_a_time() {
        let known = HashMap::from([("/a/known".to_string(), "id-k".to_string())]);
        let mut f = Folders::new(known);
        assert!(f.claim("/a/b/c", 1)); // creates /a/b and /a/b/c (/a exists)
        assert!(
            f.claim("/a/b/d", 1),
            "the same batch may create more under its own claims"
        );
        assert!(!f.claim("/a/b/e", 2), "/a/b is being created by batch 1");
        assert!(f.claim("/a/x", 2), "/a exists: a sibling chain is free");
        assert!(
            f.claim("/a/known", 3) && f.claim("", 3),
            "known folders and the root"
        );
        // Batch 1 answered: its paths exist now, ids or not.
        f.learn("/a/b/c", Some("id-c"));
        f.learn("/a/b/d", None);
        f.release(1);
        assert!(f.claim("/a/b/e", 2), "only /a/b/e is new now");
        assert!(!f.claim("/a/b/e/f", 4), "/a/b/e is batch 2's");
        assert!(f.claim("/a/b/d", 4));
        assert_eq!(f.known.get("/a/b/c").map(String::as_str), Some("id-c"));
        // A batch not sent gives its claims back.
        f.release(2);
        assert!(f.claim("/a/b/e/f", 4));
    }

    /// Batches take rows in order, skipping (and keeping, in order) rows whose folder another
    /// batch is creating, up to the batch size.
    #[test]
    fn batches_skip_rows_waiting_for_a_folder() {
        let mut f = Folders::new(HashMap::new());
        let mut held: VecDeque<(u32, &str)> = [
            (1, "/p/one"),
            (2, "/p/one"),
            (3, "/q"),
            (4, "/p/two"),
            (5, "/q"),
            (6, ""),
        ]
        .into_iter()
        .collect();
        let first = take_claimable(&mut held, |r| r.1, |_| true, &mut f, 1, 2);
        assert_eq!(first, vec![(1, "/p/one"), (2, "/p/one")]);
        let second = take_claimable(&mut held, |r| r.1, |_| true, &mut f, 2, 10);
        assert_eq!(
            second,
            vec![(3, "/q"), (5, "/q"), (6, "")],
            "/p is batch 1's"
        );
        assert_eq!(held, VecDeque::from([(4, "/p/two")]));
        f.learn("/p/one", Some("id"));
        f.release(1);
        assert_eq!(
            take_claimable(&mut held, |r| r.1, |_| true, &mut f, 3, 10),
            vec![(4, "/p/two")]
        );
    }
}
