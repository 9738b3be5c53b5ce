//! The A/B runner: builds both sides in their own trees, keeps the binaries, runs them
//! interleaved and writes the summaries.
//!
//! Layout of one comparison, under `<repo>/.scratch/release/bench-<base>-<YYYYmmdd-HHMMSS>/`:
//!
//! ```text
//! base/       build.log, the bench program copied out of the build, run-<i>.json (stdout),
//!             run-<i>.log (stderr)
//! candidate/  the same for the candidate
//! summary.json  summary.md  plot.svg
//! ```
//!
//! Each side is built in its own tree (the base tag in a temporary `git worktree add --detach`;
//! the candidate in one at HEAD, or in the work tree itself when it has uncommitted changes)
//! with `CARGO_TARGET_DIR=<tree>/target`, so the sides never share a target dir (bug 35). The
//! program of `[bench] run` is a path relative to the tree (`target/release/examples/x`); it is
//! copied out before the temporary tree is removed, and the copies are what run. Every run has
//! a fresh scratch folder as its cwd, removed afterwards, so whatever the bench writes to its
//! cwd (`.scratch/plasmite-bench-*`) does not pile up (bug 35).

use std::{
    fs,
    process::{Command, ExitStatus},
};

use anyhow::{Context, bail};
use camino::{Utf8Path, Utf8PathBuf};

use super::{
    BenchOptions,
    stats::{self, Row},
    summary::{self, CHECK, Params},
};
use crate::{
    clock::Clock,
    fsutil,
    policy::BenchPolicy,
    progress::{Progress, Reporter},
    repo::Repo,
    report::Evidence,
    report::Finding,
    report::Outcome,
    report::Report,
};

/// Lines of output kept in a finding when a build or run fails.
const TAIL_LINES: usize = 20;

/// Runs the whole comparison and returns its report. Errors are usage or configuration
/// problems (bad options, no `[bench]`, unknown tag, unwritable output folder); everything that
/// happens to the builds and runs is a finding.
pub fn run(
    repo: &Repo,
    bench: Option<&BenchPolicy>,
    opts: &BenchOptions,
    clock: &Clock,
    progress: &Reporter,
) -> anyhow::Result<Report> {
    opts.validate()?;
    let Some(bench) = bench else { bail!("the policy has no [bench] section") };
    check_policy(bench)?;
    let Some(base_commit) = repo.tag_commit(&opts.base_tag)? else {
        bail!(
            "tag {} does not exist in this clone (refs/tags/{}); fetch it with `git fetch --tags`",
            opts.base_tag,
            opts.base_tag
        );
    };
    let out = create_out_dir(repo, &opts.base_tag, clock)?;
    let mut findings = Vec::new();

    // A stale worktree record from an interrupted run would block nothing, but tidy it.
    let _ = repo.git(&["worktree", "prune"]);

    let head = repo.head()?;
    let dirty: Vec<String> =
        repo.dirty_files()?.into_iter().filter(|l| !l.get(3..).unwrap_or("").starts_with(".scratch/")).collect();
    let candidate_desc = if dirty.is_empty() {
        format!("HEAD {head} (clean work tree, built in a temporary worktree)")
    } else {
        format!(
            "candidate is the work tree with uncommitted changes ({} paths changed) on top of HEAD {head}",
            dirty.len()
        )
    };

    let step = |verb, what: String| progress.send(Progress::Step { verb, what });
    step("Building", format!("base {} ({base_commit})", opts.base_tag));
    let base = build_side(repo, bench, Side::Base, &base_commit, &out);
    let base_program = match base {
        Ok(p) => p,
        Err(f) => return Ok(finish(findings, *f, &out)),
    };
    step("Building", format!("candidate {head}{}", if dirty.is_empty() { "" } else { " with uncommitted changes" }));
    let candidate = if dirty.is_empty() {
        build_side(repo, bench, Side::Candidate, &head, &out)
    } else {
        build_in(repo.root(), bench, Side::Candidate, &out)
    };
    let candidate_program = match candidate {
        Ok(p) => p,
        Err(f) => return Ok(finish(findings, *f, &out)),
    };

    // Interleaved A B A B: drift of the machine hits both sides alike.
    let mut rows: [Vec<Vec<Row>>; 2] = [Vec::new(), Vec::new()];
    for i in 1..=opts.runs {
        for (side, program) in [(Side::Base, &base_program), (Side::Candidate, &candidate_program)] {
            let name = if side == Side::Base { "base" } else { "candidate" };
            step("Running", format!("{name}, run {i}/{} ({} messages)", opts.runs, opts.messages));
            match run_once(bench, side, program, i, opts.messages, &out) {
                Ok(r) => rows[side as usize].push(r),
                Err(f) => return Ok(finish(findings, *f, &out)),
            }
        }
    }

    let [base_rows, candidate_rows] = &rows;
    let base_stats = stats::aggregate(base_rows.iter().map(Vec::as_slice), &bench.benches);
    let candidate_stats = stats::aggregate(candidate_rows.iter().map(Vec::as_slice), &bench.benches);
    // The policy's per-bench floors, unless the options name the bench themselves.
    let mut thresholds = opts.thresholds.clone();
    for (name, floor) in &bench.min_blocking_base_ms {
        thresholds.min_blocking_base_ms.entry(name.clone()).or_insert(*floor);
    }
    let comparisons = stats::compare(&base_stats, &candidate_stats, &thresholds);
    findings.extend(summary::findings(&comparisons, &bench.benches, &thresholds));

    let params = Params {
        base_tag: &opts.base_tag,
        candidate: &candidate_desc,
        runs: opts.runs,
        messages: opts.messages,
        thresholds,
    };
    let json = serde_json::to_vec_pretty(&summary::summary_json(&params, &comparisons))?;
    let files = [
        ("summary.json", json),
        ("summary.md", summary::summary_md(&params, &comparisons).into_bytes()),
        ("plot.svg", summary::plot_svg(&params, &comparisons).into_bytes()),
    ];
    let mut written = Finding::pass(
        CHECK,
        "bench outputs",
        format!(
            "{} scenarios, base {} vs {candidate_desc}; wrote summary.json, summary.md, plot.svg in {}",
            comparisons.len(),
            opts.base_tag,
            rel(repo, &out)
        ),
    );
    for (name, bytes) in files {
        let path = out.join(name);
        fsutil::write_atomic(&path, &bytes)?;
        written = written.with(Evidence::file(rel(repo, &path)));
    }
    findings.push(written);
    Ok(Report::new("bench", None, findings))
}

fn check_policy(bench: &BenchPolicy) -> anyhow::Result<()> {
    if bench.build.first().is_none_or(|p| p.trim().is_empty()) {
        bail!("[bench] build must name a program");
    }
    let Some(program) = bench.run.first() else { bail!("[bench] run must name a program") };
    if !program.contains('/') {
        bail!(
            "[bench] run program `{program}` must be a path to the built program relative to the tree \
             (like target/release/examples/<name>), not a name looked up on PATH: both sides would run the same program"
        );
    }
    if bench.benches.is_empty() {
        bail!("[bench] benches must list at least one bench");
    }
    Ok(())
}

fn finish(mut findings: Vec<Finding>, failure: Finding, out: &Utf8Path) -> Report {
    findings.push(failure.with(Evidence::note(format!("logs and run outputs are in {out}"))));
    Report::new("bench", None, findings)
}

fn rel(repo: &Repo, path: &Utf8Path) -> String {
    path.strip_prefix(repo.root()).map_or_else(|_| path.to_string(), |p| p.to_string())
}

fn create_out_dir(repo: &Repo, base_tag: &str, clock: &Clock) -> anyhow::Result<Utf8PathBuf> {
    let parent = repo.path(".scratch/release");
    fs::create_dir_all(&parent).with_context(|| format!("cannot create {parent}"))?;
    // `2026-07-28T09:15:00Z` -> `20260728-091500`.
    let stamp: String = clock.timestamp().chars().filter(|c| c.is_ascii_digit() || *c == 'T').collect();
    let stamp = stamp.replace('T', "-");
    for n in 1..100 {
        let name = if n == 1 { format!("bench-{base_tag}-{stamp}") } else { format!("bench-{base_tag}-{stamp}-{n}") };
        let dir = parent.join(name);
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {dir}")),
        }
    }
    bail!("too many bench folders for {base_tag} at {stamp} in {parent}")
}

/// Which side of the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Base = 0,
    Candidate = 1,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Base => "base",
            Side::Candidate => "candidate",
        }
    }
}

/// A temporary `git worktree add --detach`, removed on drop, also when the build failed or
/// panicked (the worktree record and the folder both go).
struct Worktree<'a> {
    repo: &'a Repo,
    path: Utf8PathBuf,
    _dir: tempfile::TempDir,
}

impl<'a> Worktree<'a> {
    fn add(repo: &'a Repo, commit: &str, side: Side) -> anyhow::Result<Worktree<'a>> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("release-bench-{}-", side.name()))
            .tempdir()
            .context("cannot create a temp dir for the worktree")?;
        let path = Utf8PathBuf::from_path_buf(dir.path().join("tree"))
            .map_err(|p| anyhow::anyhow!("temp dir {} is not UTF-8", p.display()))?;
        repo.git(&["worktree", "add", "--detach", "--quiet", path.as_str(), commit])
            .with_context(|| format!("cannot check out {commit} for the {} side", side.name()))?;
        Ok(Worktree { repo, path, _dir: dir })
    }
}

impl Drop for Worktree<'_> {
    fn drop(&mut self) {
        // Best effort: the temp dir is deleted right after; prune drops the record if remove failed.
        let _ = self.repo.git(&["worktree", "remove", "--force", self.path.as_str()]);
        let _ = fs::remove_dir_all(&self.path);
        let _ = self.repo.git(&["worktree", "prune"]);
    }
}

fn build_side(
    repo: &Repo,
    bench: &BenchPolicy,
    side: Side,
    commit: &str,
    out: &Utf8Path,
) -> Result<Utf8PathBuf, Box<Finding>> {
    let subject = format!("{} build", side.name());
    let tree = Worktree::add(repo, commit, side)
        .map_err(|e| Box::new(Finding::incomplete(CHECK, &subject, format!("{e:#}"))))?;
    build_in(&tree.path, bench, side, out)
    // `tree` drops here: the worktree is removed whether the build worked or not.
}

/// A path of the policy resolved against a side's tree: relative paths with a `/` are
/// relative to the tree; absolute paths and bare names (looked up on PATH) stay as they are.
pub fn resolve(program: &str, tree: &Utf8Path) -> Utf8PathBuf {
    let p = Utf8Path::new(program);
    if p.is_relative() && program.contains('/') { tree.join(p) } else { p.to_owned() }
}

/// The last [`TAIL_LINES`] lines of the logs, in order, read from each file's end: a build
/// that printed a gigabyte costs a bounded tail (the logs keep everything).
fn tail(logs: &[&Utf8Path]) -> String {
    let text: Vec<String> =
        logs.iter().filter_map(|p| crate::tail::file_tail(p.as_std_path(), TAIL_LINES).ok()).collect();
    let text = text.join("\n");
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(TAIL_LINES)..].join("\n")
}

fn command_evidence(argv: &[String], status: Option<ExitStatus>, logs: &[&Utf8Path]) -> Evidence {
    Evidence::Command { argv: argv.to_vec(), exit_code: status.and_then(|s| s.code()), tail: tail(logs) }
}

/// Runs `argv` in `cwd` with its stdout written to `stdout` and its stderr to `stderr` (the
/// same file for both is fine): output goes to disk, never into memory. `Err` is a finding
/// (could not start) naming the program.
fn exec(
    argv: &[String],
    cwd: &Utf8Path,
    target_dir: &Utf8Path,
    subject: &str,
    stdout: &Utf8Path,
    stderr: &Utf8Path,
) -> Result<ExitStatus, Box<Finding>> {
    let (program, args) = match argv.split_first() {
        Some(split) => split,
        None => return Err(Box::new(Finding::incomplete(CHECK, subject, "empty command"))),
    };
    let program = resolve(program, cwd);
    let fail = |e: std::io::Error, what: String| {
        let hint = if e.kind() == std::io::ErrorKind::NotFound { ": is it installed and on PATH?" } else { "" };
        Box::new(Finding::incomplete(CHECK, subject, format!("{what}: {e}{hint}")).with(command_evidence(
            argv,
            None,
            &[],
        )))
    };
    let out = fs::File::create(stdout).map_err(|e| fail(e, format!("cannot create {stdout}")))?;
    let err = if stderr == stdout {
        out.try_clone().map_err(|e| fail(e, format!("cannot share {stdout}")))?
    } else {
        fs::File::create(stderr).map_err(|e| fail(e, format!("cannot create {stderr}")))?
    };
    Command::new(&program)
        .args(args)
        .current_dir(cwd)
        .env("CARGO_TARGET_DIR", target_dir)
        .stdin(std::process::Stdio::null())
        .stdout(out)
        .stderr(err)
        .status()
        .map_err(|e| fail(e, format!("cannot run `{program}`")))
}

/// Builds in `tree`, copies the bench program to `out/<side>/` and returns the copy.
fn build_in(tree: &Utf8Path, bench: &BenchPolicy, side: Side, out: &Utf8Path) -> Result<Utf8PathBuf, Box<Finding>> {
    let subject = format!("{} build", side.name());
    let fail = |detail: String| Box::new(Finding::incomplete(CHECK, &subject, detail));
    let side_dir = out.join(side.name());
    fs::create_dir_all(&side_dir).map_err(|e| fail(format!("cannot create {side_dir}: {e}")))?;
    let target_dir = tree.join("target");
    let log = side_dir.join("build.log");
    let status = exec(&bench.build, tree, &target_dir, &subject, &log, &log)?;
    if !status.success() {
        let outcome = match side {
            // The base built when it was released; failing now means the machine cannot
            // build it, which decides nothing about the candidate.
            Side::Base => Outcome::Incomplete,
            Side::Candidate => Outcome::Fail,
        };
        return Err(Box::new(
            Finding::new(CHECK, &subject, outcome, format!("the {} build failed (log: {log})", side.name()))
                .with(command_evidence(&bench.build, Some(status), &[&log])),
        ));
    }
    let program = bench.run.first().map(String::as_str).unwrap_or_default();
    let built = resolve(program, tree);
    let name = built.file_name().unwrap_or("bench");
    let copy = side_dir.join(name);
    fs::copy(&built, &copy).map_err(|e| {
        fail(format!(
            "the build succeeded but the bench program {built} (the `[bench] run` program, resolved against the {} tree) cannot be copied: {e}",
            side.name()
        ))
    })?;
    Ok(copy)
}

/// One run of one side, in a fresh scratch cwd that is removed afterwards.
fn run_once(
    bench: &BenchPolicy,
    side: Side,
    program: &Utf8Path,
    i: u32,
    messages: u64,
    out: &Utf8Path,
) -> Result<Vec<Row>, Box<Finding>> {
    let subject = format!("{} run {i}", side.name());
    let fail = |detail: String| Box::new(Finding::incomplete(CHECK, &subject, detail));
    let side_dir = out.join(side.name());
    let work = tempfile::Builder::new()
        .prefix("work-")
        .tempdir_in(&side_dir)
        .map_err(|e| fail(format!("cannot create a scratch dir in {side_dir}: {e}")))?;
    let cwd = Utf8Path::from_path(work.path()).ok_or_else(|| fail("scratch dir is not UTF-8".into()))?;
    let mut argv: Vec<String> = vec![program.to_string()];
    argv.extend(bench.run.iter().skip(1).map(|a| a.replace("{messages}", &messages.to_string())));
    let saved = side_dir.join(format!("run-{i}.json"));
    let errors = side_dir.join(format!("run-{i}.log"));
    let status = exec(&argv, cwd, &cwd.join("target"), &subject, &saved, &errors)?;
    drop(work);
    if !status.success() {
        return Err(Box::new(
            Finding::incomplete(CHECK, &subject, format!("the bench program failed (stdout kept in {saved})"))
                .with(command_evidence(&argv, Some(status), &[&saved, &errors])),
        ));
    }
    // The summary rows are small; a program that prints more than this is not giving them.
    const MAX_OUTPUT: u64 = 16 * 1024 * 1024;
    let mut bytes = Vec::new();
    let read = fs::File::open(&saved)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_OUTPUT + 1), &mut bytes));
    let parsed = match read {
        Err(e) => Err(anyhow::anyhow!("cannot read it: {e}")),
        Ok(_) if bytes.len() as u64 > MAX_OUTPUT => Err(anyhow::anyhow!("more than {MAX_OUTPUT} bytes")),
        Ok(_) => stats::parse_output(&String::from_utf8_lossy(&bytes)),
    };
    parsed.map_err(|e| {
        Box::new(
            Finding::incomplete(CHECK, &subject, format!("unreadable bench output ({saved}): {e:#}"))
                .with(command_evidence(&argv, Some(status), &[&saved, &errors])),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn program_paths_resolve_against_the_tree() {
        let tree = Utf8Path::new("/tmp/wt");
        assert_eq!(resolve("target/release/examples/b", tree), "/tmp/wt/target/release/examples/b");
        assert_eq!(resolve("./build.sh", tree), "/tmp/wt/./build.sh");
        assert_eq!(resolve("cargo", tree), "cargo");
        assert_eq!(resolve("/usr/bin/env", tree), "/usr/bin/env");
    }
}
