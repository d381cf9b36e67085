//! The architecture invariants of ARCHITECTURE.md, checked against the source (in the spirit of
//! rust-analyzer's tidy test): the layers of the migration crate import only downwards, no two
//! modules import each other, commands are leaves, and the server crate is reached only where
//! ARCHITECTURE.md says. Each failure names the file, the line and the rule it breaks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The command modules of `cli/`: each a leaf that no other command imports.
const COMMANDS: [&str; 6] = ["run", "plan", "reconcile", "export", "fleet", "serve"];

/// The only files that may name the local server's crate (ARCHITECTURE.md, "Crates").
const SERVER_CRATE_USERS: [&str; 2] = ["src/cli/args.rs", "src/cli/serve.rs"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file under `dir`, recursively, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        for entry in std::fs::read_dir(&at).expect("a source folder") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The code of each line of `path` (line comments cut off), numbered from 1.
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    std::fs::read_to_string(path)
        .expect("a source file")
        .lines()
        .enumerate()
        .map(|(i, line)| {
            let code = line.find("//").map_or(line, |at| &line[..at]);
            (i + 1, code.to_string())
        })
        .collect()
}

/// Each identifier that follows `prefix` on `line` (`crate::journal::x` → `journal`).
fn names_after<'a>(line: &'a str, prefix: &str) -> Vec<&'a str> {
    line.match_indices(prefix)
        .map(|(at, _)| {
            let rest = &line[at + prefix.len()..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .filter(|name| !name.is_empty())
        .collect()
}

/// The top-level module a file of `src/` belongs to (`src/pipeline/import.rs` → `pipeline`).
fn top_module(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).expect("under src");
    let first = rel.components().next().expect("a component");
    let name = first.as_os_str().to_string_lossy();
    name.trim_end_matches(".rs").to_string()
}

/// The layers of ARCHITECTURE.md's "The migration crate, top to bottom" block: each line that
/// starts with module folders (`plan/ reconcile/   …`) is one layer, the first the top.
fn layers(architecture: &str) -> Vec<Vec<String>> {
    let block = architecture
        .split("## The migration crate, top to bottom")
        .nth(1)
        .and_then(|rest| rest.split("```").nth(1))
        .expect("ARCHITECTURE.md has the migration crate's layer block");
    block
        .lines()
        .filter(|line| !line.starts_with(' ') && !line.trim().is_empty())
        .map(|line| {
            line.split_whitespace()
                .take_while(|word| word.ends_with('/'))
                .map(|word| word.trim_end_matches('/').to_string())
                .collect::<Vec<_>>()
        })
        .filter(|names| !names.is_empty())
        .collect()
}

/// What breaks the layer rule in the source under `src`: a module importing a module of a layer
/// above its own, or two modules of one layer importing each other.
fn layer_breaks(src: &Path, layers: &[Vec<String>]) -> Vec<String> {
    let layer_of: BTreeMap<&str, usize> = layers
        .iter()
        .enumerate()
        .flat_map(|(i, names)| names.iter().map(move |n| (n.as_str(), i)))
        .collect();
    let mut breaks = Vec::new();
    // (importer, imported) → the first place it happens, for modules of one layer.
    let mut sideways: BTreeMap<(String, String), String> = BTreeMap::new();
    for file in rust_files(src) {
        let from = top_module(src, &file);
        let Some(&from_layer) = layer_of.get(from.as_str()) else {
            continue;
        };
        for (n, line) in code_lines(&file) {
            for to in names_after(&line, "crate::") {
                let Some(&to_layer) = layer_of.get(to) else {
                    continue;
                };
                let at = format!("{}:{n}", file.strip_prefix(src).unwrap().display());
                if to == from {
                    continue;
                }
                if to_layer < from_layer {
                    breaks.push(format!(
                        "{at}: `{from}` imports `{to}`, a layer above it (ARCHITECTURE.md: each layer imports only the ones below it)"
                    ));
                } else if to_layer == from_layer {
                    sideways.entry((from.clone(), to.to_string())).or_insert(at);
                }
            }
        }
    }
    let pairs: BTreeSet<(String, String)> = sideways.keys().cloned().collect();
    for ((a, b), at) in &sideways {
        if a < b && pairs.contains(&(b.clone(), a.clone())) {
            breaks.push(format!(
                "{at} and {}: `{a}` and `{b}` import each other (ARCHITECTURE.md: no two modules import each other)",
                sideways[&(b.clone(), a.clone())]
            ));
        }
    }
    breaks
}

/// Commands importing commands: `cli/<command>.rs` (and its folder) naming another command
/// module.
fn command_breaks(src: &Path) -> Vec<String> {
    let cli = src.join("cli");
    let mut breaks = Vec::new();
    for file in rust_files(&cli) {
        let from = top_module(&cli, &file);
        if !COMMANDS.contains(&from.as_str()) {
            continue;
        }
        for (n, line) in code_lines(&file) {
            let named = names_after(&line, "super::")
                .into_iter()
                .chain(names_after(&line, "crate::cli::"));
            for to in named {
                if to != from && COMMANDS.contains(&to) {
                    breaks.push(format!(
                        "{}:{n}: the command `{from}` imports the command `{to}` (ARCHITECTURE.md: commands are leaves; what they share lives below them)",
                        file.strip_prefix(src).unwrap().display()
                    ));
                }
            }
        }
    }
    breaks
}

/// Files outside [`SERVER_CRATE_USERS`] that name the server crate.
fn server_crate_breaks(root: &Path) -> Vec<String> {
    let mut breaks = Vec::new();
    for file in rust_files(&root.join("src")) {
        let rel = file.strip_prefix(root).unwrap().display().to_string();
        if SERVER_CRATE_USERS.contains(&rel.as_str()) {
            continue;
        }
        for (n, line) in code_lines(&file) {
            if line.contains("wix_media_manager::") {
                breaks.push(format!(
                    "{rel}:{n}: names the server crate (ARCHITECTURE.md: only {} do)",
                    SERVER_CRATE_USERS.join(" and ")
                ));
            }
        }
    }
    breaks
}

fn assert_none(what: &str, breaks: Vec<String>) {
    assert!(
        breaks.is_empty(),
        "{what}: {} break(s):\n{}",
        breaks.len(),
        breaks.join("\n")
    );
}

/// **Architecture invariant:** each layer imports only the layers below it, and no two
/// modules import each other.
#[test]
fn layers_import_only_downwards() {
    let architecture =
        std::fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let layers = layers(&architecture);
    assert!(
        layers.len() >= 8 && layers[0] == ["cli"] && layers.last() == Some(&vec!["control".into()]),
        "the layer block reads as {layers:?}"
    );
    // Every top-level module of src/ is placed in a layer (main.rs and lib.rs stand above).
    let src = root().join("src");
    let placed: BTreeSet<&str> = layers.iter().flatten().map(String::as_str).collect();
    let mut unplaced: Vec<String> = rust_files(&src)
        .iter()
        .map(|f| top_module(&src, f))
        .filter(|m| !["main", "lib"].contains(&m.as_str()) && !placed.contains(m.as_str()))
        .collect();
    unplaced.dedup();
    assert!(
        unplaced.is_empty(),
        "modules ARCHITECTURE.md doesn't place: {unplaced:?}"
    );
    assert_none("layers", layer_breaks(&src, &layers));
}

/// **Architecture invariant:** a command imports no other command.
#[test]
fn commands_are_leaves() {
    assert_none("commands", command_breaks(&root().join("src")));
}

/// **Architecture invariant:** the migration reaches the local server's crate only to start it
/// (the embedded target, `serve`).
#[test]
fn the_server_crate_only_where_stated() {
    assert_none("server crate", server_crate_breaks(&root()));
}

/// The checks see what they are for: a planted upward import, a pair importing each other, a
/// command importing a command — each in a scratch tree — is named with its file and line.
#[test]
fn the_checks_catch_planted_breaks() {
    let dir = tempfile::tempdir().expect("scratch");
    let src = dir.path().join("src");
    let write = |rel: &str, text: &str| {
        let path = src.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("journal/rows.rs", "use crate::pipeline::RunConfig;\n");
    write(
        "pipeline.rs",
        "use crate::journal::Journal; // below: fine\n",
    );
    write("plan.rs", "use crate::reconcile::x;\n");
    write("reconcile.rs", "use crate::plan::y;\n");
    write(
        "cli/fleet.rs",
        "use super::run::migrate_site;\nuse super::args::X;\n",
    );
    write(
        "report.rs",
        "// use crate::cli::x; a comment is no import\n",
    );
    let layers: Vec<Vec<String>> = [
        vec!["cli"],
        vec!["plan", "reconcile"],
        vec!["pipeline"],
        vec!["report"],
        vec!["journal"],
    ]
    .iter()
    .map(|l| l.iter().map(|s| s.to_string()).collect())
    .collect();
    let breaks = layer_breaks(&src, &layers);
    assert_eq!(breaks.len(), 2, "{breaks:#?}");
    assert!(
        breaks[0].starts_with("journal/rows.rs:1: `journal` imports `pipeline`"),
        "{breaks:#?}"
    );
    assert!(
        breaks[1].contains("`plan` and `reconcile` import each other"),
        "{breaks:#?}"
    );
    let commands = command_breaks(&src);
    assert_eq!(commands.len(), 1, "{commands:#?}");
    assert!(
        commands[0].starts_with("cli/fleet.rs:1: the command `fleet` imports the command `run`")
    );
}
