//! `cargo xtask release blocker` against a stand-in ergo that implements the current CLI
//! contract (tests/fake_ergo.rs).

use release_core::testing::{FakeRegistry, FixtureRepo, PublishedRelease, plasmite_manifest};
use serde_json::Value;
use tests::{evidence_json, findings, qa_fixture, release, release_with_env};

const FAKE_ERGO: &str = env!("CARGO_BIN_EXE_fake-ergo");

struct Tracker {
    repo: FixtureRepo,
    state: String,
}

impl Tracker {
    fn new() -> Tracker {
        Tracker::in_repo(FixtureRepo::plasmite("0.8.0").build().unwrap())
    }

    /// A tracker whose policy reads GitHub (workflow runs) from `fake`.
    fn with_github(fake: &FakeRegistry) -> Tracker {
        Tracker::in_repo(
            FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build().unwrap(),
        )
    }

    fn in_repo(repo: FixtureRepo) -> Tracker {
        let state = repo.scratch().join("ergo.json").to_string();
        std::fs::create_dir_all(repo.scratch()).unwrap();
        Tracker { repo, state }
    }

    fn file(&self, title: &str, extra: &[&str], env: &[(&str, &str)]) -> tests::Run {
        let mut args = vec![
            "blocker",
            "v0.9.0",
            "--check",
            "release-gate",
            "--title",
            title,
            "--summary",
            "clippy fails",
            "--ergo",
            FAKE_ERGO,
        ];
        args.extend_from_slice(extra);
        let mut env = env.to_vec();
        env.push(("FAKE_ERGO_STATE", &self.state));
        release_with_env(self.repo.root(), &args, &env)
    }

    fn items(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.state).unwrap_or_else(|_| r#"{"items":[]}"#.into());
        serde_json::from_str::<Value>(&text).unwrap()["items"].as_array().unwrap().clone()
    }

    fn calls(&self) -> String {
        std::fs::read_to_string(format!("{}.log", self.state)).unwrap_or_default()
    }
}

#[test]
fn files_once_per_title_under_one_epic() {
    let t = Tracker::new();
    let run = t.file("clippy fails on 1.88", &[], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    let items = t.items();
    assert_eq!(items.len(), 2, "an epic and a task: {items:?}");
    assert_eq!(items[0]["title"], "Release blockers: v0.9.0");
    assert_eq!(items[0]["kind"], "epic");
    assert_eq!(items[1]["title"], "[release-blocker][v0.9.0] clippy fails on 1.88");
    assert_eq!(items[1]["epic_id"], items[0]["id"]);
    assert!(items[1]["body"].as_str().unwrap().contains("## Acceptance Criteria"));

    // The same title again is not filed twice (the script filed duplicates: bug 36).
    let again = t.file("clippy fails on 1.88", &[], &[]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stdout.contains("already filed"), "{}", again.all());
    assert_eq!(t.items().len(), 2);

    // Another blocker joins the same epic.
    assert_eq!(t.file("wheel smoke fails", &[], &[]).code, 0);
    let items = t.items();
    assert_eq!(items.len(), 3);
    assert_eq!(items[2]["epic_id"], items[0]["id"]);

    // The evidence record holds the blocker once, with where ergo filed it.
    let record = tests::evidence_json(t.repo.root(), "v0.9.0");
    let blockers = record["blockers"].as_array().unwrap();
    assert_eq!(blockers.len(), 2, "{blockers:#?}");
    assert_eq!(blockers[0]["title"], "clippy fails on 1.88");
    assert!(blockers[0]["external"].as_str().unwrap().contains("filed task"), "{blockers:#?}");
    assert_eq!(record["entries"].as_array().unwrap().len(), 3, "each command appended its report");

    // Only the current CLI forms were used: no global --json, no `list --epics`, no JSON input.
    let calls = t.calls();
    assert!(!calls.contains("--epics") && !calls.lines().any(|l| l.starts_with("--json")), "{calls}");
    assert!(calls.contains("list --all --json"), "{calls}");
}

#[test]
fn a_done_blocker_with_the_same_title_is_filed_again() {
    let t = Tracker::new();
    assert_eq!(t.file("audit fails", &[], &[]).code, 0);
    let mut state: Value = serde_json::from_str(&std::fs::read_to_string(&t.state).unwrap()).unwrap();
    state["items"][1]["state"] = "done".into();
    std::fs::write(&t.state, state.to_string()).unwrap();
    let run = t.file("audit fails", &[], &[]);
    assert!(run.stdout.contains("filed task"), "{}", run.all());
    assert_eq!(t.items().len(), 3);
}

#[test]
fn dry_run_creates_nothing() {
    let t = Tracker::new();
    let run = t.file("clippy fails", &["--dry-run"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(run.stdout.contains("dry run: would file") && run.stdout.contains("a new epic"), "{}", run.all());
    assert!(t.items().is_empty());
    assert!(
        !t.repo.path(".scratch/release/evidence-v0.9.0.json").exists(),
        "a dry run records nothing, not even its report"
    );
}

#[test]
fn an_old_or_missing_ergo_is_incomplete() {
    let t = Tracker::new();
    let old = t.file("x", &[], &[("FAKE_ERGO_VERSION", "3.2.0")]);
    assert_eq!(old.code, 3, "{}", old.all());
    assert!(old.stdout.contains("ergo 3.2.0 is too old"), "{}", old.all());
    let missing = tests::release(
        t.repo.root(),
        &["blocker", "v0.9.0", "--check", "c", "--title", "t", "--summary", "s", "--ergo", "ergo-not-installed"],
    );
    assert_eq!(missing.code, 3, "{}", missing.all());
    assert!(missing.stdout.contains("ergo-not-installed"), "{}", missing.all());
    assert!(t.items().is_empty());
}

#[test]
fn log_excerpts_are_redacted_and_the_run_is_read() {
    let manifest = plasmite_manifest();
    let mut published = PublishedRelease::coherent(&manifest, "0.8.0").unwrap();
    published.run_mut(2001).unwrap().jobs[0].conclusion = Some("timed_out".into());
    let fake = FakeRegistry::start(published).unwrap();
    let t = Tracker::with_github(&fake);
    let log = t.repo.scratch().join("gate.log");
    let body: String = (0..50).map(|i| format!("step {i}\n")).collect::<String>()
        + "curl -H 'Authorization: Bearer abcdefgh12345678' failed\nGH_TOKEN=canary-7f3a9c2e1b leaked\nghp_0123456789abcdefghij0123456789abcdef\n";
    std::fs::write(&log, body).unwrap();
    let run = t.file(
        "release workflow failed",
        &["--log-snippet-file", log.as_str(), "--run-id", "2001", "--failing-command", "just release-gate"],
        &[("GH_TOKEN", "canary-7f3a9c2e1b")],
    );
    assert_eq!(run.code, 0, "{}", run.all());
    let body = t.items()[1]["body"].as_str().unwrap().to_string();
    assert!(body.contains("Run ID: 2001") && body.contains("Failing command: `just release-gate`"), "{body}");
    assert!(
        body.contains("/sandover/plasmite/actions/runs/2001\n") && body.contains("Failed jobs: release-context\n"),
        "{body}"
    );
    assert!(body.contains("step 49") && !body.contains("step 10\n"), "the excerpt is the end of the log: {body}");
    for secret in ["canary-7f3a9c2e1b", "abcdefgh12345678", "ghp_0123456789"] {
        assert!(!body.contains(secret), "{secret} leaked into:\n{body}");
        assert!(!run.stdout.contains(secret) && !run.stderr.contains(secret));
    }
    let missing = t.file("x", &["--log-snippet-file", "no-such.log"], &[]);
    assert_eq!(missing.code, 2, "a named log that is missing is an error: {}", missing.all());
}

#[test]
fn qa_blocks_on_open_blockers_in_the_evidence_and_in_ergo() {
    let t = Tracker::new();
    // The policy names the ergo to consult; commit it so the tree stays clean.
    t.repo
        .replace("release/policy.toml", "tracker = \"ergo\"", &format!("tracker = \"ergo\"\nergo = \"{FAKE_ERGO}\""))
        .unwrap();
    t.repo.commit("use the stand-in ergo").unwrap();
    let env = [("FAKE_ERGO_STATE", t.state.as_str())];
    let qa =
        |env: &[(&str, &str)]| release_with_env(t.repo.root(), &["qa", "v0.9.0", "--only", "blockers", "--json"], env);

    let clean = qa(&env);
    assert_eq!(clean.code, 0, "no blockers anywhere: {}", clean.all());

    assert_eq!(t.file("clippy fails", &[], &[]).code, 0);
    let blocked = qa(&env);
    assert_eq!(blocked.code, 1, "{}", blocked.all());
    let report = blocked.json();
    let subjects: Vec<(&str, &str)> = tests::findings(&report, "blockers")
        .iter()
        .map(|f| (f["subject"].as_str().unwrap(), f["status"].as_str().unwrap()))
        .collect();
    assert!(subjects.contains(&("release blockers (evidence)", "fail")), "{subjects:?}");
    assert!(subjects.contains(&("release blockers (ergo)", "fail")), "{subjects:?}");

    // An ergo that cannot answer is not "no blockers".
    let old = qa(&[("FAKE_ERGO_STATE", t.state.as_str()), ("FAKE_ERGO_VERSION", "3.1.0")]);
    let report = old.json();
    let ergo =
        tests::findings(&report, "blockers").into_iter().find(|f| f["subject"] == "release blockers (ergo)").unwrap();
    assert_eq!(ergo["status"], "incomplete", "{}", old.all());
}

/// ergo 6 counts a `failed` task as finished: the blockers gate does too, so a blocker that was
/// tried and closed as failed does not hold the release.
#[test]
fn a_failed_ergo_task_is_not_an_open_blocker() {
    let t = Tracker::new();
    t.repo
        .replace("release/policy.toml", "tracker = \"ergo\"", &format!("tracker = \"ergo\"\nergo = \"{FAKE_ERGO}\""))
        .unwrap();
    t.repo.commit("use the stand-in ergo").unwrap();
    // The tracker as ergo 6 lists it: the release's epic with one failed task.
    let state = serde_json::json!({"next": 3, "items": [
        {"id": "T00001", "title": "Release blockers: v0.9.0", "kind": "epic", "state": "todo", "ready": false, "epic_id": ""},
        {"id": "T00002", "title": "clippy fails", "kind": "task", "state": "failed", "ready": false, "epic_id": "T00001"},
    ]});
    std::fs::write(&t.state, state.to_string()).unwrap();
    let env = [("FAKE_ERGO_STATE", t.state.as_str())];
    let run = release_with_env(t.repo.root(), &["qa", "v0.9.0", "--only", "blockers", "--json"], &env);
    let report = run.json();
    let ergo = findings(&report, "blockers").into_iter().find(|f| f["subject"] == "release blockers (ergo)").unwrap();
    assert_eq!(ergo["status"], "pass", "{}", run.all());
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(t.calls().contains("list --all --json"), "finished tasks were asked for: {}", t.calls());

    // The same task still open is a blocker: the pass above is the state, not a blind spot.
    std::fs::write(&t.state, state.to_string().replace("\"failed\"", "\"blocked\"")).unwrap();
    let run = release_with_env(t.repo.root(), &["qa", "v0.9.0", "--only", "blockers", "--json"], &env);
    assert_eq!(run.code, 1, "{}", run.all());
}

#[test]
fn close_ends_a_recorded_blocker_with_a_reason() {
    let repo = qa_fixture("", &[]);
    let file = release(
        repo.root(),
        &["blocker", "v0.8.0", "--check", "bench", "--title", "append slower", "--summary", "+20%"],
    );
    assert_eq!(file.code, 3, "tracker none records the blocker only: {}", file.all());
    let qa = || release(repo.root(), &["qa", "v0.8.0", "--only", "blockers", "--json"]);
    let blocked = qa();
    assert_eq!(blocked.code, 1, "{}", blocked.all());
    assert!(findings(&blocked.json(), "blockers")[0]["detail"].as_str().unwrap().contains("B1 append slower"));

    // Usage: a reason is required, and --close does not mix with filing options.
    for args in [
        vec!["blocker", "v0.8.0", "--close", "B1"],
        vec!["blocker", "v0.8.0", "--close", "B1", "--reason", "x", "--check", "bench"],
        vec!["blocker", "v0.8.0", "--reason", "x"],
        vec!["blocker", "v0.8.0", "--close", "B1", "--reason", "  "],
    ] {
        let run = release(repo.root(), &args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.all());
    }
    let unknown = release(repo.root(), &["blocker", "v0.8.0", "--close", "B9", "--reason", "x"]);
    assert_eq!(unknown.code, 2, "{}", unknown.all());
    assert!(unknown.stderr.contains("no blocker B9") && unknown.stderr.contains("B1"), "{}", unknown.all());

    let close = release(repo.root(), &["blocker", "v0.8.0", "--close", "B1", "--reason", "fixed by the new allocator"]);
    assert_eq!(close.code, 0, "{}", close.all());
    assert!(close.stdout.contains("close it in the tracker"), "{}", close.all());
    let ready = qa();
    assert_eq!(ready.code, 0, "{}", ready.all());
    let record = evidence_json(repo.root(), "v0.8.0");
    assert!(record["blockers"][0]["closed"].is_string(), "{record:#}");
    let decision = record["decisions"].as_array().unwrap().iter().find(|d| d["kind"] == "note").unwrap().clone();
    assert_eq!(decision["check"], "bench");
    assert!(
        decision["text"].as_str().unwrap().contains("closed blocker B1 (append slower): fixed by the new allocator")
    );

    let twice = release(repo.root(), &["blocker", "v0.8.0", "--close", "B1", "--reason", "again"]);
    assert_eq!(twice.code, 2, "{}", twice.all());
    assert!(twice.stderr.contains("already closed"), "{}", twice.all());
}

#[test]
fn the_agent_is_recorded_bug_36() {
    // The script took --agent and dropped it. Here it is in the body and the record; without
    // --agent the record's own agent is used.
    let t = Tracker::new();
    let run = t.file("clippy fails", &["--agent", "codex@mac"], &[]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(t.items()[1]["body"].as_str().unwrap().contains("Filed by: codex@mac"), "{:?}", t.items());
    let record = evidence_json(t.repo.root(), "v0.9.0");
    assert_eq!(record["blockers"][0]["filed_by"], "codex@mac");
    let md = std::fs::read_to_string(t.repo.path(".scratch/release/evidence-v0.9.0.md")).unwrap();
    assert!(md.contains("by codex@mac)"), "{md}");

    let t = Tracker::new();
    let init = release(
        t.repo.root(),
        &["evidence", "v0.9.0", "--mode", "live", "--agent", "maintainer@laptop", "--base-tag", "v0.8.0"],
    );
    assert_eq!(init.code, 0, "{}", init.all());
    assert_eq!(t.file("wheel smoke fails", &[], &[]).code, 0);
    assert_eq!(evidence_json(t.repo.root(), "v0.9.0")["blockers"][0]["filed_by"], "maintainer@laptop");
}
