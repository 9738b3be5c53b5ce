//! The shape the design promises, checked on the source: a thin xtask, and library modules
//! that depend on each other in one direction only.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

use tests::workspace_root;

/// Every `.rs` file under `dir`, with its path relative to `dir`.
fn rust_files(dir: &Path, rel: &Path, out: &mut Vec<(std::path::PathBuf, String)>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = rel.join(path.file_name().unwrap());
        if path.is_dir() {
            rust_files(&path, &name, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push((name, fs::read_to_string(&path).unwrap()));
        }
    }
}

#[test]
fn xtask_is_a_few_lines_that_call_the_library() {
    let mut files = Vec::new();
    rust_files(&workspace_root().join("xtask/src"), Path::new(""), &mut files);
    let lines: usize = files.iter().map(|(_, text)| text.lines().count()).sum();
    assert!(lines <= 30, "xtask/src has {lines} lines: the command line belongs in release-core (cli)");
    assert!(files.iter().any(|(_, text)| text.contains("release_core::cli::main()")), "{files:?}");
}

/// The top-level modules a source text names through `crate::` paths (`crate::x::...` and
/// `use crate::{x::..., y}`); `crate::Name` (the root's re-exports) is reported as `lib`.
fn crate_references(text: &str) -> BTreeSet<String> {
    // Test modules may reach anywhere; only the code that ships is held to the direction.
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::") {
        rest = &rest[at + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            // Only the group's top level: `{a::{b, c}, d}` names a and d.
            let (mut depth, mut start, mut items) = (0, 0, Vec::new());
            for (i, ch) in group.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        items.push(&group[start..i]);
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        items.push(&group[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            items
        } else {
            vec![rest]
        };
        for item in names {
            let name: String = item.trim().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
            match name.chars().next() {
                Some(c) if c.is_uppercase() => drop(found.insert("lib".to_string())),
                Some(_) if name != "self" => drop(found.insert(name)),
                _ => {}
            }
        }
    }
    found
}

#[test]
fn library_modules_never_import_the_root_and_form_no_circle() {
    let mut files = Vec::new();
    rust_files(&workspace_root().join("release-core/src"), Path::new(""), &mut files);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (path, text) in &files {
        let first = path.components().next().unwrap().as_os_str().to_string_lossy().into_owned();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue;
        }
        let mut refs = crate_references(text);
        refs.remove(&module);
        assert!(!refs.contains("lib"), "{} imports the crate root: name the module the item lives in", path.display());
        deps.entry(module).or_default().extend(refs);
    }
    // Depth-first search for a back edge; the path to it is the circle.
    fn visit<'a>(
        m: &'a str,
        deps: &'a BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) {
        if let Some(at) = path.iter().position(|p| *p == m) {
            panic!("the modules form a circle: {} -> {m}", path[at..].join(" -> "));
        }
        if !done.insert(m) {
            return;
        }
        path.push(m);
        for d in deps.get(m).into_iter().flatten().filter(|d| deps.contains_key(*d)) {
            visit(d, deps, path, done);
        }
        path.pop();
    }
    let mut done = BTreeSet::new();
    for m in deps.keys() {
        visit(m, &deps, &mut Vec::new(), &mut done);
    }
    assert!(deps.len() > 20, "the walk found the modules: {:?}", deps.keys());
}

#[test]
fn crate_references_read_paths_and_groups() {
    let text = "use crate::{a::{b, c}, d, Finding};\nfn f() { crate::e::g(); }\n";
    let found: Vec<String> = crate_references(text).into_iter().collect();
    assert_eq!(found, ["a", "d", "e", "lib"]);
}

/// The ways to write to the terminal that would skip the one redaction point.
const BARE_WRITES: [&str; 6] = ["println!", "eprintln!", "print!", "eprint!", "std::io::stdout", "std::io::stderr"];

/// `text` without its test module, with where each bare write is.
fn bare_writes(text: &str) -> Vec<String> {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//"))
        .flat_map(|(i, line)| {
            BARE_WRITES.iter().filter(|w| line.contains(*w)).map(move |w| format!("line {}: {w}", i + 1))
        })
        .collect()
}

#[test]
fn the_command_line_writes_only_through_render() {
    let mut files = Vec::new();
    rust_files(&workspace_root().join("release-core/src/cli"), Path::new(""), &mut files);
    assert!(
        files.iter().any(|(p, _)| p == Path::new("render.rs")),
        "{:?}",
        files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for (path, text) in files.iter().filter(|(p, _)| p != Path::new("render.rs")) {
        let found = bare_writes(text);
        assert!(
            found.is_empty(),
            "cli/{} writes to the terminal past the redactor ({found:?}): use render::out, render::err or render::json",
            path.display()
        );
    }
    // The scan itself sees a bare write.
    assert!(bare_writes("fn f() {\n    eprintln!(\"{x}\");\n}\n").contains(&"line 2: eprintln!".to_string()));
    assert!(!bare_writes("    print!(\"{text}\");").is_empty());
    assert!(bare_writes("// println! in a comment\n").is_empty());
}
