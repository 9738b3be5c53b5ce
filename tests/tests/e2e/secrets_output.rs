//! Secrets: the rest of the one choke point (issue 10). A canary in `GH_TOKEN` that reaches
//! the tool from a tracker's stderr, a branch name or a changelog section is masked in
//! stdout, stderr, `--json` and the evidence files.

use release_core::testing::FixtureRepo;
use tests::release_with_env;

const CANARY: &str = "Zq7c4naryGh55kLm0pQ2vB8d";
// The pieces fake-ergo prints when it folds the canary, and the canary itself.
const PIECES: [&str; 3] = ["Zq7c4naryGh5", "5kLm0pQ2vB8d", CANARY];
const FAKE_ERGO: &str = env!("CARGO_BIN_EXE_fake-ergo");

fn clean(what: &str, text: &str) {
    for piece in PIECES {
        assert!(!text.contains(piece), "{what} holds `{piece}`:\n{text}");
    }
}

#[test]
fn a_tracker_echoing_the_token_when_filing_fails_leaks_nowhere() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    std::fs::create_dir_all(repo.scratch()).unwrap();
    let state = repo.scratch().join("ergo.json").to_string();
    let env = [("GH_TOKEN", CANARY), ("FAKE_ERGO_STATE", state.as_str()), ("FAKE_ERGO_FAIL_NEW", "GH_TOKEN")];
    for json in [false, true] {
        let mut args = vec![
            "blocker",
            "v0.9.0",
            "--check",
            "release-gate",
            "--title",
            "clippy fails",
            "--summary",
            "clippy fails",
            "--ergo",
            FAKE_ERGO,
        ];
        if json {
            args.push("--json");
        }
        let run = release_with_env(repo.root(), &args, &env);
        assert_ne!(run.code, 0, "filing failed: {}", run.all());
        assert!(run.all().contains("bad credentials"), "ergo's stderr is reported: {}", run.all());
        assert!(run.all().contains("[REDACTED]"), "{}", run.all());
        clean("stdout", &run.stdout);
        clean("stderr", &run.stderr);
        if json {
            run.json();
        }
    }
    clean("evidence JSON", &repo.read(".scratch/release/evidence-v0.9.0.json").unwrap());
    clean("evidence Markdown", &repo.read(".scratch/release/evidence-v0.9.0.md").unwrap());
}

#[test]
fn status_and_release_notes_mask_a_planted_token() {
    let repo = FixtureRepo::plasmite("0.8.0")
        .replace("CHANGELOG.md", "- Faster appends under contention.", &format!("- Faster appends (token {CANARY})."))
        .tags(&["v0.7.2"])
        .build()
        .unwrap();
    repo.git(&["checkout", "-q", "-b", &format!("fix-{CANARY}")]).unwrap();
    let env = [("GH_TOKEN", CANARY)];

    let notes = release_with_env(repo.root(), &["changelog", "v0.8.0", "--notes"], &env);
    assert_eq!(notes.code, 0, "{}", notes.all());
    assert!(notes.stdout.contains("Faster appends (token [REDACTED])."), "{}", notes.all());
    clean("changelog --notes", &notes.all());

    let agent = format!("bot-{CANARY}");
    let started =
        release_with_env(repo.root(), &["evidence", "v0.8.0", "--mode", "dry-run", "--agent", &agent, "--json"], &env);
    assert_eq!(started.code, 0, "{}", started.all());
    assert_eq!(started.json()["agent"], "bot-[REDACTED]", "{}", started.all());
    clean("evidence --json", &started.all());

    let status = release_with_env(repo.root(), &["status", "v0.8.0"], &env);
    assert_eq!(status.code, 0, "{}", status.all());
    assert!(status.stdout.contains("branch:  fix-[REDACTED]"), "{}", status.all());
    clean("status", &status.all());

    let json = release_with_env(repo.root(), &["status", "v0.8.0", "--json"], &env);
    assert_eq!(json.code, 0, "{}", json.all());
    assert_eq!(json.json()["branch"], "fix-[REDACTED]", "{}", json.all());
    clean("status --json", &json.all());
}
