//! Properties of the fleet's sharding: appending sites to the sites file never moves a site
//! already placed, and every site lands on exactly one shard.

use media_migrate::fleet::Shard;
use media_migrate::fleet::shard::owner;
use proptest::prelude::*;

proptest! {
    /// Sites appended to a sites file: the placement of the sites already there is unchanged
    /// (only the new sites' placement is decided), for any shard count.
    #[test]
    fn appending_sites_moves_none_already_placed(
        ids in proptest::collection::hash_set("[a-z0-9-]{1,20}", 1..120),
        split in any::<proptest::sample::Index>(),
        count in 1u32..16,
    ) {
        // Site ids are unique in a sites file.
        let ids: Vec<String> = ids.into_iter().collect();
        let (before, appended) = ids.split_at(split.index(ids.len()));
        let (before, appended) = (before.to_vec(), appended.to_vec());
        let placed = |sites: &[String]| -> Vec<Vec<String>> {
            (0..count)
                .map(|i| {
                    let shard = Shard::new(i, count).unwrap();
                    sites.iter().filter(|s| shard.takes(s)).cloned().collect()
                })
                .collect()
        };
        let old = placed(&before);
        let mut grown = before.clone();
        grown.extend(appended.iter().cloned());
        let new = placed(&grown);
        for (i, (was, is)) in old.iter().zip(&new).enumerate() {
            // A shard's old share is kept, in order; what it gains is only appended sites.
            let kept: Vec<&String> = is.iter().filter(|s| before.contains(s)).collect();
            prop_assert_eq!(kept, was.iter().collect::<Vec<_>>(), "shard {}", i);
            prop_assert!(is.iter().all(|s| before.contains(s) || appended.contains(s)));
        }
        let total: usize = new.iter().map(Vec::len).sum();
        prop_assert_eq!(total, grown.len(), "each site on exactly one shard");
        for site in &grown {
            prop_assert!(owner(site, count) < count);
        }
    }
}
