//! `cargo xtask release evidence` and `status` end to end, and the evidence record under
//! concurrent and killed writers.

use std::process::Stdio;

use tests::{evidence_json, qa_fixture, release, release_command};

const OK_GATE: &str = "[[gate]]\nid = \"git-version\"\nrun = [\"git\", \"--version\"]\n";

#[test]
fn init_reopen_refuse_and_force() {
    let repo = qa_fixture(OK_GATE, &[]);
    let run = release(repo.root(), &["evidence", "v0.8.0", "--mode", "dry-run", "--agent", "claude@ci"]);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(run.stdout.trim(), ".scratch/release/evidence-v0.8.0.json");
    assert!(run.stderr.contains("created"), "{}", run.all());
    let record = evidence_json(repo.root(), "v0.8.0");
    assert_eq!(record["mode"], "dry-run");
    assert_eq!(record["agent"], "claude@ci");
    assert_eq!(record["base_tag"], "v0.7.2", "derived from the tags");
    let md = repo.read(".scratch/release/evidence-v0.8.0.md").unwrap();
    for heading in [
        "# Release Evidence Report: v0.8.0",
        "## Release Context",
        "## Resume Checkpoint",
        "## QA Gate Evidence",
        "## Release Mechanics",
        "## Delivery Verification",
        "## Blockers and Decisions",
        "- Base tag: v0.7.2",
        "- Mode: dry-run",
        "- Current phase: context",
    ] {
        assert!(md.contains(heading), "{heading}: {md}");
    }

    let qa = release(repo.root(), &["qa", "v0.8.0"]);
    assert_eq!(qa.code, 0, "{}", qa.all());
    let again = release(repo.root(), &["evidence", "v0.8.0", "--mode", "dry-run", "--agent", "claude@ci"]);
    assert_eq!(again.code, 0, "{}", again.all());
    assert!(again.stderr.contains("reopened"), "{}", again.all());
    assert_eq!(evidence_json(repo.root(), "v0.8.0")["entries"].as_array().unwrap().len(), 1, "kept");

    for args in [
        &["evidence", "v0.8.0", "--mode", "live", "--agent", "claude@ci"][..],
        &["evidence", "v0.8.0", "--mode", "dry-run", "--agent", "claude@ci", "--base-tag", "v0.7.1"][..],
    ] {
        let run = release(repo.root(), args);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(run.stderr.contains("--force"), "{}", run.all());
    }
    let qa_live = release(repo.root(), &["qa", "v0.8.0", "--mode", "live"]);
    assert_eq!(qa_live.code, 2, "qa refuses a different mode too: {}", qa_live.all());

    let forced = release(repo.root(), &["evidence", "v0.8.0", "--mode", "live", "--agent", "me", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.all());
    let record = evidence_json(repo.root(), "v0.8.0");
    assert_eq!(record["mode"], "live");
    assert_eq!(record["entries"].as_array().unwrap().len(), 0, "a fresh record");
    let backups = backups(&repo, "v0.8.0");
    assert_eq!(backups.len(), 1, "{backups:?}");
    let old = repo.read(&format!(".scratch/release/{}", backups[0])).unwrap();
    assert!(old.contains("\"dry-run\""), "the backup is the old record");
}

#[test]
fn no_base_tag_is_a_usage_error() {
    let repo = release_core::testing::FixtureRepo::plasmite("0.8.0").build().unwrap();
    let run = release(repo.root(), &["evidence", "v0.8.0", "--mode", "live", "--agent", "a"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("pass --base-tag"), "{}", run.all());
    let run = release(repo.root(), &["evidence", "v0.8.0", "--mode", "live", "--agent", "a", "--base-tag", "v0.7.0"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let run = release(repo.root(), &["evidence", "v0.8.0", "--mode", "wet", "--agent", "a"]);
    assert_eq!(run.code, 2, "{}", run.all());
}

#[test]
fn record_lives_under_the_root_not_the_cwd_bug_37() {
    let repo = qa_fixture(OK_GATE, &[]);
    let sub = repo.path("bindings/node");
    let run = release(&sub, &["evidence", "v0.8.0", "--mode", "dry-run", "--agent", "a"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let qa = release(&sub, &["qa", "v0.8.0"]);
    assert_eq!(qa.code, 0, "{}", qa.all());
    assert!(repo.path(".scratch/release/evidence-v0.8.0.json").exists());
    assert!(!sub.join(".scratch").exists(), "nothing written relative to the cwd");
    assert_eq!(evidence_json(repo.root(), "v0.8.0")["entries"].as_array().unwrap().len(), 1);
}

#[test]
fn concurrent_commands_lose_nothing() {
    let repo = qa_fixture(OK_GATE, &[]);
    let children: Vec<_> = (0..8)
        .map(|_| {
            release_command(repo.root(), &["qa", "v0.8.0", "--json"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let record = evidence_json(repo.root(), "v0.8.0");
    assert_eq!(record["entries"].as_array().unwrap().len(), 8, "every command's report is kept");
    assert!(!repo.path(".scratch/release/evidence-v0.8.0.json.lock").exists(), "no lock left behind");
}

#[cfg(unix)]
#[test]
fn killed_writers_do_not_corrupt_the_record() {
    let repo = qa_fixture(OK_GATE, &[]);
    let mut children: Vec<_> = (0..8)
        .map(|_| {
            release_command(repo.root(), &["qa", "v0.8.0"]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
        })
        .collect();
    // SIGKILL half of them at staggered moments: some before, some during their write.
    for (i, child) in children.iter_mut().enumerate().filter(|(i, _)| i % 2 == 0) {
        std::thread::sleep(std::time::Duration::from_millis(15 * i as u64));
        let _ = child.kill();
    }
    let completed = children.into_iter().map(|c| c.wait_with_output().unwrap()).filter(|o| o.status.success()).count();

    // A holder killed while holding the lock: a lock file naming a pid that is gone.
    let mut dead = std::process::Command::new("true").spawn().unwrap();
    let pid = dead.id();
    dead.wait().unwrap();
    std::fs::create_dir_all(repo.path(".scratch/release")).unwrap();
    repo.write(".scratch/release/evidence-v0.8.0.json.lock", format!("{pid} 2026-07-28T09:00:00Z 1")).unwrap();

    let start = std::time::Instant::now();
    let next = release(repo.root(), &["qa", "v0.8.0"]);
    assert_eq!(next.code, 0, "{}", next.all());
    assert!(start.elapsed() < std::time::Duration::from_secs(20), "the stale lock was taken over");
    let record = evidence_json(repo.root(), "v0.8.0");
    let entries = record["entries"].as_array().unwrap().len();
    assert!(entries > completed, "every completed command is recorded: {entries} entries, {completed} completed + 1");
    let leftovers: Vec<String> = std::fs::read_dir(repo.path(".scratch/release"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".lock") || n.contains(".stale-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn status_shows_the_checkpoint_and_next_step() {
    let repo = qa_fixture(OK_GATE, &[]);
    let run = release(repo.root(), &["status", "v0.8.0"]);
    assert_eq!(run.code, 2, "no record yet: {}", run.all());
    assert!(run.stderr.contains("cargo xtask release evidence v0.8.0"), "{}", run.all());

    release(repo.root(), &["evidence", "v0.8.0", "--mode", "live", "--agent", "a"]);
    let run = release(repo.root(), &["status", "v0.8.0"]);
    assert_eq!(run.code, 0, "{}", run.all());
    for want in [
        "release v0.8.0 (live, base v0.7.2)",
        "up to date with its upstream",
        "absent locally, not on origin",
        "next step: run the gates: `cargo xtask release qa v0.8.0`",
    ] {
        assert!(run.stdout.contains(want), "{want}: {}", run.all());
    }
    let status = release(repo.root(), &["status", "v0.8.0", "--json"]).json();
    assert_eq!(status["branch"], "main", "{status}");

    let failing = qa_fixture(&format!("{OK_GATE}\n[[gate]]\nid = \"bad\"\nrun = [\"false\"]\n"), &[]);
    release(failing.root(), &["evidence", "v0.8.0", "--mode", "live", "--agent", "a"]);
    release(failing.root(), &["qa", "v0.8.0"]);
    let run = release(failing.root(), &["status", "v0.8.0"]);
    assert!(run.stdout.contains("next step: fix the failing gates"), "{}", run.all());
    let status = release(failing.root(), &["status", "v0.8.0", "--json"]).json();
    let failing_gates = status["failing_gates"].as_array().unwrap();
    assert_eq!(failing_gates.len(), 1, "{status}");
    // An object since issue 13; the text form `FAIL bad: exit 1` is the human output's.
    assert_eq!((&failing_gates[0]["check"], &failing_gates[0]["status"]), (&"bad".into(), &"fail".into()), "{status}");
    assert!(failing_gates[0]["detail"].as_str().unwrap().starts_with("exit 1"), "{status}");
    assert!(run.stdout.contains("  FAIL bad: exit 1"), "{}", run.all());

    release(repo.root(), &["qa", "v0.8.0"]);
    let run = release(repo.root(), &["status", "v0.8.0"]);
    assert!(
        run.stdout.contains("qa: ready") && run.stdout.contains("next step: tag the release commit"),
        "{}",
        run.all()
    );

    repo.tag("v0.8.0").unwrap();
    let run = release(repo.root(), &["status", "v0.8.0"]);
    assert!(
        run.stdout.contains("locally, not on origin") && run.stdout.contains("next step: push the tag"),
        "{}",
        run.all()
    );

    repo.git(&["push", "-q", "origin", "v0.8.0"]).unwrap();
    repo.write("src/ahead.rs", "// ahead\n").unwrap();
    repo.commit("Ahead").unwrap();
    let run = release(repo.root(), &["status", "v0.8.0", "--json"]);
    let status = run.json();
    assert_eq!(status["tag_remote"], true, "{}", run.all());
    // snake_case and tagged by `state` since issue 13 (it was the Debug text `Diverged { ahead: 1, .. }`).
    assert_eq!((&status["push"]["state"], &status["push"]["ahead"]), (&"diverged".into(), &1.into()), "{status}");
    assert!(status["next_step"].as_str().unwrap().contains("cargo xtask release provenance --tag v0.8.0"), "{status}");
    assert_eq!(status["last_runs"][0]["command"], "qa");
}

#[test]
fn force_recovers_a_corrupt_record_and_a_record_of_another_target_is_refused() {
    let repo = qa_fixture(OK_GATE, &[]);
    std::fs::create_dir_all(repo.path(".scratch/release")).unwrap();
    // A record cut short (a disk that filled while another tool copied it, a bad merge).
    repo.write(".scratch/release/evidence-v0.8.0.json", "{\"schema_version\": 1, \"target\": \"v0.8").unwrap();
    let qa = release(repo.root(), &["qa", "v0.8.0"]);
    assert_eq!(qa.code, 2, "{}", qa.all());
    assert!(qa.stderr.contains("not a valid evidence record") && qa.stderr.contains("--force"), "{}", qa.all());
    let forced = release(repo.root(), &["evidence", "v0.8.0", "--mode", "live", "--agent", "me", "--force"]);
    assert_eq!(forced.code, 0, "{}", forced.all());
    assert_eq!(evidence_json(repo.root(), "v0.8.0")["mode"], "live");
    let backups = backups(&repo, "v0.8.0");
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(repo.read(&format!(".scratch/release/{}", backups[0])).unwrap().ends_with("\"v0.8"), "old bytes kept");

    // v0.9.0's file holding v0.8.0's record (copied by hand): an error naming both.
    let copied = repo.read(".scratch/release/evidence-v0.8.0.json").unwrap();
    repo.write(".scratch/release/evidence-v0.9.0.json", copied).unwrap();
    let status = release(repo.root(), &["status", "v0.9.0"]);
    assert_eq!(status.code, 2, "{}", status.all());
    assert!(status.stderr.contains("`v0.8.0`") && status.stderr.contains("not of v0.9.0"), "{}", status.all());
}

/// The backups `evidence --force` kept beside the record of `tag`, by file name.
fn backups(repo: &release_core::testing::FixtureRepo, tag: &str) -> Vec<String> {
    std::fs::read_dir(repo.path(".scratch/release"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&format!("evidence-{tag}.json.bak-")))
        .collect()
}
