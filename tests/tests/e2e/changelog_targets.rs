//! `changelog`, `targets` and `qa` end to end in plasmite-shaped fixture repositories.

use release_core::testing::{FakeRegistry, FixtureRepo, PublishedRelease, plasmite_manifest};
use tests::{cargo_command, release};

#[test]
fn changelog_check_passes_for_a_dated_section_and_fails_under_unreleased() {
    let repo = FixtureRepo::plasmite("0.8.0")
        .replace("CHANGELOG.md", "## [Unreleased]\n", "## [Unreleased]\n\n### Added\n- Remote pools.\n")
        .build()
        .unwrap();
    let run = release(repo.root(), &["changelog", "v0.8.0"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let run = release(repo.root(), &["changelog", "v0.9.0"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("still under [Unreleased]") && run.stdout.contains("--finalize"), "{}", run.all());
    // Not a substring match: 0.8.0's section does not count for 10.8.0 or 0.8.0-rc.1.
    assert_eq!(release(repo.root(), &["changelog", "v10.8.0"]).code, 1);
    assert_eq!(release(repo.root(), &["changelog", "v0.8.0-rc.1"]).code, 1);
}

#[test]
fn finalize_then_notes() {
    let repo = FixtureRepo::plasmite("0.8.0")
        .replace(
            "CHANGELOG.md",
            "## [Unreleased]\n",
            "## [Unreleased]\n\n### Added\n- Remote pools.\n   - indented detail\n",
        )
        .build()
        .unwrap();
    let run = release(repo.root(), &["changelog", "v0.9.0", "--finalize", "--date", "2026-11-21"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let text = repo.read("CHANGELOG.md").unwrap();
    assert!(text.contains("## [Unreleased]\n\n## [0.9.0] - 2026-11-21\n\n### Added\n"), "{text}");
    let notes = release(repo.root(), &["changelog", "v0.9.0", "--notes"]);
    assert_eq!(notes.code, 0, "{}", notes.all());
    // Exactly the workflow's extraction: leading blank line, indentation kept (bug 28).
    assert_eq!(notes.stdout, "\n### Added\n- Remote pools.\n   - indented detail\n");
    // Finalizing twice is refused and changes nothing.
    let again = release(repo.root(), &["changelog", "v0.9.0", "--finalize"]);
    assert_eq!(again.code, 2, "{}", again.all());
    assert_eq!(repo.read("CHANGELOG.md").unwrap(), text);
}

#[test]
fn notes_for_a_missing_section_say_so() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let run = release(repo.root(), &["changelog", "v0.1.5", "--notes"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.is_empty() && run.stderr.contains("fall back"), "{}", run.all());
}

#[test]
fn targets_validate_and_list() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let run = release(repo.root(), &["targets"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("valid: 4 targets"), "{}", run.all());
    let list = |args: &[&str]| {
        let run = release(repo.root(), args);
        assert_eq!(run.code, 0, "{}", run.all());
        run.stdout
    };
    assert_eq!(list(&["targets", "--channel", "homebrew"]), "linux_amd64\ndarwin_amd64\ndarwin_arm64\n");
    assert_eq!(
        list(&["targets", "--channel", "pypi", "--field", "rust_target"]),
        "x86_64-apple-darwin\naarch64-apple-darwin\nx86_64-pc-windows-msvc\n"
    );
    assert_eq!(list(&["targets", "--channel", "cargo_binstall", "--tier", "preview"]).lines().count(), 3);
    // Bug 13: a `false` field is a value, not "not found".
    assert_eq!(list(&["targets", "--rust-target", "x86_64-pc-windows-msvc", "--field", "build_sdk"]), "false\n");
    assert_eq!(
        list(&["targets", "--field", "build_sdk", "--json"]).split_whitespace().collect::<String>(),
        r#"["true","true","true","false"]"#
    );
}

#[test]
fn qa_runs_the_repository_checks() {
    // The shipped policy has `[ci]`: the ci-green gate asks the fake, never the real GitHub API
    // (no test reaches the network).
    let fake = FakeRegistry::start(PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap()).unwrap();
    let repo = FixtureRepo::plasmite("0.8.0")
        .tags(&["v0.7.2"])
        .append("release/policy.toml", &fake.endpoints_toml())
        .build()
        .unwrap();
    let run = release(repo.root(), &["qa", "--json"]);
    let report = run.json();
    assert_eq!(report["target"], "v0.8.0", "{}", run.all());
    let checks: Vec<&str> =
        report["findings"].as_array().unwrap().iter().map(|f| f["check"].as_str().unwrap()).collect();
    for check in ["versions", "changelog", "targets"] {
        assert!(checks.contains(&check), "{check} missing: {}", run.all());
    }
    // A broken surface blocks qa, and the other checks still report.
    repo.replace("bindings/node/package.json", "\"0.8.0\"", "\"0.8.1\"").unwrap();
    let run = release(repo.root(), &["qa", "v0.8.0"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(run.stdout.contains("package.json is 0.8.1, but the release target is 0.8.0"), "{}", run.all());
}

#[test]
fn the_cargo_xtask_alias_runs_the_same_command() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    // Without this process's per-package variables, or `cargo xtask` would rebuild xtask
    // (and the next `cargo test` everything again).
    let out = cargo_command()
        .args(["xtask", "release", "versions", "--json", "--repo", repo.root().as_str()])
        .envs(release_core::testing::GIT_ENV)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["verdict"], "ready");
}

#[test]
fn node_platform_lists_must_equal_the_manifest_bug_14() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let run = release(repo.root(), &["targets", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    // As plasmite has them: package.json lists five (linux-arm64 never built), the workflow three.
    repo.replace(
        "bindings/node/package.json",
        "\"native/linux-x64/**\",",
        "\"native/linux-x64/**\",\n    \"native/linux-arm64/**\",",
    )
    .unwrap();
    repo.replace(".github/workflows/release.yml", "name: node-native-win32-x64", "name: node-native-elsewhere")
        .unwrap();
    let workflow = std::fs::read_to_string(repo.path(".github/workflows/release.yml")).unwrap();
    repo.write(".github/workflows/release.yml", workflow.replace("node-native-elsewhere", "other-artifact")).unwrap();
    let run = release(repo.root(), &["targets", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let report = run.json();
    tests::finding_with(&report, "fail", "bindings/node/package.json", &["extra linux-arm64"]);
    tests::finding_with(&report, "fail", ".github/workflows/release.yml", &["missing win32-x64"]);
    // qa's targets gate says the same.
    let run = release(repo.root(), &["qa", "v0.8.0", "--only", "targets", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    tests::finding_with(&run.json(), "fail", "bindings/node/package.json", &["extra linux-arm64"]);
}
