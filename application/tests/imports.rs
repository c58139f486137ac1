//! No import circle between the application's top-level modules: each module (its file and
//! its folder) may use `crate::` modules that do not use it back, directly or through others.
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

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut modules = BTreeMap::new();
    for entry in std::fs::read_dir(&src).into_iter().flatten().flatten() {
        let path = entry.path();
        let Some(name) = path.file_stem().and_then(|s| s.to_str()).map(str::to_owned) else { continue };
        if path.extension().is_some_and(|ext| ext == "rs") && name != "lib" {
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
fn the_application_modules_import_each_other_in_one_direction_only() {
    let graph = graph();
    assert!(graph.contains_key("bot") && graph.contains_key("access"), "{graph:?}");
    let circles: Vec<_> = graph.keys().filter_map(|module| circle(&graph, module)).collect();
    assert!(circles.is_empty(), "import circles: {circles:?} in {graph:#?}");
}

#[test]
fn the_reader_sees_imports_and_skips_comments_and_tests() {
    let source = "use crate::a::X;\n// crate::b\nfn f() { crate::c::g() }\n#[cfg(test)]\nmod tests { use crate::d; }";
    assert_eq!(used(source), BTreeSet::from(["a".to_owned(), "c".to_owned()]));
}
