//! Adopting the tool exactly as `docs/plasmite/README.md` says: a plasmite-shaped fixture
//! repository gets the blocks that page marks `<!-- adoption: ... -->`, then `cargo xtask
//! release versions` runs there with the same cargo that runs these tests.
//!
//! The only change to the documented text is the dependency source: the page shows the pinned
//! git form (`git = "...", rev = "..."`), and the test swaps in the `path` form the page also
//! documents, pointing at this workspace's `release-core`. The build is `--offline` against a
//! copy of this workspace's `Cargo.lock` (same versions, so cargo's cache has everything) into
//! a persistent target folder, `target/adoption`, so a re-run only relinks. It also checks the
//! page's promise that `cargo package` packs the same files as before the adoption.

use std::{path::PathBuf, time::Instant};

use release_core::testing::{FixtureRepo, GIT_ENV};
use tests::{Run, cargo_command, workspace_root};

/// The marked code blocks of `docs/plasmite/README.md`, as (marker, block text), in page order.
/// A marker is an HTML comment `<!-- adoption: NAME -->`; its block is the next fenced one.
fn marked_blocks(page: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut lines = page.lines();
    while let Some(line) = lines.next() {
        let Some(name) = line.trim().strip_prefix("<!-- adoption:").and_then(|r| r.strip_suffix("-->")) else {
            continue;
        };
        let fence = lines.by_ref().find(|l| l.starts_with("```"));
        assert!(fence.is_some(), "marker {name:?} has no code block after it");
        let body: Vec<&str> = lines.by_ref().take_while(|l| !l.starts_with("```")).collect();
        blocks.push((name.trim().to_string(), body.join("\n") + "\n"));
    }
    blocks
}

/// The documented `xtask/Cargo.toml` with its `git = "...", rev = "..."` source replaced by
/// `path = "<release_core>"`; everything else (the features) stays as documented.
fn with_path_source(manifest: &str, release_core: &str) -> String {
    let line = manifest.lines().find(|l| l.starts_with("release-core = {")).expect("the page names release-core");
    let git = line.find("git = \"").unwrap_or_else(|| panic!("the documented dependency is not a git one: {line}"));
    let rev = line.find("rev = \"").unwrap_or_else(|| panic!("the documented dependency has no rev: {line}"));
    assert!(!line.contains("branch ="), "the documented dependency must pin a rev, not a branch: {line}");
    let rev_end = rev + "rev = \"".len() + line[rev + "rev = \"".len()..].find('"').expect("rev is a string") + 1;
    let rest = line[rev_end..].trim_start_matches([',', ' ']);
    assert!(git < rev, "expected `git = ..., rev = ...` in that order: {line}");
    let swapped = format!("{}path = {release_core:?}, {rest}", &line[..git]);
    manifest.replacen(line, &swapped, 1)
}

/// Where the adoption build goes: `adoption` under the target folder the tests use, kept
/// between runs so only the first build is slow.
fn adoption_target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace_root().join("target"), PathBuf::from).join("adoption")
}

/// `cargo` in the fixture, offline, into the persistent adoption target folder, with git
/// isolated from the machine's config and no colour or CI environment.
fn fixture_cargo(repo: &FixtureRepo, args: &[&str]) -> Run {
    let mut cmd = cargo_command();
    cmd.current_dir(repo.root())
        .args(args)
        .env("CARGO_NET_OFFLINE", "true")
        .env("CARGO_TARGET_DIR", adoption_target_dir())
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT");
    for (k, v) in GIT_ENV {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("cargo runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The files `cargo package` would put in the plasmite crate.
fn packaged_files(repo: &FixtureRepo) -> String {
    let run = fixture_cargo(repo, &["package", "--list", "--allow-dirty", "--package", "plasmite"]);
    assert_eq!(run.code, 0, "{}", run.all());
    run.stdout
}

#[test]
fn documented_adoption_builds_and_runs_versions() {
    let page_path = workspace_root().join("docs/plasmite/README.md");
    let page = std::fs::read_to_string(&page_path).unwrap();
    let blocks = marked_blocks(&page);
    let names: Vec<&str> = blocks.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "Cargo.toml, append",
            "Cargo.toml, add to [package]",
            "xtask/Cargo.toml",
            "xtask/src/main.rs",
            ".cargo/config.toml"
        ],
        "the adoption blocks of {}",
        page_path.display()
    );

    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    // plasmite today, before section 1 adds the policy.
    let today = FixtureRepo::plasmite("0.8.0").without("release/policy.toml").build().unwrap();
    let packaged_today = packaged_files(&today);
    let release_core = workspace_root().join("release-core").canonicalize().unwrap();
    let release_core = release_core.to_str().expect("workspace path is UTF-8");
    for (name, text) in &blocks {
        match name.as_str() {
            "Cargo.toml, append" => {
                let root = repo.read("Cargo.toml").unwrap();
                repo.write("Cargo.toml", format!("{root}\n{text}")).unwrap();
            }
            "Cargo.toml, add to [package]" => {
                repo.replace("Cargo.toml", "[package]\n", &format!("[package]\n{text}")).unwrap();
            }
            "xtask/Cargo.toml" => repo.write(name, with_path_source(text, release_core)).unwrap(),
            file => repo.write(file, text).unwrap(),
        }
    }
    // This workspace's lockfile, so the offline build resolves to the versions cargo's cache
    // holds; cargo drops this workspace's own entries and adds the fixture's `plasmite`.
    std::fs::copy(workspace_root().join("Cargo.lock"), repo.path("Cargo.lock")).unwrap();
    repo.commit("Adopt release-core as docs/plasmite/README.md says").unwrap();
    // The page promises the packaged crate stays as it is: no xtask, alias or policy in it.
    assert_eq!(packaged_files(&repo), packaged_today, "cargo package --list changed");

    let started = Instant::now();
    let run = fixture_cargo(&repo, &["xtask", "release", "versions", "--json"]);
    eprintln!("adoption: cargo xtask release versions took {:.1?}", started.elapsed());
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(report["verdict"], "ready", "{}", run.all());
    let findings = report["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 7, "six surfaces plus Cargo.lock: {}", run.all());
    assert!(findings.iter().all(|f| f["status"] == "pass"), "{}", run.all());

    // The build kept the fixture's own lockfile entry, the surface the policy reads.
    let lock = repo.read("Cargo.lock").unwrap();
    assert!(lock.contains("name = \"plasmite\"\nversion = \"0.8.0\""), "{lock}");
    assert!(lock.contains("name = \"xtask\"\nversion = \"0.0.0\""), "{lock}");
}

#[test]
fn path_source_swap_keeps_the_rest_of_the_line() {
    let doc = "[dependencies]\nrelease-core = { git = \"<url>\", rev = \"<commit>\", features = [\"cli\"] }\n";
    assert_eq!(
        with_path_source(doc, "/w/release-core"),
        "[dependencies]\nrelease-core = { path = \"/w/release-core\", features = [\"cli\"] }\n"
    );
}
