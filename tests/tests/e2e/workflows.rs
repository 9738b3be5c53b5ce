//! The workflows in docs/plasmite/workflows/ (and this repository's own, if any) call only
//! commands and flags the command line has: every `cargo xtask release <command>` they name,
//! in a step or a comment, is a subcommand of `release`, and every `--flag` after it on the
//! same line is one its `--help` lists.

use std::collections::BTreeSet;

use tests::{help_text, parse_help, workspace_root};

/// The subcommands and option names `--help` of `release <path>` lists.
fn help(path: &[&str]) -> (BTreeSet<String>, BTreeSet<String>) {
    let help = parse_help(&help_text(path));
    (help.commands.into_iter().collect(), help.flags)
}

/// One `cargo xtask release ...` in a workflow: where, the command words, the flags after it.
#[derive(Debug)]
struct Call {
    at: String,
    words: Vec<String>,
    flags: Vec<String>,
}

/// Every `cargo xtask release <word> [<word>]` and the `--flags` after it on its line.
fn calls(file: &str, text: &str) -> Vec<Call> {
    const CALL: &str = "cargo xtask release ";
    let mut calls = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let mut rest = line;
        while let Some(at) = rest.find(CALL) {
            rest = &rest[at + CALL.len()..];
            let end = rest.find(CALL).unwrap_or(rest.len());
            let this = &rest[..end];
            let word = |w: &str| {
                w.starts_with(|c: char| c.is_ascii_lowercase()) && w.chars().all(|c| c.is_ascii_lowercase() || c == '-')
            };
            // A command in prose ends at its closing backtick or punctuation.
            let mut words = Vec::new();
            for token in this.split_whitespace().take(2) {
                let trimmed = token.trim_end_matches(['`', ',', '.', ';', ':', ')']);
                if !word(trimmed) {
                    break;
                }
                words.push(trimmed.to_string());
                if trimmed.len() < token.len() {
                    break;
                }
            }
            let flags = this
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
                .filter(|t| t.starts_with("--") && t.len() > 2)
                .map(str::to_string)
                .collect();
            calls.push(Call { at: format!("{file}:{}", n + 1), words, flags });
        }
    }
    calls
}

fn workflow_files() -> Vec<(String, String)> {
    let root = workspace_root();
    let mut files = Vec::new();
    for dir in ["docs/plasmite/workflows", ".github/workflows"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            if matches!(path.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
                let name = path.strip_prefix(&root).unwrap().display().to_string();
                files.push((name, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn workflows_call_only_commands_and_flags_the_cli_has() {
    let (commands, _) = help(&[]);
    let files = workflow_files();
    assert!(files.len() >= 3, "the release, publish and post-release workflows: {files:?}");
    let mut seen = 0;
    for (file, text) in &files {
        for call in calls(file, text) {
            let Some(command) = call.words.first() else {
                panic!("{}: no command after `cargo xtask release`", call.at)
            };
            assert!(commands.contains(command), "{}: `{command}` is not a command of `cargo xtask release`", call.at);
            // A command with subcommands (`homebrew render`) takes the flags of the subcommand.
            let (subcommands, mut flags) = help(&[command]);
            let mut path = vec![command.as_str()];
            if !subcommands.is_empty() {
                let sub = call.words.get(1).unwrap_or_else(|| panic!("{}: `{command}` needs a subcommand", call.at));
                assert!(subcommands.contains(sub), "{}: `{command} {sub}` is not a command", call.at);
                path.push(sub);
                flags = help(&path).1;
            }
            for flag in &call.flags {
                assert!(
                    flags.contains(flag),
                    "{}: `{}` has no flag `{flag}` (it has {flags:?})",
                    call.at,
                    path.join(" ")
                );
            }
            seen += 1;
        }
    }
    assert!(seen >= 10, "the workflows call the commands: {seen} calls found");
}

#[test]
fn the_call_parser_reads_commands_subcommands_and_flags() {
    let text = "  run: cargo xtask release homebrew render \"$T\" --sha256sums s --out f\n\
                # `cargo xtask release publish vX.Y.Z --rehearsal|--live [--recover]`, then cargo xtask release next v1\n\
                that `cargo xtask release provenance` checks.\n";
    let found = calls("f.yml", text);
    let shape: Vec<(&str, Vec<&str>, Vec<&str>)> = found
        .iter()
        .map(|c| {
            (c.at.as_str(), c.words.iter().map(String::as_str).collect(), c.flags.iter().map(String::as_str).collect())
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("f.yml:1", vec!["homebrew", "render"], vec!["--sha256sums", "--out"]),
            ("f.yml:2", vec!["publish"], vec!["--rehearsal", "--live", "--recover"]),
            ("f.yml:2", vec!["next"], vec![]),
            ("f.yml:3", vec!["provenance"], vec![]),
        ]
    );
}

/// The jobs of a workflow: each `  name:` line under `jobs:` and the text up to the next.
fn jobs(text: &str) -> Vec<(String, String)> {
    let mut jobs: Vec<(String, String)> = Vec::new();
    let mut inside = false;
    for line in text.lines() {
        if line == "jobs:" {
            inside = true;
        } else if inside
            && line.starts_with("  ")
            && !line.starts_with("   ")
            && !line.starts_with("  #")
            && line.trim_end().ends_with(':')
        {
            jobs.push((line.trim().trim_end_matches(':').to_string(), String::new()));
        } else if let Some((_, block)) = jobs.last_mut() {
            block.push_str(line);
            block.push('\n');
        }
    }
    jobs
}

fn plasmite_workflow(name: &str) -> String {
    std::fs::read_to_string(workspace_root().join("docs/plasmite/workflows").join(name)).unwrap()
}

fn job(workflow: &str, name: &str) -> String {
    let text = plasmite_workflow(workflow);
    jobs(&text).into_iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{workflow} has no job {name}")).1
}

#[test]
fn every_job_asks_for_its_own_least_permissions_and_tags_where_it_compares_them() {
    for (file, text) in workflow_files().iter().filter(|(f, _)| f.starts_with("docs/plasmite")) {
        assert!(text.contains("\npermissions: {}\n"), "{file}: nothing by default");
        assert!(!text.contains("write-all") && !text.contains("read-all"), "{file}");
        let jobs = jobs(text);
        assert!(jobs.len() >= 3, "{file}: {:?}", jobs.iter().map(|(n, _)| n).collect::<Vec<_>>());
        for (name, block) in jobs {
            assert!(block.contains("    permissions:"), "{file}: job {name} says what it needs");
            let writes = |p: &str| block.contains(&format!("{p}: write"));
            assert_eq!(writes("contents"), name == "github-release", "{file}: {name} and contents: write");
            assert_eq!(writes("id-token"), name == "publish-npm", "{file}: {name} and id-token: write");
            assert!(!writes("issues") && !writes("actions"), "{file}: {name}");
            let compares = ["release qa", "release provenance", "--wait"].iter().any(|c| block.contains(c));
            if compares {
                assert!(block.contains("fetch-depth: 0"), "{file}: {name} needs the tags");
            }
        }
    }
}

#[test]
fn the_old_workflows_bugs_are_not_in_these() {
    let all: String = workflow_files().into_iter().map(|(_, t)| t).collect();
    // Bug 1: no registry publishes before the tap is right.
    for name in ["publish-crates-io", "publish-npm", "publish-pypi"] {
        assert!(job("release-publish.yml", name).contains("needs: [provenance, sync-homebrew-tap]"), "{name}");
    }
    // Bug 2: no Linux wheel, so the ubuntu smoke does not try PyPI; Homebrew is a channel.
    let smoke = job("post-release.yml", "smoke");
    assert!(smoke.contains("runs-on: ubuntu-latest") && smoke.contains("--channels npm,crates"), "{smoke}");
    assert!(job("post-release.yml", "smoke-macos").contains("--channels homebrew,pypi"));
    // Bug 7: the build checks the tag against every version surface.
    assert!(job("release.yml", "release-context").contains("--only versions"));
    // Bug 14: the Node platforms come from the matrix, not a list of four.
    assert!(job("release.yml", "build-node-dist").contains("pattern: node-native-*"));
    assert!(!all.contains("name: node-native-linux"));
    // Bug 24: the build run is proven, not looked up among the newest 40 by display name.
    assert!(job("release-publish.yml", "provenance").contains("cargo xtask release provenance --tag"));
    assert!(!all.contains("gh run list") && !all.contains("--limit 40"));
    // Bug 25: a rehearsal runs the publishes' own dry runs.
    assert!(job("release-publish.yml", "publish-crates-io").contains("cargo publish --locked --dry-run"));
    assert!(job("release-publish.yml", "publish-npm").contains("args+=(--dry-run)"));
    // Bug 26: a re-run completes an existing release instead of failing on it.
    let release = job("release-publish.yml", "github-release");
    assert!(release.contains("gh release view") && release.contains("gh release upload"), "{release}");
    // Bug 28 (the notes' indentation eaten by sed) and bug 23 (shasum is not on every Linux).
    assert!(!all.contains("sed ") && !all.contains("shasum"));
    assert!(release.contains("cargo xtask release changelog \"$RELEASE_TAG\" --notes"));
    // The workflows branch on what the commands write to $GITHUB_OUTPUT.
    assert!(all.contains("steps.live.outputs.verdict != 'ready'"));
    assert!(all.contains("needs.verify.outputs.verdict == 'ready'"));
}
