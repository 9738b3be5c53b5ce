//! `cargo xtask release provenance` end to end: the real binary, a plasmite-shaped fixture repo
//! whose policy points at a FakeRegistry serving build run 2001 of release.yml on the tag's
//! commit, with its `release-metadata` artifact.

use release_core::testing::{
    FakeRegistry, FixtureRepo, PublishedRelease,
    fake_registry::{WorkflowRun, build_metadata, zip_bytes},
    plasmite_manifest,
};
use serde_json::{Value, json};
use tests::{Run, finding, release_with_env};

const TOKEN: &str = "ghp_provenanceCANARY0123456789";

struct World {
    repo: FixtureRepo,
    fake: FakeRegistry,
}

fn world(change: impl FnOnce(&mut PublishedRelease)) -> World {
    let manifest = plasmite_manifest();
    let mut published = PublishedRelease::coherent(&manifest, "0.8.0").unwrap();
    change(&mut published);
    let fake = FakeRegistry::start(published).unwrap();
    let repo = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build().unwrap();
    World { repo, fake }
}

impl World {
    fn provenance(&self, args: &[&str]) -> Run {
        self.provenance_env(args, &[("GH_TOKEN", TOKEN)])
    }

    fn provenance_env(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let mut all = vec!["provenance"];
        all.extend_from_slice(args);
        all.push("--json");
        let run = release_with_env(self.repo.root(), &all, env);
        assert!(!run.stdout.contains(TOKEN) && !run.stderr.contains(TOKEN), "token leaked:\n{}", run.all());
        run
    }

    fn commit(&self) -> String {
        let mut sha = String::new();
        self.fake.update(|r| sha = r.tag_commit.clone().unwrap());
        sha
    }
}

/// The build run's metadata replaced by `doc` (as JSON text in a proper zip).
fn with_metadata(doc: Value) -> impl FnOnce(&mut PublishedRelease) {
    move |r| {
        let zip = zip_bytes(&[("metadata.json", doc.to_string().as_bytes())]).unwrap();
        r.run_mut(2001).unwrap().set_artifact("release-metadata", zip);
    }
}

fn outcome(report: &Value, subject: &str) -> String {
    finding(report, subject)["status"].as_str().unwrap_or_default().to_string()
}

/// Exit code and the FAIL/INCOMPLETE findings' `check: detail`, for messages.
fn problems(run: &Run) -> String {
    let report = run.json();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] != "pass" && f["status"] != "skipped")
        .map(|f| format!("{} {}: {}", f["status"], f["check"], f["detail"]))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_fails(run: &Run, check: &str, needle: &str) {
    assert_eq!(run.code, 1, "{}", run.all());
    let report = run.json();
    let hit = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["check"] == check && f["status"] == "fail" && f["detail"].as_str().unwrap().contains(needle));
    assert!(hit, "no FAIL {check} with `{needle}`:\n{}", problems(run));
}

#[test]
fn the_release_build_passes_by_run_id_and_by_tag() {
    let w = world(|_| {});
    let sha = w.commit();
    let run = w.provenance(&["--run-id", "2001", "--expect-tag", "v0.8.0"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(report["target"], "v0.8.0");
    let summary = &report["summary"];
    assert_eq!(summary["run_id"], "2001");
    assert_eq!(summary["workflow_path"], ".github/workflows/release.yml");
    assert_eq!(summary["metadata_tag"], "v0.8.0");
    assert_eq!(summary["metadata_source_sha"], sha.as_str());
    assert_eq!(summary["tag_commit"], sha.as_str());
    for subject in ["metadata tag", "metadata version", "metadata expected-tag", "metadata source-sha"] {
        assert_eq!(outcome(&report, subject), "pass", "{subject}");
    }
    assert_eq!(outcome(&report, "tag v0.8.0 commit"), "pass");

    // By tag: run 2001 is found through the tag's commit, not through a list of recent runs.
    let by_tag = w.provenance(&["--tag", "v0.8.0"]);
    assert_eq!(by_tag.code, 0, "{}", by_tag.all());
    assert_eq!(by_tag.json()["summary"]["run_id"], "2001");
    let asked: Vec<String> = w.fake.requests().into_iter().map(|l| l.path).collect();
    assert!(asked.iter().any(|p| p.contains(&format!("workflows/release.yml/runs?head_sha={sha}"))), "{asked:?}");

    // The report is in the evidence record; the human text prints the summary.
    let record = tests::evidence_json(w.repo.root(), "v0.8.0");
    assert!(record["entries"].as_array().unwrap().iter().any(|e| e["report"]["command"] == "provenance"));
    let text = tests::release_with_env(w.repo.root(), &["provenance", "--run-id", "2001"], &[("GH_TOKEN", TOKEN)]);
    assert_eq!(text.code, 0, "{}", text.all());
    let summary_line = text.stdout.lines().any(|l| l.trim_start().starts_with("metadata_source_sha: "));
    assert!(summary_line && text.stdout.contains("SKIP"), "{}", text.all());
}

#[test]
fn by_tag_prefers_the_run_on_the_tag_and_ignores_failures_and_other_commits() {
    let w = world(|r| {
        let sha = r.tag_commit.clone().unwrap();
        let build = r.run_mut(2001).unwrap().clone();
        // Newer: a failed run on the tag, a success dispatched from main on the same commit
        // (whose metadata is fine too), and a success on another commit.
        r.runs.push(WorkflowRun {
            id: 2002,
            conclusion: Some("failure".into()),
            created_at: "2026-07-28T12:00:00Z".into(),
            ..build.clone()
        });
        let mut from_main = WorkflowRun::build(2003, "v0.8.0", &sha).unwrap();
        from_main.head_branch = "main".into();
        from_main.event = "workflow_dispatch".into();
        from_main.created_at = "2026-07-28T13:00:00Z".into();
        r.runs.push(from_main);
        let other = WorkflowRun::build(2004, "v0.8.0", &"f".repeat(40)).unwrap();
        r.runs.push(WorkflowRun { created_at: "2026-07-28T14:00:00Z".into(), ..other });
    });
    let run = w.provenance(&["--tag", "v0.8.0"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["summary"]["run_id"], "2001", "the run triggered on the tag wins");
    // Without a run on the tag itself, the newest success on the commit is used.
    w.fake.update(|r| r.runs.retain(|run| run.id != 2001));
    let run = w.provenance(&["--tag", "v0.8.0"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.json()["summary"]["run_id"], "2003");
    // No successful run at all on the commit: FAIL, saying what to do.
    w.fake.update(|r| r.runs.retain(|run| run.id == 2002 || run.id == 2004));
    assert_fails(&w.provenance(&["--tag", "v0.8.0"]), "provenance.run", "no successful release.yml run");
}

#[test]
fn a_run_of_another_workflow_file_fails_even_with_the_same_display_name() {
    // Bug 24: runs were validated by display name; a copy named "release" passed.
    let w = world(|r| {
        let run = r.run_mut(2001).unwrap();
        run.workflow = "release-copy.yml".into();
        assert_eq!(run.name, "release");
    });
    let run = w.provenance(&["--run-id", "2001"]);
    assert_fails(&run, "provenance.workflow", ".github/workflows/release-copy.yml");
    // Nothing more is read from a run that is not the release build.
    assert!(run.json()["findings"].as_array().unwrap().iter().all(|f| f["check"] != "provenance.artifact"));
}

#[test]
fn failed_and_running_builds_are_refused() {
    let w = world(|r| r.run_mut(2001).unwrap().conclusion = Some("failure".into()));
    assert_fails(&w.provenance(&["--run-id", "2001"]), "provenance.conclusion", "completed with failure");
    w.fake.update(|r| {
        let run = r.run_mut(2001).unwrap();
        run.status = "in_progress".into();
        run.conclusion = None;
    });
    let running = w.provenance(&["--run-id", "2001"]);
    assert_eq!(running.code, 3, "{}", running.all());
    assert!(problems(&running).contains("still in_progress"), "{}", problems(&running));
    let missing = w.provenance(&["--run-id", "999"]);
    assert_fails(&missing, "provenance.run", "no workflow run 999");
}

#[test]
fn tag_and_version_mismatches_fail() {
    let w = world(|_| {});
    assert_fails(
        &w.provenance(&["--run-id", "2001", "--expect-tag", "v0.8.1"]),
        "provenance.expected-tag",
        "not of the expected v0.8.1",
    );

    let sha = w.commit();
    let mut doc = build_metadata("v0.8.0", &sha, 2001);
    doc["version"] = json!("0.8.1");
    let w = world(with_metadata(doc));
    assert_fails(
        &w.provenance(&["--run-id", "2001"]),
        "provenance.version",
        "`0.8.1` is not the tag `v0.8.0` without `v`",
    );

    for bad_tag in ["0.8.0", "v0.8", "release-0.8.0", "v0.8.0.1"] {
        let mut doc = build_metadata("v0.8.0", &sha, 2001);
        doc["tag"] = json!(bad_tag);
        let w = world(with_metadata(doc));
        assert_fails(&w.provenance(&["--run-id", "2001"]), "provenance.tag", "is not a release tag");
    }
}

#[test]
fn source_sha_must_be_the_run_head_and_the_tag_commit() {
    let w = world(|_| {});
    let sha = w.commit();
    let other = "e".repeat(40);

    // Bug 24: the script never compared source_sha with the tag's commit. Here the run and its
    // metadata agree with each other, but the tag points elsewhere.
    let w = world(|r| {
        let run = r.run_mut(2001).unwrap();
        run.head_sha = other.clone();
        let zip = zip_bytes(&[("metadata.json", build_metadata("v0.8.0", &other, 2001).to_string().as_bytes())]);
        run.set_artifact("release-metadata", zip.unwrap());
    });
    let run = w.provenance(&["--run-id", "2001"]);
    assert_fails(&run, "provenance.tag-commit", &format!("v0.8.0 points to {sha}"));
    assert_eq!(outcome(&run.json(), "metadata source-sha"), "pass");

    // The metadata names the tag's commit, but the run built something else.
    let w = world(|r| r.run_mut(2001).unwrap().head_sha = other.clone());
    let run = w.provenance(&["--run-id", "2001"]);
    assert_fails(&run, "provenance.source-sha", &format!("the run's head commit is {other}"));
    assert_eq!(outcome(&run.json(), "tag v0.8.0 commit"), "pass");

    // An artifact copied from another run.
    let w = world(with_metadata(build_metadata("v0.8.0", &sha, 1999)));
    assert_fails(&w.provenance(&["--run-id", "2001"]), "provenance.source-run-id", "not by run 2001");

    // A local tag that disagrees with GitHub's.
    let w = world(|_| {});
    w.repo.tag("v0.8.0").unwrap();
    assert_fails(&w.provenance(&["--run-id", "2001"]), "provenance.tag-commit", "the tag was moved");
}

/// One change to the published world.
type Change = Box<dyn FnOnce(&mut PublishedRelease)>;

#[test]
fn missing_or_malformed_metadata_fails() {
    let sha = world(|_| {}).commit();
    let zip = |files: &[(&str, &[u8])]| zip_bytes(files).unwrap();
    let cases: Vec<(&str, Change, &str, &str)> = vec![
        (
            "no artifact",
            Box::new(|r| r.run_mut(2001).unwrap().artifacts.clear()),
            "provenance.artifact",
            "no artifact named release-metadata",
        ),
        (
            "expired",
            Box::new(|r| r.run_mut(2001).unwrap().artifacts[0].expired = true),
            "provenance.artifact",
            "expired",
        ),
        (
            "no metadata.json",
            Box::new({
                let z = zip(&[("other.json", b"{}")]);
                move |r| r.run_mut(2001).unwrap().set_artifact("release-metadata", z)
            }),
            "provenance.artifact",
            "no `metadata.json` at the root of the archive (members: other.json)",
        ),
        (
            "not a zip",
            Box::new(|r| r.run_mut(2001).unwrap().set_artifact("release-metadata", b"{\"tag\": 1}".to_vec())),
            "provenance.artifact",
            "not a zip archive",
        ),
        (
            "traversal",
            Box::new({
                let z = zip(&[
                    ("metadata.json", build_metadata("v0.8.0", &sha, 2001).to_string().as_bytes()),
                    ("../../evil.sh", b"rm -rf /"),
                ]);
                move |r| r.run_mut(2001).unwrap().set_artifact("release-metadata", z)
            }),
            "provenance.artifact",
            "`../../evil.sh` escapes the archive",
        ),
        (
            "oversized",
            Box::new({
                let z = zip(&[("metadata.json", &vec![b' '; 2 * 1024 * 1024])]);
                move |r| r.run_mut(2001).unwrap().set_artifact("release-metadata", z)
            }),
            "provenance.artifact",
            "over the 1048576-byte limit",
        ),
        (
            "malformed json",
            Box::new({
                let z = zip(&[("metadata.json", b"{\"tag\": \"v0.8.0\",")]);
                move |r| r.run_mut(2001).unwrap().set_artifact("release-metadata", z)
            }),
            "provenance.metadata",
            "metadata.json: not JSON",
        ),
        (
            "number",
            Box::new(with_metadata(json!({"tag": "v0.8.0", "version": 0.8, "source_sha": sha}))),
            "provenance.metadata",
            "`version` is 0.8, not a string",
        ),
    ];
    for (name, change, check, needle) in cases {
        let w = world(change);
        let run = w.provenance(&["--run-id", "2001"]);
        assert_eq!(run.code, 1, "{name}: {}", run.all());
        assert!(problems(&run).contains(check) && problems(&run).contains(needle), "{name}:\n{}", problems(&run));
        // Nothing was extracted to disk.
        assert!(!w.repo.root().join("evil.sh").exists() && !w.repo.root().join("metadata.json").exists());
    }
}

#[test]
fn a_download_that_differs_from_its_listed_digest_fails() {
    let w = world(|r| r.run_mut(2001).unwrap().artifacts[0].digest = Some(format!("sha256:{}", "0".repeat(64))));
    assert_fails(&w.provenance(&["--run-id", "2001"]), "provenance.artifact", "the API lists sha256:0000");
}

#[test]
fn without_a_token_it_is_incomplete_and_names_the_permission() {
    // Artifact downloads need a token even on public repositories. (No `gh` is assumed on
    // the test machine: the token lookup's last resort is `gh auth token`.)
    let w = world(|_| {});
    let run = w.provenance_env(&["--run-id", "2001"], &[]);
    assert_eq!(run.code, 3, "{}", run.all());
    assert!(problems(&run).contains("Actions: read"), "{}", problems(&run));
}

#[test]
fn configuration_errors_exit_2() {
    let w = world(|_| {});
    let policy = std::fs::read_to_string(w.repo.path("release/policy.toml")).unwrap();
    let without_build =
        policy.replace("[build]\nworkflow = \"release.yml\"\nmetadata_artifact = \"release-metadata\"\n", "");
    assert_ne!(policy, without_build);
    w.repo.write("release/policy.toml", &without_build).unwrap();
    let run = w.provenance(&["--run-id", "2001"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("release/policy.toml") && run.stderr.contains("[build]"), "{}", run.all());
    let usage = release_with_env(w.repo.root(), &["provenance"], &[]);
    assert_eq!(usage.code, 2, "{}", usage.all());
    let both = release_with_env(w.repo.root(), &["provenance", "--run-id", "1", "--tag", "v0.8.0"], &[]);
    assert_eq!(both.code, 2, "{}", both.all());
    let bad_id = release_with_env(w.repo.root(), &["provenance", "--run-id", "abc"], &[]);
    assert_eq!(bad_id.code, 2, "{}", bad_id.all());
}

/// The `provenance.target-artifacts` findings of a run: `(status, subject, detail)`.
fn target_artifacts(run: &Run) -> Vec<(String, String, String)> {
    let report = run.json();
    let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["check"] == "provenance.target-artifacts")
        .map(|f| (s(&f["status"]), s(&f["subject"]), s(&f["detail"])))
        .collect()
}

#[test]
fn every_target_artifact_of_the_manifest_is_required_from_one_listing() {
    // All present: one finding per artifact the manifest requires, from one listing.
    let w = world(|_| {});
    let run = w.provenance(&["--run-id", "2001"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let found = target_artifacts(&run);
    let mut names: Vec<&str> = found
        .iter()
        .map(|(_, subject, _)| subject.trim_start_matches("artifact ").trim_end_matches(" of run 2001"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "dist-aarch64-apple-darwin",
            "dist-x86_64-apple-darwin",
            "dist-x86_64-unknown-linux-gnu",
            "node-native-darwin-arm64",
            "node-native-darwin-x64",
            "node-native-linux-x64",
            "node-native-win32-x64",
            "py-dist-darwin_amd64",
            "py-dist-darwin_arm64",
            "py-dist-windows_amd64",
        ]
    );
    assert!(found.iter().all(|(status, _, _)| status == "pass"), "{found:?}");
    let listings = w.fake.requests().into_iter().filter(|l| l.path.contains("/actions/runs/2001/artifacts")).count();
    assert_eq!(listings, 1, "the run's artifacts are listed once, not per name");

    // Bug 17: the other platforms' archives are there, one is not. "At least one" passed.
    let w = world(|r| r.run_mut(2001).unwrap().artifacts.retain(|a| a.name != "dist-aarch64-apple-darwin"));
    let run = w.provenance(&["--run-id", "2001"]);
    assert_fails(
        &run,
        "provenance.target-artifacts",
        "no dist-aarch64-apple-darwin (aarch64-apple-darwin official in github)",
    );
    let failed: Vec<_> = target_artifacts(&run).into_iter().filter(|(status, _, _)| status != "pass").collect();
    assert_eq!(failed.len(), 1, "one finding per missing artifact: {failed:?}");

    // Expired: listed, but its files are gone.
    let w = world(|r| r.run_mut(2001).unwrap().artifact_mut("py-dist-windows_amd64").unwrap().expired = true);
    assert_fails(
        &w.provenance(&["--run-id", "2001"]),
        "provenance.target-artifacts",
        "py-dist-windows_amd64 (x86_64-pc-windows-msvc official in pypi) has expired (past its retention): rebuild the tag",
    );

    // An SDK archive for a target the manifest does not ship would be published anyway.
    let w = world(|r| {
        let extra =
            release_core::testing::fake_registry::run_artifacts(2002, &["dist-aarch64-unknown-linux-gnu".into()]);
        r.run_mut(2001).unwrap().artifacts.extend(extra.unwrap());
    });
    assert_fails(
        &w.provenance(&["--run-id", "2001"]),
        "provenance.target-artifacts",
        "no target of the manifest ships dist-aarch64-unknown-linux-gnu",
    );
}

#[test]
fn an_unreadable_artifact_listing_is_incomplete() {
    let w = world(|_| {});
    w.fake.fault_path(
        release_core::testing::Service::GithubApi,
        "/actions/runs/2001/artifacts",
        release_core::testing::Fault::Status(500),
    );
    let run = w.provenance(&["--run-id", "2001"]);
    assert_eq!(run.code, 3, "{}", run.all());
    let found = target_artifacts(&run);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].0, "incomplete", "{found:?}");
    assert!(found[0].2.contains("500"), "{found:?}");
}
