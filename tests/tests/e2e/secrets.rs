//! Secrets: one choke point (issue 10). A canary in the environment, printed by a gate folded
//! over lines, appears in none of stdout, stderr, `--json`, annotations, the step summary or
//! the evidence files; in GitHub Actions it is announced with `::add-mask::` first.

use tests::{qa_fixture, release_with_env};

const CANARY: &str = "Zq7c4naryXw93kLm0pQ2vB8d";
// `printf 'leak: %s\n' "$NPM_TOKEN" | fold -w 10` prints these pieces.
const PIECES: [&str; 4] = ["Zq7c", "4naryXw93k", "Lm0pQ2vB8d", CANARY];

#[test]
fn a_canary_folded_over_gate_output_reaches_no_output() {
    let script = "#!/bin/sh\nprintf 'leak: %s\\n' \"$NPM_TOKEN\" | fold -w 10\necho \"plain $NPM_TOKEN\" >&2\nexit 1\n";
    let repo = qa_fixture("[[gate]]\nid = \"leaky\"\nrun = [\"./gate.sh\"]\n", &[("gate.sh", script)]);
    let summary = repo.scratch().join("summary.md");
    std::fs::create_dir_all(repo.scratch()).unwrap();
    let env = [("NPM_TOKEN", CANARY), ("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", summary.as_str())];
    let clean = |what: &str, text: &str| {
        for piece in PIECES {
            assert!(!text.contains(piece), "{what} holds `{piece}`:\n{text}");
        }
    };
    for args in [&["qa", "v0.8.0", "--only", "leaky"][..], &["qa", "v0.8.0", "--only", "leaky", "--json"][..]] {
        let run = release_with_env(repo.root(), args, &env);
        assert_eq!(run.code, 1, "{}", run.all());
        let first = run.stdout.lines().next().unwrap_or_default();
        assert_eq!(first, format!("::add-mask::{CANARY}"), "the mask comes first: {}", run.all());
        assert_eq!(run.stdout.matches("::add-mask::").count(), 1, "{}", run.all());
        let rest: Vec<&str> = run.stdout.lines().skip(1).collect();
        clean("stdout", &rest.join("\n"));
        clean("stderr", &run.stderr);
        assert!(run.all().contains("[REDACTED]"), "{}", run.all());
    }
    clean("step summary", &std::fs::read_to_string(&summary).unwrap());
    clean("evidence JSON", &repo.read(".scratch/release/evidence-v0.8.0.json").unwrap());
    clean("evidence Markdown", &repo.read(".scratch/release/evidence-v0.8.0.md").unwrap());
}
