//! A gate cannot change the tree and pass (issue 10): commits, a `.git` moved away, a
//! background edit after exit, an edit of an already-untracked file, a rewritten evidence
//! record; and a missing pinned toolchain is `Incomplete`, not `Fail`.

use tests::{findings, qa_fixture, release, release_with_env};

fn gate(script: &str) -> release_core::testing::FixtureRepo {
    qa_fixture("[[gate]]\nid = \"sneaky\"\nrun = [\"./gate.sh\"]\n", &[("gate.sh", script)])
}

fn sneaky(repo: &release_core::testing::FixtureRepo) -> (i32, serde_json::Value, String) {
    let run = release(repo.root(), &["qa", "v0.8.0", "--only", "sneaky", "--json"]);
    let all = run.all();
    let f = findings(&run.json(), "sneaky")[0].clone();
    (run.code, f, all)
}

#[test]
fn a_gate_that_edits_and_commits_fails() {
    let repo = gate("#!/bin/sh\necho '// fixed' >> src/lib.rs\ngit commit -qam 'fix it'\n");
    let (code, f, all) = sneaky(&repo);
    assert_eq!(code, 1, "{all}");
    assert_eq!(f["status"], "fail", "{f}");
    assert!(f["detail"].as_str().unwrap().contains("HEAD moved"), "{f}");
}

#[test]
fn a_gate_that_moves_git_away_is_incomplete() {
    let repo = gate("#!/bin/sh\necho '// fixed' >> src/lib.rs\nmv .git .git-away\n");
    let run = release(repo.root(), &["qa", "v0.8.0", "--only", "sneaky", "--json"]);
    // Git cannot answer after the gate: the gate's own finding is incomplete, never a pass.
    assert_eq!(run.code, 3, "{}", run.all());
    let f = findings(&run.json(), "sneaky")[0].clone();
    assert_eq!(f["status"], "incomplete", "{f}");
    assert!(f["detail"].as_str().unwrap().contains("cannot be told"), "{f}");
}

#[test]
fn a_background_edit_after_exit_is_prevented_or_caught() {
    let repo = gate("#!/bin/sh\n(sleep 1; echo '// late' >> src/lib.rs) >/dev/null 2>&1 &\nexit 0\n");
    let before = repo.read("src/lib.rs").unwrap();
    let (code, f, all) = sneaky(&repo);
    // Give a surviving child every chance to write.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let after = repo.read("src/lib.rs").unwrap();
    match f["status"].as_str() {
        Some("pass") => assert_eq!(before, after, "the gate passed and its child edited afterwards: {all}"),
        _ => assert_eq!(code, 1, "caught: {all}"),
    }
    assert_eq!(before, after, "the gate's process group ends with it: {all}");
}

#[test]
fn a_gate_that_edits_an_untracked_file_fails() {
    let repo = gate("#!/bin/sh\necho more >> notes.txt\n");
    repo.write("notes.txt", "mine\n").unwrap();
    let (code, f, all) = sneaky(&repo);
    assert_eq!(code, 1, "{all}");
    assert_eq!(f["status"], "fail", "{f}");
    assert!(f["detail"].as_str().unwrap().contains("notes.txt"), "{f}");
}

#[test]
fn a_gate_that_rewrites_the_evidence_record_fails() {
    let repo = gate("#!/bin/sh\necho >> .scratch/release/evidence-v0.8.0.json\n");
    // A first run creates the record.
    let (code, f, all) = sneaky(&repo);
    assert_eq!(f["status"], "fail", "{all}");
    assert_eq!(code, 1);
    let (code, f, all) = sneaky(&repo);
    assert_eq!(code, 1, "{all}");
    assert!(f["detail"].as_str().unwrap().contains("evidence record"), "{f}");
}

#[test]
fn a_missing_pinned_toolchain_is_incomplete() {
    let policy = "[[gate]]\nid = \"tests\"\nrun = [\"cargo\", \"test\"]\n";
    let repo = qa_fixture(policy, &[]);
    repo.write("rust-toolchain.toml", "[toolchain]\nchannel = \"1.88.0\"\n").unwrap();
    repo.commit("Pin the toolchain").unwrap();
    repo.git(&["push", "-q", "origin", "main"]).unwrap();
    // rustup's message (1.28) when the pinned toolchain is absent.
    let bin = repo.scratch().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let fake = "#!/bin/sh\necho \"error: toolchain '1.88.0-x86_64-unknown-linux-gnu' is not installed\" >&2\n\
                echo \"help: run \\`rustup toolchain install 1.88.0-x86_64-unknown-linux-gnu\\` to install it\" >&2\nexit 1\n";
    for tool in ["cargo", "rustup"] {
        std::fs::write(bin.join(tool), fake).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(bin.join(tool), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
    let path = format!("{bin}:{}", std::env::var("PATH").unwrap_or_default());
    let run = release_with_env(repo.root(), &["qa", "v0.8.0", "--only", "tests", "--json"], &[("PATH", &path)]);
    assert_eq!(run.code, 3, "{}", run.all());
    let f = findings(&run.json(), "tests")[0].clone();
    assert_eq!(f["status"], "incomplete", "{f}");
    let detail = f["detail"].as_str().unwrap();
    assert!(detail.contains("rustup toolchain install 1.88.0-x86_64-unknown-linux-gnu"), "{detail}");
    assert!(detail.contains("rust-toolchain.toml"), "{detail}");
}
