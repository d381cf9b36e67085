//! How a folder path is sent within the contract's `filePath` of at most 100 characters: by
//! id when the folder's id is known, else whole when it fits, else as the deepest known
//! ancestor's id and the rest of the path — the ancestor a run makes first, in steps, when no
//! known one is deep enough. And what those steps cost, for `plan`.

use std::collections::HashMap;

use wix_media_wire::types::{MEDIA_ROOT, limits::FILE_PATH_MAX_LEN};

/// `/a/b/c` → `/a`, `/a/b`, `/a/b/c`.
pub fn prefixes(path: &str) -> impl DoubleEndedIterator<Item = &str> + '_ {
    path.match_indices('/')
        .map(|(i, _)| i)
        .filter(|&i| i > 0)
        .chain([path.len()])
        .map(move |end| &path[..end])
        .filter(|p| !p.is_empty())
}

pub(crate) fn fits(relative: &str) -> bool {
    relative.chars().count() <= FILE_PATH_MAX_LEN
}

/// `(parentFolderId, filePath)` for a row of folder `path`: the folder's id when known; else
/// the path itself when it fits; else the deepest known ancestor's id and the rest of the path
/// — which the run (`pipeline::folder_steps`) has made sure of. A path nothing makes reachable goes whole,
/// and the target refuses it for the row alone.
pub fn folder_target(path: &str, known: &HashMap<String, String>) -> (String, Option<String>) {
    if path.is_empty() {
        return (MEDIA_ROOT.to_string(), None);
    }
    if let Some(id) = known.get(path) {
        return (id.clone(), None);
    }
    if fits(path) {
        return (MEDIA_ROOT.to_string(), Some(path.to_string()));
    }
    anchor_of(path, known)
        .map(|(anchor, id)| (id.to_string(), Some(path[anchor.len()..].to_string())))
        .unwrap_or_else(|| (MEDIA_ROOT.to_string(), Some(path.to_string())))
}

/// The deepest known ancestor of `path` whose rest fits in a `filePath`.
pub(crate) fn anchor_of<'p, 'k>(
    path: &'p str,
    known: &'k HashMap<String, String>,
) -> Option<(&'p str, &'k str)> {
    prefixes(path)
        .rev()
        .skip(1)
        .find_map(|p| known.get(p).map(|id| (p, id.as_str())))
        .filter(|(p, _)| fits(&path[p.len()..]))
}

/// The shallowest ancestor of `path` that leaves a fitting rest: where a step must reach.
pub(crate) fn step_for(path: &str) -> &str {
    prefixes(path)
        .find(|p| fits(&path[p.len()..]))
        .unwrap_or(path)
}

/// What making the folders of `paths` in steps costs on a site that holds none of them:
/// `(listings, Create Folder calls)` — a listing of each parent a level is made in, and a call
/// per level. Paths that fit in a `filePath` cost nothing (imports make them).
pub fn step_calls<'a>(paths: impl IntoIterator<Item = &'a str>) -> (u64, u64) {
    let mut levels = std::collections::BTreeSet::new();
    for path in paths.into_iter().filter(|p| !fits(p)) {
        levels.extend(prefixes(step_for(path)));
    }
    let parents: std::collections::BTreeSet<&str> = levels
        .iter()
        .map(|l| &l[..l.rfind('/').unwrap_or(0)])
        .collect();
    (parents.len() as u64, levels.len() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn long(n: usize, c: char) -> String {
        std::iter::repeat_n(c, n).collect()
    }

    /// Prefixes of a path, shallowest first.
    #[test]
    fn prefixes_are_every_ancestor_and_the_path() {
        let all: Vec<&str> = prefixes("/a/bc/d").collect();
        assert_eq!(all, ["/a", "/a/bc", "/a/bc/d"]);
        assert_eq!(prefixes("").count(), 0);
    }

    /// A path that fits goes whole; a longer one goes as its deepest known ancestor's id plus
    /// a rest of at most 100 characters; an ancestor too shallow to leave a fitting rest is
    /// not used.
    #[test]
    fn long_paths_go_as_a_known_folder_and_a_fitting_rest() {
        let (a, b, c) = (long(60, 'a'), long(60, 'b'), long(30, 'c'));
        let path = format!("/{a}/{b}/{c}");
        assert_eq!(path.len(), 153);
        let mut known = HashMap::new();
        assert_eq!(
            folder_target("/x/y", &known),
            (MEDIA_ROOT.to_string(), Some("/x/y".to_string()))
        );
        // Only /a known: the rest (/b/c, 92 characters) fits.
        known.insert(format!("/{a}"), "id-a".to_string());
        assert_eq!(
            folder_target(&path, &known),
            ("id-a".to_string(), Some(format!("/{b}/{c}")))
        );
        // /a/b known too: the deepest wins.
        known.insert(format!("/{a}/{b}"), "id-ab".to_string());
        assert_eq!(
            folder_target(&path, &known),
            ("id-ab".to_string(), Some(format!("/{c}")))
        );
        // Nothing deep enough: a 250-character path whose only known ancestor leaves 189.
        let deep = format!("/{a}/{}/{}", long(90, 'd'), long(97, 'e'));
        assert!(anchor_of(&deep, &known).is_none());
        assert_eq!(step_for(&deep), format!("/{a}/{}", long(90, 'd')));
        assert_eq!(folder_target(&path, &HashMap::new()).1, Some(path.clone()));
        // Every rest sent fits.
        let (_, rest) = folder_target(&path, &known);
        assert!(rest.is_some_and(|r| r.chars().count() <= FILE_PATH_MAX_LEN));
    }

    /// The step goes only as deep as needed; a last segment longer than a filePath makes the
    /// step the path itself (sent by id, with no filePath).
    #[test]
    fn a_step_is_the_shallowest_folder_that_leaves_a_fitting_rest() {
        let path = format!("/{}/{}/{}", long(50, 'a'), long(50, 'b'), long(40, 'c'));
        assert_eq!(step_for(&path), format!("/{}", long(50, 'a')));
        let huge = format!("/{}/{}", long(10, 'a'), long(120, 'z'));
        assert_eq!(step_for(&huge), huge);
        let mut known = HashMap::new();
        known.insert(huge.clone(), "id-z".to_string());
        assert_eq!(folder_target(&huge, &known), ("id-z".to_string(), None));
    }

    /// Steps cost a listing per parent and a Create Folder per level, shared levels once;
    /// paths that fit cost nothing.
    #[test]
    fn step_calls_count_shared_levels_once() {
        let a = long(60, 'a');
        let one = format!("/{a}/{}/{}", long(60, 'b'), long(30, 'c'));
        let two = format!("/{a}/{}/{}", long(60, 'd'), long(30, 'e'));
        // Both reach from /a: it leaves 92 characters of each.
        assert_eq!(step_calls([one.as_str(), two.as_str(), "/short"]), (1, 1));
        let deep = format!("/{a}/{}/{}", long(90, 'd'), long(97, 'e'));
        // /a and /a/d: listings of the root and of /a.
        assert_eq!(step_calls([deep.as_str(), one.as_str()]), (2, 2));
        assert_eq!(step_calls(["/x", "/y/z"]), (0, 0));
    }
}
