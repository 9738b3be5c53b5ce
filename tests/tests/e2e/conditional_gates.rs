//! `when_changed` gates on a plasmite-shaped repository with the shipped policy: a release's
//! own version bump triggers nothing, the hot path triggers the benchmark, `Cargo.lock` the
//! audit; and a clone without the base tag says so instead of running every conditional gate.

use camino::Utf8PathBuf;
use release_core::testing::{FixtureRepo, git_in, plasmite_files};
use serde_json::Value;
use tests::{Run, findings, release_with_env};

/// The files every release rewrites: the version surfaces of the shipped policy.
const SURFACES: [&str; 6] = [
    "Cargo.toml",
    "Cargo.lock",
    "bindings/python/pyproject.toml",
    "bindings/node/native/Cargo.toml",
    "bindings/node/package.json",
    "bindings/node/package-lock.json",
];

/// plasmite at 0.7.2, tagged `v0.7.2`, then a commit that bumps every surface to 0.8.0 and
/// edits the README: exactly what a release-prep commit touches, and nothing guarded.
fn bumped() -> FixtureRepo {
    let repo = FixtureRepo::plasmite("0.7.2").file("README.md", "# plasmite\n").with_remote().build().unwrap();
    repo.tag("v0.7.2").unwrap();
    repo.git(&["push", "-q", "origin", "v0.7.2"]).unwrap();
    for (path, text) in plasmite_files("0.8.0") {
        if SURFACES.contains(&path) {
            repo.write(path, text).unwrap();
        }
    }
    repo.write("README.md", "# plasmite\n\nNow 0.8.0.\n").unwrap();
    repo.commit("Prepare 0.8.0").unwrap();
    repo.git(&["push", "-q", "origin", "main"]).unwrap();
    repo
}

/// A folder with only `git` in it, to stand in for PATH: gates that do run stop at once at
/// their missing tool (cargo-audit, cargo) instead of building anything.
fn git_only_path() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let git = std::env::split_paths(&std::env::var_os("PATH").unwrap())
        .map(|d| d.join("git"))
        .find(|p| p.is_file())
        .expect("git is on PATH");
    std::os::unix::fs::symlink(git, dir.path().join("git")).unwrap();
    dir
}

fn qa(root: &camino::Utf8Path, extra: &[&str]) -> Run {
    let path = git_only_path();
    let mut args = vec!["qa", "v0.8.0", "--only", "audit", "--only", "bench", "--only", "remote-integration", "--json"];
    args.extend_from_slice(extra);
    release_with_env(root, &args, &[("PATH", path.path().to_str().unwrap())])
}

fn gate(run: &Run, id: &str) -> Value {
    let report = run.json();
    findings(&report, id).first().map(|f| (*f).clone()).unwrap_or_else(|| panic!("no {id} finding:\n{}", run.all()))
}

#[test]
fn a_version_bump_and_a_readme_trigger_no_conditional_gate() {
    let repo = bumped();
    let run = qa(repo.root(), &[]);
    for id in ["audit", "bench", "remote-integration"] {
        let f = gate(&run, id);
        assert_eq!(f["status"], "skipped", "{id}: {}", run.all());
        assert!(f["reason"].as_str().unwrap().ends_with("since v0.7.2"), "{f}");
    }
}

#[test]
fn the_hot_path_triggers_the_benchmark_and_the_lockfile_the_audit() {
    let repo = bumped();
    repo.write("src/core/pool.rs", "// hot path, faster\n").unwrap();
    repo.commit("Faster pool").unwrap();
    let run = qa(repo.root(), &[]);
    let bench = gate(&run, "bench");
    assert_ne!(bench["status"], "skipped", "{}", run.all());
    assert!(bench.to_string().contains("runs: src/core/pool.rs changed since v0.7.2"), "{bench}");
    assert_eq!(gate(&run, "audit")["status"], "skipped", "the hot path is not a dependency: {}", run.all());

    // A new dependency in Cargo.lock (beside the bumped root entry) is what the audit guards.
    let lock = repo.read("Cargo.lock").unwrap();
    let dep = "[[package]]\nname = \"libc\"\nversion = \"0.2.170\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n";
    repo.write(
        "Cargo.lock",
        lock.replacen("[[package]]\nname = \"plasmite\"", &format!("{dep}[[package]]\nname = \"plasmite\""), 1),
    )
    .unwrap();
    repo.commit("Add libc").unwrap();
    let run = qa(repo.root(), &[]);
    let audit = gate(&run, "audit");
    assert_ne!(audit["status"], "skipped", "{}", run.all());
    assert!(audit["detail"].as_str().unwrap().contains("cargo-audit"), "it ran up to its tool: {audit}");
}

/// A clone of `repo` made with `args` (`--depth 1`, `--no-tags`), as CI checks it out.
fn clone(repo: &FixtureRepo, args: &[&str]) -> (tempfile::TempDir, Utf8PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let dest = Utf8PathBuf::from_path_buf(dir.path().join("clone")).unwrap();
    let source = format!("file://{}", repo.root());
    let mut all = vec!["clone", "-q"];
    all.extend_from_slice(args);
    all.extend([source.as_str(), dest.as_str()]);
    git_in(repo.root(), &all).unwrap();
    (dir, dest)
}

#[test]
fn a_shallow_clone_without_the_base_tag_says_so() {
    let repo = bumped();
    // actions/checkout's default: one commit, no tags.
    let (_dir, shallow) = clone(&repo, &["--depth", "1", "--no-tags"]);
    let run = qa(&shallow, &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    for id in ["audit", "bench", "remote-integration"] {
        let f = gate(&run, id);
        assert_eq!(f["status"], "incomplete", "{id}: {}", run.all());
        let detail = f["detail"].as_str().unwrap();
        assert!(detail.contains("shallow clone") && detail.contains("no release tag below v0.8.0"), "{detail}");
        assert!(detail.contains("`fetch-depth: 0`") && detail.contains("`git fetch --tags`"), "{detail}");
        assert!(detail.starts_with("not run:"), "it did not run every conditional gate blind: {detail}");
    }

    // A full clone without tags, given the base tag it lacks.
    let (_dir, untagged) = clone(&repo, &["--no-tags"]);
    let run = qa(&untagged, &["--base-tag", "v0.7.2"]);
    let bench = gate(&run, "bench");
    assert_eq!(bench["status"], "incomplete", "{}", run.all());
    let detail = bench["detail"].as_str().unwrap();
    assert!(
        detail.contains("the base tag v0.7.2 is not in this clone") && detail.contains("git fetch --tags"),
        "{detail}"
    );

    // The same full clone with no base tag at all might be a first release: the gates run
    // (fail closed) and the finding itself says why and how to fetch the tags.
    let run = qa(&untagged, &[]);
    let remote = gate(&run, "remote-integration");
    assert_ne!(remote["status"], "skipped", "{}", run.all());
    let detail = remote["detail"].as_str().unwrap();
    assert!(detail.contains("it ran because no base tag") && detail.contains("`fetch-depth: 0`"), "{detail}");
    // The benchmark compares with the base tag, so it cannot run at all; it says how to get one.
    let bench = gate(&run, "bench");
    assert_eq!(bench["status"], "incomplete", "{}", run.all());
    assert!(bench["detail"].as_str().unwrap().contains("git fetch --tags"), "{bench}");

    // Fetching the tags is the fix the message names.
    git_in(&untagged, &["fetch", "-q", "--tags"]).unwrap();
    let run = qa(&untagged, &[]);
    assert_eq!(gate(&run, "bench")["status"], "skipped", "{}", run.all());
}
