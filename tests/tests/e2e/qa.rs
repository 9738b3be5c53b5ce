//! `cargo xtask release qa` end to end: command gates, conditions, timeouts, waivers, the
//! evidence it leaves, and the GitHub Actions output.

use tests::{evidence_json, finding_with, findings, qa_fixture, release, release_with_env};

const OK_GATE: &str = "[[gate]]\nid = \"git-version\"\nrun = [\"git\", \"--version\"]\n";

#[test]
fn passing_run_is_ready_and_recorded() {
    let repo = qa_fixture(OK_GATE, &[]);
    let run = release(repo.root(), &["qa", "v0.8.0", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(report["verdict"], "ready");
    assert_eq!(findings(&report, "git-version")[0]["status"], "pass");
    for id in ["versions", "changelog", "targets", "clean-tree", "head-pushed", "blockers"] {
        assert_eq!(findings(&report, id)[0]["status"], "pass", "{id}: {}", run.all());
    }
    // Every skip says why.
    for id in ["toolchain", "ci-green"] {
        let f = findings(&report, id)[0];
        assert_eq!(f["status"], "skipped");
        assert!(f["reason"].as_str().unwrap().contains("the policy has no"), "{f}");
    }
    assert!(run.stderr.contains("[1/9] versions") && run.stderr.contains("[9/9] git-version"), "{}", run.all());
    let record = evidence_json(repo.root(), "v0.8.0");
    assert_eq!(record["schema_version"], 1);
    assert_eq!(record["mode"], "unset", "qa creates the record with mode unset");
    assert_eq!(record["base_tag"], "v0.7.2");
    assert_eq!(record["entries"][0]["report"]["verdict"], "ready");
    assert_eq!(record["checkpoint"]["phase"], "qa");
    assert_eq!(record["checkpoint"]["branch"], "main");
    assert!(repo.path(".scratch/release/evidence-v0.8.0.md").exists());
}

#[test]
fn default_target_is_the_agreed_version() {
    let repo = qa_fixture(OK_GATE, &[]);
    let run = release(repo.root(), &["qa", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(report["target"], "v0.8.0", "{}", run.all());
    assert_eq!(report["verdict"], "ready");
}

#[test]
fn failing_gate_blocks_and_keeps_the_tail() {
    // stderr is kept too; it interleaves with stdout as it arrives, so it comes first here.
    let script = "#!/bin/sh\necho 'from stderr' >&2\ni=1\nwhile [ $i -le 50 ]; do echo \"line $i\"; i=$((i+1)); done\necho boom\nexit 3\n";
    let policy = "[[gate]]\nid = \"noisy\"\nrun = [\"./gate.sh\"]\n";
    let repo = qa_fixture(policy, &[("gate.sh", script)]);
    let run = release(repo.root(), &["qa", "v0.8.0", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let report = run.json();
    assert_eq!(report["verdict"], "blocked");
    let noisy = finding_with(&report, "fail", "noisy", &["exit 3"]);
    assert_eq!(noisy["check"], "noisy");
    let streamed = |line: &str| run.stderr.lines().any(|l| l.trim() == line);
    assert!(streamed("line 1"), "output is streamed live: {}", run.all());
    assert!(streamed("from stderr"), "{}", run.all());
    let record = evidence_json(repo.root(), "v0.8.0");
    let f = findings(&record["entries"][0]["report"], "noisy")[0].clone();
    let tail = f["evidence"][0]["tail"].as_str().unwrap();
    assert_eq!(f["evidence"][0]["exit_code"], 3);
    assert!(tail.contains("line 50") && tail.contains("boom"), "{tail}");
    assert!(!tail.contains("line 5\n") && tail.lines().count() == 40, "last 40 lines only: {tail}");
    let md = repo.read(".scratch/release/evidence-v0.8.0.md").unwrap();
    assert!(md.contains("line 50") && md.contains("FAIL `noisy`"), "{md}");
    assert!(run.stderr.lines().any(|l| l.starts_with("[1/") && l.contains(": ")), "{}", run.all());
    // -q drops the status lines (gate headers and verdicts), not the gates' own output.
    let quiet = release(repo.root(), &["qa", "v0.8.0", "--json", "-q"]);
    assert_eq!(quiet.code, 1, "{}", quiet.all());
    assert!(!quiet.stderr.lines().any(|l| l.starts_with("[1/") || l.trim_start().starts_with("FAIL noisy")));
    assert!(quiet.stderr.lines().any(|l| l.trim() == "line 1"), "{}", quiet.all());
}

#[test]
fn missing_tool_or_program_is_incomplete() {
    let policy = "[[gate]]\nid = \"needs\"\nrun = [\"git\", \"--version\"]\nrequires = [\"just\", \"no-such-tool-xyz\"]\n\n\
                  [[gate]]\nid = \"absent\"\nrun = [\"no-such-program-xyz\", \"--flag\"]\n";
    let repo = qa_fixture(policy, &[]);
    let run = release(repo.root(), &["qa", "v0.8.0", "--json"]);
    assert_eq!(run.code, 3, "{}", run.all());
    let report = run.json();
    let needs = findings(&report, "needs")[0];
    assert_eq!(needs["status"], "incomplete");
    assert!(
        needs["detail"].as_str().unwrap().contains("no-such-tool-xyz")
            || needs["detail"].as_str().unwrap().contains("just")
    );
    assert!(needs["detail"].as_str().unwrap().contains("install"), "{needs}");
    let absent = findings(&report, "absent")[0];
    assert_eq!(absent["status"], "incomplete");
    assert!(absent["detail"].as_str().unwrap().contains("`no-such-program-xyz` not found"), "{absent}");
}

#[test]
fn conditional_gates_follow_changes_since_the_base_tag() {
    let policy = "[[gate]]\nid = \"core\"\nrun = [\"git\", \"--version\"]\nwhen_changed = [\"src/core/**\"]\n\n\
                  [[gate]]\nid = \"docs\"\nrun = [\"git\", \"--version\"]\nwhen_changed = [\"docs/**\", \"*.md\"]\n";
    let repo = qa_fixture(policy, &[]);
    // A base tag on the current commit: nothing changed since.
    repo.tag("v0.7.9").unwrap();
    let run = release(repo.root(), &["qa", "v0.8.0", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    let core = findings(&report, "core")[0];
    assert_eq!(core["status"], "skipped");
    assert_eq!(core["reason"], "no change under src/core/** since v0.7.9");

    repo.write("src/core/pool.rs", "// hot path, faster\n").unwrap();
    repo.commit("Faster pool").unwrap();
    repo.git(&["push", "-q", "origin", "main"]).unwrap();
    let run = release(repo.root(), &["qa", "v0.8.0", "--json"]);
    let report = run.json();
    assert_eq!(findings(&report, "core")[0]["status"], "pass", "{}", run.all());
    assert_eq!(findings(&report, "docs")[0]["status"], "skipped");

    // An explicit base tag wins; everything changed since v0.7.2.
    let run = release(repo.root(), &["qa", "v0.8.0", "--base-tag", "v0.7.2", "--json"]);
    assert_eq!(findings(&run.json(), "docs")[0]["status"], "pass", "{}", run.all());
}

#[test]
fn conditional_gates_run_without_a_base_tag() {
    let policy = "[[gate]]\nid = \"core\"\nrun = [\"git\", \"--version\"]\nwhen_changed = [\"nothing/**\"]\n";
    let repo = release_core::testing::FixtureRepo::plasmite("0.8.0")
        .file("release/policy.toml", format!("[project]\nname = \"p\"\n\n{policy}"))
        .with_remote()
        .build()
        .unwrap();
    let run = release(repo.root(), &["qa", "v0.8.0", "--json"]);
    let report = run.json();
    let core = findings(&report, "core")[0];
    assert_eq!(core["status"], "pass", "fails closed: runs when changes are unknown: {}", run.all());
    assert!(core.to_string().contains("runs (fail closed): no base tag"), "{core}");
}

#[test]
fn timeout_fails_and_kills_the_gate() {
    let policy = "[[gate]]\nid = \"slow\"\nrun = [\"./slow.sh\"]\ntimeout = \"1s\"\n";
    let repo = qa_fixture(policy, &[("slow.sh", "#!/bin/sh\necho starting\nsleep 30\necho never\n")]);
    let start = std::time::Instant::now();
    let run = release(repo.root(), &["qa", "v0.8.0", "--json"]);
    assert!(start.elapsed() < std::time::Duration::from_secs(15), "killed on time");
    assert_eq!(run.code, 1, "{}", run.all());
    let report = run.json();
    let slow = findings(&report, "slow")[0];
    assert_eq!(slow["status"], "fail");
    assert!(slow["detail"].as_str().unwrap().starts_with("timed out after 1s"), "{slow}");
    assert!(slow["evidence"][0]["tail"].as_str().unwrap().contains("starting"), "{slow}");
}

#[test]
fn waivers_are_kept_and_said() {
    let policy = format!("{OK_GATE}\n[[gate]]\nid = \"flaky\"\nrun = [\"false\"]\n");
    let repo = qa_fixture(&policy, &[]);
    let run = release(repo.root(), &["qa", "v0.8.0", "--waive", "flaky", "--reason", "known flake, see #12", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(report["verdict"], "ready_with_waivers");
    let flaky = findings(&report, "flaky")[0];
    assert_eq!(flaky["status"], "waived");
    assert_eq!(flaky["reason"], "known flake, see #12");
    let record = evidence_json(repo.root(), "v0.8.0");
    assert_eq!(record["decisions"][0]["kind"], "waiver");
    assert_eq!(record["decisions"][0]["check"], "flaky");
    assert_eq!(record["decisions"][0]["text"], "known flake, see #12");
    let md = repo.read(".scratch/release/evidence-v0.8.0.md").unwrap();
    assert!(md.contains("waiver `flaky`: known flake, see #12"), "{md}");

    let human = release(repo.root(), &["qa", "v0.8.0", "--waive", "flaky", "--reason", "x"]);
    assert!(human.stdout.contains("ready with waivers"), "{}", human.all());
}

#[test]
fn usage_errors_for_unknown_ids_and_missing_reasons() {
    let repo = qa_fixture(OK_GATE, &[]);
    for args in [&["qa", "v0.8.0", "--waive", "nope", "--reason", "r"][..], &["qa", "v0.8.0", "--only", "nope"][..]] {
        let run = release(repo.root(), args);
        assert_eq!(run.code, 2, "{}", run.all());
        assert!(
            run.stderr.contains("unknown gate `nope`") && run.stderr.contains("blockers, git-version"),
            "{}",
            run.all()
        );
        assert!(run.stderr.contains("versions, changelog"), "lists the ids: {}", run.all());
    }
    let run = release(repo.root(), &["qa", "v0.8.0", "--waive", "git-version"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("--reason"), "{}", run.all());
    let run = release(repo.root(), &["qa", "v0.8.0", "--waive", "git-version", "--reason", "  "]);
    assert_eq!(run.code, 2, "{}", run.all());
}

#[test]
fn only_and_fail_fast() {
    let policy = format!("[[gate]]\nid = \"first\"\nrun = [\"false\"]\n\n{OK_GATE}");
    let repo = qa_fixture(&policy, &[]);
    let run = release(repo.root(), &["qa", "v0.8.0", "--only", "git-version", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let report = run.json();
    assert_eq!(findings(&report, "first")[0]["reason"], "not selected: --only git-version");
    assert_eq!(findings(&report, "git-version")[0]["status"], "pass");

    let run = release(repo.root(), &["qa", "v0.8.0", "--fail-fast", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let report = run.json();
    assert_eq!(findings(&report, "first")[0]["status"], "fail");
    assert_eq!(findings(&report, "git-version")[0]["reason"], "not run: --fail-fast stopped at first");
}

#[test]
fn a_gate_that_rewrites_files_does_not_pass_bug_39() {
    let policy = "[[gate]]\nid = \"fmt\"\nrun = [\"./fmt.sh\"]\n";
    let repo = qa_fixture(policy, &[("fmt.sh", "#!/bin/sh\necho '// reformatted' >> src/lib.rs\nexit 0\n")]);
    let run = release(repo.root(), &["qa", "v0.8.0", "--only", "fmt", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let fmt = findings(&run.json(), "fmt")[0].clone();
    assert_eq!(fmt["status"], "fail");
    let detail = fmt["detail"].as_str().unwrap();
    assert!(detail.contains("changed the work tree") && detail.contains("src/lib.rs"), "{detail}");
}

#[test]
fn toolchain_pins_must_agree_bug_42() {
    let policy = "[toolchain]\nfile = \"rust-toolchain.toml\"\nworkflows = [\".github/workflows/release.yml\"]\n";
    let workflow = "name: release\nenv:\n  RELEASE_RUST_TOOLCHAIN: \"1.87.0\"\njobs: {}\n";
    let repo = qa_fixture(policy, &[(".github/workflows/release.yml", workflow)]);
    let run = release(repo.root(), &["qa", "v0.8.0", "--only", "toolchain", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let f = findings(&run.json(), "toolchain")[0].clone();
    assert!(f["detail"].as_str().unwrap().contains("1.87.0 but rust-toolchain.toml says 1.88.0"), "{f}");
    assert_eq!(f["evidence"][0]["path"], ".github/workflows/release.yml");
    assert_eq!(f["evidence"][0]["line"], 3);

    repo.replace(".github/workflows/release.yml", "1.87.0", "1.88.0").unwrap();
    let run = release(repo.root(), &["qa", "v0.8.0", "--only", "toolchain"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn changelog_and_blockers_are_gates_bug_6() {
    let repo = qa_fixture(OK_GATE, &[]);
    let run = release(repo.root(), &["qa", "v0.8.1", "--only", "changelog", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(findings(&run.json(), "changelog")[0]["detail"].as_str().unwrap().contains("no section for 0.8.1"));

    // Recorded through the command (no tracker: the policy has no [blockers] table).
    let filed = release(
        repo.root(),
        &["blocker", "v0.8.0", "--check", "bench", "--title", "append regressed 20%", "--summary", "median +20%"],
    );
    assert!(filed.stderr.contains("recorded as blocker B1"), "{}", filed.all());
    let run = release(repo.root(), &["qa", "v0.8.0", "--only", "blockers", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let detail = findings(&run.json(), "blockers")[0]["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("1 open blocker") && detail.contains("append regressed 20%"), "{detail}");
    let closed = release(repo.root(), &["blocker", "v0.8.0", "--close", "B1", "--reason", "fixed in HEAD"]);
    assert_eq!(closed.code, 0, "{}", closed.all());
    let run = release(repo.root(), &["qa", "v0.8.0", "--only", "blockers"]);
    assert_eq!(run.code, 0, "{}", run.all());
}

#[test]
fn ci_gate_reads_the_newest_completed_run_of_the_release_commit() {
    use release_core::testing::{FakeRegistry, PublishedRelease, fake_registry::WorkflowRun, plasmite_manifest};
    let manifest = plasmite_manifest();
    let mut published = PublishedRelease::coherent(&manifest, "0.8.0").unwrap();
    published.runs.clear();
    let fake = FakeRegistry::start(published).unwrap();
    let repo = qa_fixture(&format!("[ci]\nworkflow = \"ci.yml\"\n{}", fake.endpoints_toml()), &[]);
    let mut repo_name = String::new();
    fake.update(|r| repo_name = r.repo.clone());
    repo.replace(
        "release/policy.toml",
        "name = \"plasmite\"\n",
        &format!("name = \"plasmite\"\ngithub = \"{repo_name}\"\n"),
    )
    .unwrap();
    let head = repo.commit("Name the GitHub repository").unwrap();
    repo.git(&["push", "-q", "origin", "main"]).unwrap();
    let ci = |repo: &release_core::testing::FixtureRepo| {
        let run = release(repo.root(), &["qa", "v0.8.0", "--only", "ci-green", "--json"]);
        let f = findings(&run.json(), "ci-green")[0].clone();
        (run.code, f["status"].as_str().unwrap().to_string(), f["detail"].as_str().unwrap().to_string())
    };
    let run = |id: u64, at: &str, status: &str, conclusion: Option<&str>| WorkflowRun {
        id,
        head_sha: head.clone(),
        status: status.into(),
        conclusion: conclusion.map(Into::into),
        created_at: at.into(),
        ..WorkflowRun::default()
    };

    let (code, status, detail) = ci(&repo);
    assert_eq!((code, status.as_str()), (1, "fail"), "no run at all: {detail}");

    fake.update(|r| r.runs.push(run(1, "2026-07-28T10:00:00Z", "in_progress", None)));
    let (code, status, _) = ci(&repo);
    assert_eq!((code, status.as_str()), (3, "incomplete"), "still running");

    fake.update(|r| r.runs = vec![run(1, "2026-07-28T10:00:00Z", "completed", Some("success"))]);
    let (code, status, detail) = ci(&repo);
    assert_eq!((code, status.as_str()), (0, "pass"), "{detail}");

    // Bug 41: a newer failure on the same commit revokes the older success.
    fake.update(|r| r.runs.push(run(2, "2026-07-28T11:00:00Z", "completed", Some("failure"))));
    let (code, status, detail) = ci(&repo);
    assert_eq!((code, status.as_str()), (1, "fail"), "{detail}");
    assert!(detail.contains("run 2") && detail.contains("failure"), "{detail}");
}

#[test]
fn head_pushed_and_clean_tree() {
    let repo = qa_fixture(OK_GATE, &[]);
    repo.write("src/new.rs", "// new\n").unwrap();
    repo.commit("Unpushed").unwrap();
    repo.write("src/dirty.rs", "// dirty\n").unwrap();
    let run = release(repo.root(), &["qa", "v0.8.0", "--json"]);
    assert_eq!(run.code, 1, "{}", run.all());
    let report = run.json();
    assert!(findings(&report, "head-pushed")[0]["detail"].as_str().unwrap().contains("1 commit(s) not pushed"));
    assert!(findings(&report, "clean-tree")[0]["detail"].as_str().unwrap().contains("1 uncommitted"));

    // Detached HEAD at a pushed commit (a CI checkout) is pushed.
    std::fs::remove_file(repo.path("src/dirty.rs")).unwrap();
    repo.git(&["push", "-q", "origin", "main"]).unwrap();
    repo.git(&["checkout", "-q", "--detach", "HEAD"]).unwrap();
    let run = release(repo.root(), &["qa", "v0.8.0", "--only", "head-pushed", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let detail = findings(&run.json(), "head-pushed")[0]["detail"].as_str().unwrap().to_string();
    assert!(detail.contains("detached") && detail.contains("origin/main"), "{detail}");
}

#[test]
fn github_actions_annotations_groups_and_summary() {
    let policy = "[[gate]]\nid = \"bad\"\nrun = [\"false\"]\n";
    let repo = qa_fixture(policy, &[]);
    repo.replace("CHANGELOG.md", "## [0.8.0]", "## [0.7.99]").unwrap();
    repo.commit("Break the changelog").unwrap();
    repo.git(&["push", "-q", "origin", "main"]).unwrap();
    let summary = repo.scratch().join("summary.md");
    std::fs::create_dir_all(repo.scratch()).unwrap();
    let env = [("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", summary.as_str())];
    let run = release_with_env(repo.root(), &["qa", "v0.8.0"], &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert!(
        run.stdout.contains("::error title=qa bad%3A FAIL,file=release/policy.toml,line=14::bad: exit 1"),
        "{}",
        run.all()
    );
    assert!(run.stdout.contains("::error title=qa changelog%3A FAIL,file=CHANGELOG.md::"), "{}", run.all());
    assert!(run.stderr.contains("::group::[9/9] bad") && run.stderr.contains("::endgroup::"), "{}", run.all());
    let table = std::fs::read_to_string(&summary).unwrap();
    assert!(table.contains("### `qa` v0.8.0: blocked") && table.contains("| FAIL | bad | bad | exit 1"), "{table}");
    // Without GITHUB_ACTIONS nothing of it.
    let plain = release(repo.root(), &["qa", "v0.8.0"]);
    assert!(!plain.stdout.contains("::error") && !plain.stderr.contains("::group::"), "{}", plain.all());
}

#[test]
fn plasmite_policy_audit_gate_does_not_need_a_pre_fetched_db_bug_40() {
    let policy = release_core::Policy::parse("p.toml".into(), release_core::testing::PLASMITE_POLICY).unwrap();
    let audit = policy.gates.iter().find(|g| g.id == "audit").unwrap();
    assert!(!audit.run.iter().any(|a| a == "--no-fetch"), "{:?}", audit.run);
    assert!(audit.requires.iter().any(|r| r == "cargo-audit"));
}

#[test]
fn a_policy_gate_may_not_take_a_builtin_id() {
    let repo = qa_fixture("[[gate]]\nid = \"versions\"\nrun = [\"true\"]\n", &[]);
    let run = release(repo.root(), &["qa", "v0.8.0"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("release/policy.toml:") && run.stderr.contains("built-in gate"), "{}", run.all());
}

#[test]
fn gate_commands_get_the_tag_version_and_base_tag() {
    // So `cargo xtask release bench --base-tag {base_tag}` can be a conditional gate.
    let policy =
        "[[gate]]\nid = \"args\"\nrun = [\"echo\", \"{tag}\", \"{version}\", \"base={base_tag}\", \"{other}\"]\n";
    let repo = qa_fixture(policy, &[]);
    let run = release(repo.root(), &["qa", "v0.8.0", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    let gate = findings(&run.json(), "args")[0].clone();
    assert_eq!(gate["evidence"][0]["argv"], serde_json::json!(["echo", "v0.8.0", "0.8.0", "base=v0.7.2", "{other}"]));

    // Without a base tag the gate cannot run, and says why (fail closed).
    repo.git(&["tag", "-d", "v0.7.2"]).unwrap();
    std::fs::remove_dir_all(repo.path(".scratch")).unwrap();
    let run = release(repo.root(), &["qa", "v0.8.0", "--json", "--only", "args"]);
    assert_eq!(run.code, 3, "{}", run.all());
    let gate = findings(&run.json(), "args")[0].clone();
    assert_eq!(gate["status"], "incomplete", "{gate}");
    assert!(gate["detail"].as_str().unwrap().contains("no base tag is known"), "{gate}");
}
