//! The command line's conventions (issue 13), through the real binary: `--version`,
//! suggestions for mistyped commands and flags, colour (`--color`, `NO_COLOR`,
//! `CLICOLOR_FORCE`, `TERM=dumb`, a terminal), global options apart in `--help`, GitHub
//! annotations for usage and configuration errors, a nested run that leaves the step summary
//! and annotations to the outer one, and evidence files that follow the umask.

use std::process::Command;

use release_core::testing::{FixtureRepo, GIT_ENV};
use tests::{evidence_json, qa_fixture, release, release_command, release_with_env, xtask_bin};

const ESC: &str = "\x1b[";

#[test]
fn version_names_the_library() {
    let out = Command::new(xtask_bin()).args(["release", "--version"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("release-core {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn mistyped_commands_and_flags_get_a_suggestion() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let run = release(repo.root(), &["qaa"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("tip: a similar subcommand exists: 'qa'"), "{}", run.all());
    let run = release(repo.root(), &["verify", "v0.8.0", "--chanels", "npm"]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("tip: a similar argument exists: '--channels'"), "{}", run.all());
}

#[test]
fn global_options_are_listed_apart() {
    let out = Command::new(xtask_bin()).args(["release", "qa", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    let (own, global) = help.split_once("\nGlobal options:\n").unwrap_or_else(|| panic!("no Global options:\n{help}"));
    for flag in ["--repo", "--policy", "--json", "--color"] {
        assert!(global.contains(flag) && !own.contains(flag), "{flag} is not only under Global options:\n{help}");
    }
    assert!(own.contains("--fail-fast") && !global.contains("--fail-fast"), "{help}");
}

/// `versions` in a fixture whose surfaces agree (every finding PASS), with `env` set and
/// `NO_COLOR` removed unless `env` sets it.
fn versions_with(args: &[&str], env: &[(&str, &str)]) -> String {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let mut cmd = release_command(repo.root(), &[&["versions"], args].concat());
    cmd.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE").env_remove("TERM");
    cmd.envs(env.iter().copied());
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn colour_follows_the_flag_and_the_environment_when_piped() {
    // Piped and nothing said: no colour.
    assert!(!versions_with(&[], &[]).contains(ESC));
    // CLICOLOR_FORCE forces it; green PASS and a green verdict, as cargo.
    let forced = versions_with(&[], &[("CLICOLOR_FORCE", "1")]);
    assert!(forced.contains("\x1b[32mPASS") && forced.contains("\x1b[32mready\x1b[0m"), "{forced:?}");
    assert!(!versions_with(&[], &[("CLICOLOR_FORCE", "0")]).contains(ESC));
    // NO_COLOR (any non-empty value) wins over CLICOLOR_FORCE; an empty one does not count.
    assert!(!versions_with(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "x")]).contains(ESC));
    assert!(versions_with(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")]).contains(ESC));
    // --color says it outright.
    assert!(versions_with(&["--color", "always"], &[("NO_COLOR", "1")]).contains("\x1b[32mPASS"));
    assert!(!versions_with(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]).contains(ESC));
    // Never in JSON.
    assert!(!versions_with(&["--color", "always", "--json"], &[]).contains(ESC));
}

/// `versions` run on a pseudo-terminal (util-linux `script`), with `env`.
fn versions_on_a_terminal(extra: &str, env: &[(&str, &str)]) -> String {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let line = format!("{} release versions --repo {} {extra}", xtask_bin().display(), repo.root());
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"]).current_dir(repo.root());
    cmd.envs(GIT_ENV).env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE").env("TERM", "xterm");
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("util-linux `script` runs (it gives the command a terminal)");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn colour_on_a_terminal_unless_no_color_or_a_dumb_terminal() {
    let shown = versions_on_a_terminal("", &[]);
    assert!(shown.contains("\x1b[32mPASS"), "a terminal gets colour: {shown:?}");
    assert!(!versions_on_a_terminal("", &[("NO_COLOR", "1")]).contains(ESC));
    assert!(!versions_on_a_terminal("", &[("TERM", "dumb")]).contains(ESC));
    assert!(!versions_on_a_terminal("--color never", &[]).contains(ESC));
    assert!(!versions_on_a_terminal("--json", &[]).contains(ESC));
}

#[test]
fn config_and_usage_errors_are_annotations_in_github_actions() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let policy = repo.read("release/policy.toml").unwrap();
    let line = policy.lines().position(|l| l.starts_with("[project]")).unwrap() + 2;
    repo.replace("release/policy.toml", "[project]", "[project]\nnot_a_key = 1").unwrap();
    let gha = [("GITHUB_ACTIONS", "true")];
    let run = release_with_env(repo.root(), &["versions"], &gha);
    assert_eq!(run.code, 2, "{}", run.all());
    let wanted = format!("::error file=release/policy.toml,line={line}::release/policy.toml:{line}:");
    assert!(run.stdout.lines().any(|l| l.starts_with(&wanted)), "{wanted}\n{}", run.all());
    // Under --json the annotation goes to stderr; stdout is the JSON alone.
    let run = release_with_env(repo.root(), &["versions", "--json"], &gha);
    assert!(run.stderr.contains(&wanted), "{}", run.all());
    assert_eq!(run.json()["error"]["line"], line);
    // A usage error has no file.
    let run = release_with_env(repo.root(), &["verify", "v0.8.0", "--wait", "soon"], &gha);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stdout.lines().any(|l| l.starts_with("::error::--wait")), "{}", run.all());
    // Outside Actions, no workflow commands.
    let run = release(repo.root(), &["versions"]);
    assert!(!run.stdout.contains("::error"), "{}", run.all());
}

#[test]
fn a_release_command_inside_a_qa_gate_leaves_summary_and_annotations_to_qa() {
    let gate = format!(
        "[[gate]]\nid = \"nested\"\nrun = [\"{}\", \"release\", \"changelog\", \"v9.9.9\"]\n",
        xtask_bin().display()
    );
    let repo = qa_fixture(&gate, &[]);
    let summary = repo.root().join("summary.md");
    let gha = [("GITHUB_ACTIONS", "true"), ("GITHUB_STEP_SUMMARY", summary.as_str())];
    let run = release_with_env(repo.root(), &["qa", "v0.8.0", "--only", "nested"], &gha);
    assert_eq!(run.code, 1, "the nested changelog check fails: {}", run.all());
    let written = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(written.matches("### `").count(), 1, "one summary, the outer qa's:\n{written}");
    assert!(written.contains("### `qa` v0.8.0"), "{written}");
    let all = run.all();
    assert!(all.contains("::error title=qa nested%3A FAIL"), "the outer run annotates the gate: {all}");
    assert!(!all.contains("title=changelog"), "the inner run wrote annotations: {all}");
    assert_eq!(all.matches("::group::").count(), 1, "{all}");

    // The same command run on its own in Actions annotates and summarises.
    let run = release_with_env(repo.root(), &["changelog", "v9.9.9"], &gha);
    assert!(run.stdout.contains("::error title=changelog"), "{}", run.all());
    assert_eq!(std::fs::read_to_string(&summary).unwrap().matches("### `").count(), 2);
}

/// The permission bits of `path`.
#[cfg(unix)]
fn mode(path: &camino::Utf8Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[test]
fn evidence_files_follow_the_umask() {
    for (umask, want) in [("022", 0o644), ("077", 0o600)] {
        let repo = qa_fixture("", &[]);
        let cmd = release_command(repo.root(), &["evidence", "v0.8.0", "--mode", "dry-run", "--agent", "me"]);
        // The same command under `sh -c 'umask U; exec ...'`, as a user's shell would start it.
        let program = cmd.get_program().to_owned();
        let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
        let mut sh = Command::new("sh");
        sh.arg("-c").arg(format!("umask {umask} && exec \"$0\" \"$@\"")).arg(program).args(args);
        sh.current_dir(repo.root());
        for (key, value) in cmd.get_envs() {
            match value {
                Some(value) => sh.env(key, value),
                None => sh.env_remove(key),
            };
        }
        let out = sh.output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        evidence_json(repo.root(), "v0.8.0");
        for file in ["evidence-v0.8.0.json", "evidence-v0.8.0.md"] {
            let path = repo.root().join(".scratch/release").join(file);
            assert_eq!(mode(&path), want, "{file} under umask {umask}");
        }
        // An existing record keeps its permissions when it is rewritten.
        let path = repo.root().join(".scratch/release/evidence-v0.8.0.json");
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o640)).unwrap();
        let run = release(repo.root(), &["qa", "v0.8.0", "--only", "versions"]);
        assert_eq!(run.code, 0, "{}", run.all());
        assert_eq!(mode(&path), 0o640);
    }
}

#[test]
fn a_malformed_changelog_heading_is_annotated_at_its_line() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let text = repo.read("CHANGELOG.md").unwrap();
    let line = text.lines().position(|l| l.starts_with("## [0.8.0]")).unwrap() + 1;
    repo.replace("CHANGELOG.md", "## [0.8.0]", "## [v0.8.0]").unwrap();
    let run = release_with_env(repo.root(), &["changelog", "v0.8.0", "--json"], &[("GITHUB_ACTIONS", "true")]);
    assert_eq!(run.code, 2, "{}", run.all());
    let error = &run.json()["error"];
    assert_eq!(
        (&error["kind"], &error["file"], &error["line"]),
        (&"config".into(), &"CHANGELOG.md".into(), &line.into())
    );
    assert!(run.stderr.contains(&format!("::error file=CHANGELOG.md,line={line}::")), "{}", run.all());
}
