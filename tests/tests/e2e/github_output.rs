//! `$GITHUB_OUTPUT` (issue 12): every command appends `verdict`, `exit_code` and `evidence`
//! (and for `verify` the live and missing channels) in one write, redacted; a configuration
//! error is `verdict=error`; a partial publish is an `::error` annotation and a block of the
//! step summary.

use camino::Utf8PathBuf;
use release_core::testing::{FakeRegistry, FixtureRepo, PublishedRelease, plasmite_manifest};
use tests::{qa_fixture, release_with_env};

const OK_GATE: &str = "[[gate]]\nid = \"git-version\"\nrun = [\"git\", \"--version\"]\n";

/// A file for `$GITHUB_OUTPUT` (or the step summary) in `dir`, starting with what an earlier
/// step of the job wrote, so the tests see it appended to.
fn step_file(dir: &Utf8PathBuf, name: &str) -> Utf8PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, "earlier=step\n").unwrap();
    path
}

fn lines(path: &Utf8PathBuf) -> Vec<String> {
    std::fs::read_to_string(path).unwrap().lines().map(str::to_string).collect()
}

#[test]
fn qa_ready_and_blocked_append_their_verdict_exit_code_and_evidence() {
    let repo = qa_fixture(&format!("{OK_GATE}\n[[gate]]\nid = \"bad\"\nrun = [\"false\"]\n"), &[]);
    let output = step_file(&repo.scratch(), "output");
    let env = [("GITHUB_OUTPUT", output.as_str())];
    let ready = release_with_env(repo.root(), &["qa", "v0.8.0", "--only", "git-version"], &env);
    assert_eq!(ready.code, 0, "{}", ready.all());
    let blocked = release_with_env(repo.root(), &["qa", "v0.8.0", "--json"], &env);
    assert_eq!(blocked.code, 1, "{}", blocked.all());
    assert_eq!(
        lines(&output),
        [
            "earlier=step",
            "verdict=ready",
            "exit_code=0",
            "evidence=.scratch/release/evidence-v0.8.0.json",
            "verdict=blocked",
            "exit_code=1",
            "evidence=.scratch/release/evidence-v0.8.0.json",
        ]
    );
    // Without GITHUB_OUTPUT nothing is written anywhere: stdout stays the report alone.
    let plain = release_with_env(repo.root(), &["qa", "v0.8.0", "--only", "git-version"], &[]);
    assert!(!plain.all().contains("verdict="), "{}", plain.all());
}

#[test]
fn a_command_without_a_report_is_ok_and_a_waived_verdict_keeps_its_json_word() {
    let repo = qa_fixture(&format!("{OK_GATE}\n[[gate]]\nid = \"flaky\"\nrun = [\"false\"]\n"), &[]);
    let output = step_file(&repo.scratch(), "output");
    let env = [("GITHUB_OUTPUT", output.as_str())];
    let waived = release_with_env(repo.root(), &["qa", "v0.8.0", "--waive", "flaky", "--reason", "known flake"], &env);
    assert_eq!(waived.code, 0, "{}", waived.all());
    let status = release_with_env(repo.root(), &["status", "v0.8.0"], &env);
    assert_eq!(status.code, 0, "{}", status.all());
    assert_eq!(
        lines(&output)[1..],
        [
            "verdict=ready_with_waivers",
            "exit_code=0",
            "evidence=.scratch/release/evidence-v0.8.0.json",
            "verdict=ok",
            "exit_code=0",
            "evidence=",
        ]
    );
}

#[test]
fn configuration_and_usage_errors_are_verdict_error_exit_code_2() {
    let repo = qa_fixture("[[gate]]\nid = \"versions\"\nrun = [\"true\"]\n", &[]);
    let output = step_file(&repo.scratch(), "output");
    let env = [("GITHUB_OUTPUT", output.as_str())];
    // A policy the loader refuses.
    let config = release_with_env(repo.root(), &["qa", "v0.8.0"], &env);
    assert_eq!(config.code, 2, "{}", config.all());
    // A flag value that does not parse, and a flag that does not exist.
    let value = release_with_env(repo.root(), &["verify", "not-a-tag"], &env);
    assert_eq!(value.code, 2, "{}", value.all());
    let flag = release_with_env(repo.root(), &["qa", "--no-such-flag"], &env);
    assert_eq!(flag.code, 2, "{}", flag.all());
    let error = ["verdict=error", "exit_code=2", "evidence="];
    assert_eq!(lines(&output), [&["earlier=step"][..], &error, &error, &error].concat());
}

#[test]
fn verify_partial_publish_lists_channels_annotates_and_summarises() {
    let mut published = PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap();
    published.npm.remove("0.8.0");
    let fake = FakeRegistry::start(published).unwrap();
    let repo = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build().unwrap();
    let output = step_file(&repo.scratch(), "output");
    let summary = step_file(&repo.scratch(), "summary.md");
    let env =
        [("GITHUB_ACTIONS", "true"), ("GITHUB_OUTPUT", output.as_str()), ("GITHUB_STEP_SUMMARY", summary.as_str())];
    let args = ["verify", "v0.8.0", "--http-timeout", "2s", "--http-retries", "0"];
    let run = release_with_env(repo.root(), &args, &env);
    assert_eq!(run.code, 1, "{}", run.all());
    let json = release_with_env(repo.root(), &[&args[..], &["--json"]].concat(), &env);
    assert_eq!(json.code, 1, "{}", json.all());
    let block = [
        "verdict=blocked",
        "exit_code=1",
        "evidence=.scratch/release/evidence-v0.8.0.json",
        "live_channels=crates,pypi,github,homebrew",
        "missing_channels=npm",
    ];
    assert_eq!(lines(&output), [&["earlier=step"][..], &block, &block].concat());
    // The annotation names the missing channel, on stdout (text) or stderr (JSON), once each.
    let annotation =
        "::error title=partial publish%3A missing on npm::live on crates, pypi, github, homebrew; missing on npm.";
    assert_eq!(run.stdout.matches(annotation).count(), 1, "{}", run.all());
    assert_eq!(json.stderr.matches(annotation).count(), 1, "{}", json.all());
    assert!(!json.stdout.contains("::error"), "stdout stays JSON: {}", json.stdout);
    json.json();
    let table = std::fs::read_to_string(&summary).unwrap();
    assert!(table.starts_with("earlier=step\n"), "appended: {table}");
    assert_eq!(
        table
            .matches("#### Partial publish\n\n- missing on: `npm`\n- live on: `crates`, `pypi`, `github`, `homebrew`")
            .count(),
        2,
        "{table}"
    );
    assert!(table.contains("never re-tag"), "{table}");
}

#[test]
fn verify_of_a_complete_release_lists_every_channel_live_and_no_partial_publish() {
    let fake = FakeRegistry::start(PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap()).unwrap();
    let repo = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build().unwrap();
    let output = step_file(&repo.scratch(), "output");
    let summary = step_file(&repo.scratch(), "summary.md");
    let env =
        [("GITHUB_ACTIONS", "true"), ("GITHUB_OUTPUT", output.as_str()), ("GITHUB_STEP_SUMMARY", summary.as_str())];
    let args = ["verify", "v0.8.0", "--channels", "crates,npm", "--http-timeout", "2s", "--http-retries", "0"];
    let run = release_with_env(repo.root(), &args, &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(lines(&output)[4..], ["live_channels=crates,npm", "missing_channels="]);
    assert!(!run.stdout.contains("partial publish"), "{}", run.all());
    assert!(!std::fs::read_to_string(&summary).unwrap().contains("Partial publish"));
}

#[test]
fn an_output_value_carrying_a_secret_is_masked() {
    // No output value holds a secret in practice; a token whose value is part of the evidence
    // path shows the values pass the one redaction point.
    let repo = qa_fixture(OK_GATE, &[]);
    let output = step_file(&repo.scratch(), "output");
    let env = [("GITHUB_OUTPUT", output.as_str()), ("NPM_TOKEN", "release/evidence-v0.8.0")];
    let run = release_with_env(repo.root(), &["qa", "v0.8.0"], &env);
    assert_eq!(run.code, 0, "{}", run.all());
    assert_eq!(lines(&output)[1..], ["verdict=ready", "exit_code=0", "evidence=.scratch/[REDACTED].json"]);
}
