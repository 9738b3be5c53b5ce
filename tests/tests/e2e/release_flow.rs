//! The release itself as commands (issue 12): `preflight`, `tag`, `build`, `publish` and
//! `next`, through the real binary, against a fixture repository with a bare `origin` and the
//! fake GitHub.

use release_core::testing::{FakeRegistry, FixtureRepo, PublishedRelease, TokenGrant, plasmite_manifest};
use tests::{Run, evidence_json, finding, release_with_env};

/// A token the fake accepts (its value is never shown).
const TOKEN: &str = "ghp_releaseflowtokenvalue0123456789";

/// The two release workflows, with the pins the plasmite policy names.
fn workflows(toolchain: &str) -> Vec<(&'static str, String)> {
    vec![
        (
            ".github/workflows/release.yml",
            format!(
                "name: release\non:\n  push:\n    tags: ['v*']\nenv:\n  RELEASE_RUST_TOOLCHAIN: \"{toolchain}\"\n  CARGO_BINSTALL_VERSION: 1.10.0\n"
            ),
        ),
        (
            ".github/workflows/release-publish.yml",
            "name: release-publish\non: workflow_dispatch\nenv:\n  RELEASE_RUST_TOOLCHAIN: \"1.88.0\"\n".to_string(),
        ),
    ]
}

/// The fake GitHub and registries, serving v0.8.0.
fn fake() -> FakeRegistry {
    FakeRegistry::start(PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap()).unwrap()
}

/// A plasmite-shaped repository pointed at `fake`, with the workflows and a bare `origin`.
fn repo(fake: &FakeRegistry, toolchain: &str) -> FixtureRepo {
    let mut builder =
        FixtureRepo::plasmite("0.8.0").tags(&["v0.7.2"]).append("release/policy.toml", &fake.endpoints_toml());
    for (path, text) in workflows(toolchain) {
        builder = builder.file(path, text);
    }
    builder.with_remote().build().unwrap()
}

fn run(repo: &FixtureRepo, args: &[&str]) -> Run {
    release_with_env(repo.root(), args, &[("GH_TOKEN", TOKEN)])
}

#[test]
fn preflight_passes_with_the_token_secrets_and_pins_a_release_needs() {
    let fake = fake();
    let repo = repo(&fake, "1.88.0");
    let out = run(&repo, &["preflight", "v0.8.0", "--json", "--live"]);
    assert_eq!(out.code, 0, "{}", out.all());
    assert!(!out.all().contains(TOKEN), "the token never shows");
    let report = out.json();
    assert_eq!(finding(&report, "secret HOMEBREW_TAP_TOKEN (live)")["status"], "pass");
    assert_eq!(finding(&report, "RELEASE_RUST_TOOLCHAIN")["status"], "pass");
    let record = evidence_json(repo.root(), "v0.8.0");
    assert_eq!(record["entries"][0]["report"]["command"], "preflight");
}

#[test]
fn preflight_names_what_is_missing() {
    let fake = fake();
    let repo = repo(&fake, "1.89.0");
    fake.update(|r| {
        r.secrets.retain(|s| s != "PYPI_API_TOKEN");
        r.grant = TokenGrant::default().without("actions");
    });
    let out = run(&repo, &["preflight", "v0.8.0", "--json"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let report = out.json();
    let secret = finding(&report, "secret PYPI_API_TOKEN");
    assert_eq!(secret["status"], "fail", "{report:#}");
    let runs = finding(&report, "token may read workflow runs, jobs, logs and artifacts (actions: read)");
    assert!(runs["detail"].as_str().unwrap().contains("actions=read"), "{runs}");
    let pins = finding(&report, "RELEASE_RUST_TOOLCHAIN");
    assert!(pins["detail"].as_str().unwrap().contains("1.88.0, 1.89.0"), "{pins}");
    assert_eq!(finding(&report, "secret HOMEBREW_TAP_TOKEN (live)")["status"], "pass");

    // A token that may not list secrets: unknown, naming the permission, never a pass.
    fake.update(|r| r.grant = TokenGrant::default().without("secrets"));
    repo.replace(".github/workflows/release.yml", "1.89.0", "1.88.0").unwrap();
    let out = run(&repo, &["preflight", "v0.8.0", "--json"]);
    assert_eq!(out.code, 3, "{}", out.all());
    let secrets = finding(&out.json(), "secrets").clone();
    assert!(secrets["detail"].as_str().unwrap().contains("secrets=read"), "{secrets}");

    // A classic token without `repo`: every need names the scope it lacks.
    fake.update(|r| r.grant = TokenGrant::classic(&["read:org"]));
    let out = run(&repo, &["preflight", "v0.8.0", "--json"]);
    assert_eq!(out.code, 1, "{}", out.all());
    let dispatch = finding(&out.json(), "token may dispatch the build and publish workflows (actions: write)").clone();
    assert!(dispatch["detail"].as_str().unwrap().contains("lack repo"), "{dispatch}");

    // No token at all.
    let out = tests::release(repo.root(), &["preflight", "v0.8.0"]);
    assert_eq!(out.code, 1, "{}", out.all());
    assert!(out.stdout.contains("no GitHub token"), "{}", out.all());
}
