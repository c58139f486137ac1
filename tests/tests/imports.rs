//! No import circle in any crate of the workspace: each top-level module of a crate (its file
//! and its folder) may use `crate::` modules that do not use it back, directly or through others.
//! Comments and test code are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|name| name != "tests") {
                rust_files(&path, into);
            }
        } else if path.extension().is_some_and(|ext| ext == "rs")
            && path.file_name().is_some_and(|name| name != "tests.rs")
        {
            into.push(path);
        }
    }
}

/// The `crate::x` names used in `source`, outside comments and before its test module.
fn used(source: &str) -> BTreeSet<String> {
    let code = source.split("#[cfg(test)]\nmod tests").next().unwrap_or_default();
    let mut names = BTreeSet::new();
    for line in code.lines().filter(|line| !line.trim_start().starts_with("//")) {
        for (at, _) in line.match_indices("crate::") {
            let name: String = line[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            names.insert(name);
        }
    }
    names
}

/// Every crate's `src` folder: the workspace members, read from the root manifest.
fn crates() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("the workspace manifest");
    let members = manifest.split("members = [").nth(1).and_then(|rest| rest.split(']').next()).unwrap_or_default();
    members
        .split(',')
        .map(|member| member.trim().trim_matches('"'))
        .filter(|member| !member.is_empty())
        .map(|member| root.join(member).join("src"))
        .collect()
}

/// The top-level modules of the crate at `src`, each with the modules it uses.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(src).into_iter().flatten().flatten() {
        let path = entry.path();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else { continue };
        if path.extension().is_some_and(|ext| ext == "rs") && name != "lib" && name != "main" && name != "tests" {
            modules.insert(name, BTreeSet::new());
        }
    }
    let names: Vec<String> = modules.keys().cloned().collect();
    for name in &names {
        let mut files = vec![src.join(format!("{name}.rs"))];
        rust_files(&src.join(name), &mut files);
        let uses: BTreeSet<String> = files
            .iter()
            .filter_map(|file| std::fs::read_to_string(file).ok())
            .flat_map(|source| used(&source))
            .filter(|used| used != name && modules.contains_key(used))
            .collect();
        modules.insert(name.clone(), uses);
    }
    modules
}

/// A circle through `from`, if there is one.
fn circle(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> Option<Vec<String>> {
    let mut stack = vec![(from.to_owned(), vec![from.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == from {
                return Some([path.clone(), vec![next.clone()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
            }
        }
    }
    None
}

#[test]
fn no_crate_has_an_import_circle() {
    let crates = crates();
    assert!(crates.len() >= 10 && crates.iter().all(|src| src.is_dir()), "{crates:?}");
    let application = graph(crates.iter().find(|src| src.ends_with("application/src")).expect("application"));
    assert!(application.contains_key("bot") && application["bot"].contains("access"), "{application:?}");
    let circles: Vec<_> = crates
        .iter()
        .flat_map(|src| {
            let graph = graph(src);
            let found: Vec<_> = graph.keys().filter_map(|module| circle(&graph, module)).collect();
            found.into_iter().map(move |circle| (src.clone(), circle))
        })
        .collect();
    assert!(circles.is_empty(), "import circles: {circles:#?}");
}

#[test]
fn a_circle_is_found() {
    let graph = BTreeMap::from([
        ("a".to_owned(), BTreeSet::from(["b".to_owned()])),
        ("b".to_owned(), BTreeSet::from(["c".to_owned()])),
        ("c".to_owned(), BTreeSet::from(["a".to_owned()])),
        ("d".to_owned(), BTreeSet::from(["a".to_owned()])),
    ]);
    assert_eq!(circle(&graph, "a"), Some(["a", "b", "c", "a"].map(str::to_owned).to_vec()));
    assert_eq!(circle(&graph, "d"), None);
}

#[test]
fn the_reader_sees_imports_and_skips_comments_and_tests() {
    let source = "use crate::a::X;\n// crate::b\nfn f() { crate::c::g() }\n#[cfg(test)]\nmod tests { use crate::d; }";
    assert_eq!(used(source), BTreeSet::from(["a".to_owned(), "c".to_owned()]));
}
