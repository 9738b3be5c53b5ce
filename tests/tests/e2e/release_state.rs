//! The release state never advances on a partial or stale run, and waivers have limits
//! (issue 10): `qa --only`, `verify --channels`, a new commit after `qa` and waivers that must
//! not hold, each driven through the real binary, then `status` asked where the release stands.

use release_core::testing::{FakeRegistry, FixtureRepo, PublishedRelease, plasmite_manifest};
use tests::{evidence_json, qa_fixture, release, release_with_env};

const OK_GATE: &str = "[[gate]]\nid = \"git-version\"\nrun = [\"git\", \"--version\"]\n";

/// A policy gate that passes only when `FIXED` is set: a fix outside the tree (a tool
/// installed, a service back), so the release commit stays the same.
const FIXABLE_GATE: &str = "[[gate]]\nid = \"bad\"\nrun = [\"printenv\", \"FIXED\"]\n";

fn live(repo: &FixtureRepo) {
    let run = release(repo.root(), &["evidence", "v0.8.0", "--mode", "live", "--agent", "rel@host"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

fn status_json(repo: &FixtureRepo) -> serde_json::Value {
    let run = release(repo.root(), &["status", "v0.8.0", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    run.json()
}

#[test]
fn only_versions_after_a_blocked_qa_does_not_say_tag() {
    let repo = qa_fixture(FIXABLE_GATE, &[]);
    live(&repo);
    let full = release(repo.root(), &["qa", "v0.8.0"]);
    assert_eq!(full.code, 1, "the gate `bad` fails: {}", full.all());

    let only = release(repo.root(), &["qa", "v0.8.0", "--only", "versions"]);
    assert_eq!(only.code, 0, "the subset's own verdict: {}", only.all());
    assert!(
        only.stderr.contains("partial run") && only.stderr.contains("does not advance the release"),
        "{}",
        only.all()
    );
    let record = evidence_json(repo.root(), "v0.8.0");
    let last = record["entries"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["subset"], true, "{last}");
    assert!(last["commit"].is_string(), "{last}");

    let text = release(repo.root(), &["status", "v0.8.0"]);
    assert!(!text.stdout.contains("failing gates: none"), "{}", text.all());
    assert!(!text.stdout.contains("tag the release commit"), "{}", text.all());
    let status = status_json(&repo);
    // A failing gate is an object (issue 13): `{"check": "bad", "status": "fail", "detail": ...}`.
    assert_eq!(
        (&status["failing_gates"][0]["check"], &status["failing_gates"][0]["status"]),
        (&"bad".into(), &"fail".into()),
        "{status}"
    );
    assert!(status["next_step"].as_str().unwrap().contains("fix the failing gates (bad)"), "{status}");

    // A subset run that re-runs exactly what failed, at the same commit, does complete the set.
    let fixed = release_with_env(repo.root(), &["qa", "v0.8.0", "--only", "bad"], &[("FIXED", "1")]);
    assert_eq!(fixed.code, 0, "{}", fixed.all());
    let status = status_json(&repo);
    assert_eq!(status["failing_gates"], serde_json::json!([]), "{status}");
    assert!(status["next_step"].as_str().unwrap().starts_with("tag the release commit"), "{status}");
    assert!(status["missing_checks"].as_array().unwrap().is_empty(), "{status}");
    let bad = status["required_checks"].as_array().unwrap().iter().find(|c| c["check"] == "bad").unwrap();
    assert_eq!(bad["state"], "passed", "{status}");
}

#[test]
fn a_new_commit_after_qa_makes_every_result_stale() {
    let repo = qa_fixture(OK_GATE, &[]);
    live(&repo);
    let qa = release(repo.root(), &["qa", "v0.8.0"]);
    assert_eq!(qa.code, 0, "{}", qa.all());
    assert!(status_json(&repo)["next_step"].as_str().unwrap().starts_with("tag the release commit"));

    repo.write("src/later.rs", "// later\n").unwrap();
    repo.commit("Later").unwrap();
    repo.git(&["push", "-q", "origin", "main"]).unwrap();
    let status = status_json(&repo);
    let next = status["next_step"].as_str().unwrap();
    assert!(!next.contains("tag the release commit"), "{status}");
    assert!(next.contains("ran on another commit: versions") && next.contains("release qa v0.8.0"), "{status}");
    assert_eq!(status["release_commit"], status["commit"], "no tag yet: HEAD is the release commit");
    let missing = status["missing_checks"].as_array().unwrap();
    assert!(missing.iter().any(|m| m.as_str().unwrap().starts_with("git-version (last ran on")), "{status}");
    let text = release(repo.root(), &["status", "v0.8.0"]);
    assert!(text.stdout.contains("not yet at the release commit:\n  versions"), "{}", text.all());
}

#[test]
fn verify_of_one_channel_is_not_every_channel_verified() {
    let published = PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap();
    let fake = FakeRegistry::start(published).unwrap();
    let repo = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build().unwrap();
    let run = release(repo.root(), &["verify", "v0.8.0", "--channels", "crates", "--http-timeout", "2s"]);
    assert_eq!(run.code, 0, "crates alone is published: {}", run.all());
    assert!(run.stderr.contains("partial run (--channels"), "{}", run.all());
    let record = evidence_json(repo.root(), "v0.8.0");
    assert_eq!(record["entries"][0]["subset"], true, "{record}");

    let status = release(repo.root(), &["status", "v0.8.0", "--json"]).json();
    assert_ne!(status["next_step"], "done: every channel verified", "{status}");
    let state = |check: &str| {
        status["required_checks"].as_array().unwrap().iter().find(|c| c["check"] == check).map(|c| c["state"].clone())
    };
    assert_eq!(state("verify.crates"), Some("passed".into()), "{status}");
    for other in ["provenance", "verify.npm", "verify.pypi", "verify.github", "verify.homebrew"] {
        assert_eq!(state(other), Some("missing".into()), "{other}: {status}");
    }
}

#[test]
fn built_in_gates_that_decide_the_release_can_never_be_waived() {
    let repo = qa_fixture(OK_GATE, &[]);
    live(&repo);
    for gate in ["versions", "clean-tree", "head-pushed", "ci-green", "blockers"] {
        let run = release(
            repo.root(),
            &["qa", "v0.8.0", "--waive", gate, "--reason", "the CI runner is down for maintenance today"],
        );
        assert_eq!(run.code, 2, "{gate}: {}", run.all());
        assert!(run.stderr.contains(&format!("gate `{gate}` can never be waived")), "{}", run.all());
    }
    // The exact command line of the issue.
    let run = release(
        repo.root(),
        &[
            "qa",
            "v0.8.0",
            "--waive",
            "ci-green",
            "--reason",
            "x",
            "--waive",
            "head-pushed",
            "--reason",
            "x",
            "--waive",
            "versions",
            "--reason",
            "x",
        ],
    );
    assert_eq!(run.code, 2, "{}", run.all());
    let status = status_json(&repo);
    assert!(status["next_step"].as_str().unwrap().contains("run the gates"), "nothing was recorded: {status}");
}

#[test]
fn a_policy_gate_can_be_unwaivable() {
    let repo = qa_fixture("[[gate]]\nid = \"audit\"\nrun = [\"false\"]\nwaivable = false\n", &[]);
    let run = release(repo.root(), &["qa", "v0.8.0", "--waive", "audit", "--reason", "advisory db is offline today"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("gate `audit` can never be waived") && run.stderr.contains("waivable = false"));
}

#[test]
fn a_live_waiver_needs_substance_names_its_author_and_holds_for_its_commit() {
    let repo = qa_fixture(FIXABLE_GATE, &[]);
    live(&repo);
    let thin = release(repo.root(), &["qa", "v0.8.0", "--waive", "bad", "--reason", "x"]);
    assert_eq!(thin.code, 2, "{}", thin.all());
    assert!(thin.stderr.contains("reason of substance"), "{}", thin.all());

    let reason = "known flaky check, tracked in issue 42";
    let run = release(repo.root(), &["qa", "v0.8.0", "--waive", "bad", "--reason", reason, "--agent", "ops@desk"]);
    assert_eq!(run.code, 0, "ready with waivers: {}", run.all());
    let record = evidence_json(repo.root(), "v0.8.0");
    let decision = &record["decisions"][0];
    assert_eq!(decision["by"], "ops@desk", "{record}");
    let head = repo.git(&["rev-parse", "HEAD"]).unwrap();
    assert_eq!(decision["commit"], head.trim(), "{record}");
    let status = status_json(&repo);
    assert!(status["next_step"].as_str().unwrap().starts_with("tag the release commit"), "{status}");

    // Without --agent the record's agent answers for it.
    release(repo.root(), &["qa", "v0.8.0", "--waive", "bad", "--reason", reason]);
    assert_eq!(evidence_json(repo.root(), "v0.8.0")["decisions"][1]["by"], "rel@host");

    // Another commit: the waiver no longer holds, and `status` says the gate is stale.
    repo.write("src/later.rs", "// later\n").unwrap();
    repo.commit("Later").unwrap();
    repo.git(&["push", "-q", "origin", "main"]).unwrap();
    let status = status_json(&repo);
    let bad = status["required_checks"].as_array().unwrap().iter().find(|c| c["check"] == "bad").unwrap().clone();
    assert_eq!(bad["state"], "stale", "{status}");
    assert!(!status["next_step"].as_str().unwrap().contains("tag the release commit"), "{status}");
}

#[test]
fn a_dry_run_waiver_may_be_short() {
    let repo = qa_fixture(FIXABLE_GATE, &[]);
    release(repo.root(), &["evidence", "v0.8.0", "--mode", "dry-run", "--agent", "rel@host"]);
    let run = release(repo.root(), &["qa", "v0.8.0", "--waive", "bad", "--reason", "x"]);
    assert_eq!(run.code, 0, "a rehearsal: {}", run.all());
}
