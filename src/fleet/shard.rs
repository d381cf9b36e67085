//! Which sites a shard takes: rendezvous (highest random weight) hashing. A site goes to the
//! shard `i` of `0..count` with the highest `weight(site_id, i)`, so its placement depends on
//! its own id and the shard count only: appending sites never moves one already placed, and
//! the shards of a fleet, each computing its share alone, cover every site exactly once.

use sha2::{Digest, Sha256};

/// Shard `index` of `count` (0-based, `index < count`), as `--shard I/N` or
/// `JOB_COMPLETION_INDEX`/`JOB_COMPLETIONS` give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

impl Shard {
    /// The whole fleet as one shard.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 {
            return Err("the shard count must be at least 1".to_string());
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is out of 0..{count} (indexes start at 0, as JOB_COMPLETION_INDEX does)"
            ));
        }
        Ok(Shard { index, count })
    }

    /// `I/N`, e.g. `0/3`.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || format!("{text:?} is not a shard: expected I/N with 0 <= I < N, e.g. 0/3");
        let (i, n) = text.split_once('/').ok_or_else(bad)?;
        let index = i.trim().parse().map_err(|_| bad())?;
        let count = n.trim().parse().map_err(|_| bad())?;
        Shard::new(index, count)
    }

    /// Whether this shard takes `site_id`.
    pub fn takes(&self, site_id: &str) -> bool {
        owner(site_id, self.count) == self.index
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The weight of `site_id` on shard `index`: 64 bits of SHA-256 over both (a stable hash,
/// the same on every machine and version, unlike std's `DefaultHasher`).
fn weight(site_id: &str, index: u32) -> u64 {
    let mut hash = Sha256::new();
    hash.update(site_id.as_bytes());
    hash.update([0]);
    hash.update(index.to_be_bytes());
    let digest = hash.finalize();
    u64::from_be_bytes(
        digest[..8]
            .try_into()
            .expect("a SHA-256 digest has 8 bytes"),
    )
}

/// The shard of `count` that takes `site_id`: the highest weight, ties to the lower index.
pub fn owner(site_id: &str, count: u32) -> u32 {
    (0..count.max(1))
        .max_by_key(|&i| (weight(site_id, i), std::cmp::Reverse(i)))
        .expect("at least one shard")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `I/N` parses; out of range, zero or malformed shards are refused.
    #[test]
    fn shard_specs() {
        assert_eq!(Shard::parse("2/3"), Ok(Shard { index: 2, count: 3 }));
        assert_eq!(Shard::parse(" 0 / 1 "), Ok(Shard::ALL));
        for bad in ["3/3", "0/0", "1", "a/2", "-1/2", "1/2/3"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    /// Every site is taken by exactly one shard, and the shares are roughly even.
    #[test]
    fn shards_cover_each_site_once() {
        let sites: Vec<String> = (0..3000).map(|i| format!("site-{i}")).collect();
        let count = 3;
        let mut per_shard = [0usize; 3];
        for site in &sites {
            let takers: Vec<u32> = (0..count)
                .filter(|&i| Shard::new(i, count).unwrap().takes(site))
                .collect();
            assert_eq!(takers.len(), 1, "{site}: {takers:?}");
            per_shard[takers[0] as usize] += 1;
        }
        assert!(
            per_shard.iter().all(|&n| (850..1150).contains(&n)),
            "{per_shard:?}"
        );
    }

    /// A fixed placement, so a change of hash (which would move every site of a running
    /// fleet to another shard) can't pass unnoticed.
    #[test]
    fn placement_is_stable_across_versions() {
        let placed: Vec<u32> = ["a", "b", "c", "shop-1", "shop-2"]
            .iter()
            .map(|s| owner(s, 4))
            .collect();
        assert_eq!(placed, PLACED_ON_4);
    }

    const PLACED_ON_4: [u32; 5] = [3, 2, 3, 0, 1];
}
