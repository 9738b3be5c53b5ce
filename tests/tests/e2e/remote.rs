//! Questions to the remote are bounded in time and asked only where their answer is used: an
//! origin that never answers (an ssh remote whose ssh command sleeps) neither hangs a command
//! nor reads as "pushed".

use std::time::{Duration, Instant};

use tests::{qa_fixture, release_with_env};

const OK_GATE: &str = "[[gate]]\nid = \"git-version\"\nrun = [\"git\", \"--version\"]\n";

/// A fixture whose origin is an ssh URL, and the environment that makes its ssh hang.
fn silent_origin() -> (release_core::testing::FixtureRepo, tempfile::TempDir, String) {
    let repo = qa_fixture(OK_GATE, &[]);
    repo.git(&["remote", "set-url", "origin", "ssh://git@unreachable.invalid/plasmite.git"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("silent-ssh");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 1000\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let ssh = script.to_str().unwrap().to_string();
    (repo, dir, ssh)
}

#[cfg(unix)]
#[test]
fn a_recording_command_before_tagging_does_not_ask_the_remote() {
    let (repo, _dir, ssh) = silent_origin();
    let env = [("GIT_SSH_COMMAND", ssh.as_str())];
    tests::xtask_bin(); // built before the clock starts
    let started = Instant::now();
    // Today's bug: every recording command ran `git ls-remote origin` without a bound.
    let run = release_with_env(repo.root(), &["qa", "v0.8.0", "--only", "versions"], &env);
    let took = started.elapsed();
    assert!(took < release_core::testing::REMOTE_TIMEOUT, "the remote was asked: {took:?}\n{}", run.all());
    assert_eq!(run.code, 0, "{}", run.all());
    let record = tests::evidence_json(repo.root(), "v0.8.0");
    assert!(record["checkpoint"]["tag_remote"].is_null(), "{}", record["checkpoint"]);
}

#[cfg(unix)]
#[test]
fn an_origin_that_never_answers_is_unknown_within_the_bound() {
    let (repo, _dir, ssh) = silent_origin();
    let env = [("GIT_SSH_COMMAND", ssh.as_str())];
    let run = release_with_env(repo.root(), &["evidence", "v0.8.0", "--mode", "dry-run", "--agent", "t"], &env);
    assert_eq!(run.code, 0, "{}", run.all());
    let run = release_with_env(repo.root(), &["qa", "v0.8.0"], &env);
    assert_eq!(run.code, 0, "{}", run.all());
    repo.tag("v0.8.0").unwrap();
    let started = Instant::now();
    let run = release_with_env(repo.root(), &["status", "v0.8.0", "--json"], &env);
    let took = started.elapsed();
    assert!(took < release_core::testing::REMOTE_TIMEOUT + Duration::from_secs(20), "{took:?}");
    assert_eq!(run.code, 0, "{}", run.all());
    let status = run.json();
    assert!(status["tag_remote"].is_null(), "unknown, not pushed and not unpushed: {status}");
    let next = status["next_step"].as_str().unwrap();
    assert!(next.contains("origin could not be asked") && next.contains("did not answer within"), "{next}");
    let run = release_with_env(repo.root(), &["status", "v0.8.0"], &env);
    assert!(run.stdout.contains("origin unknown"), "{}", run.all());
}
