//! The gate runner's own overhead: a policy of 20 trivial gates (`true`), run by
//! `commands::qa` (gate runner and evidence append), against the same 20 commands spawned directly. Prints the time per gate
//! beyond the command itself. Run with `cargo bench -p release-core --bench gates`.

use std::{
    process::Command,
    time::{Duration, Instant},
};

use camino::Utf8PathBuf;
use release_core::{
    Context, HttpConfig, Policy, ReleaseTarget, Repo, TokenSource,
    commands::{self, QaRequest, Silent},
};

const GATES: usize = 20;
const ROUNDS: usize = 5;

fn git(dir: &std::path::Path, args: &[&str]) -> anyhow::Result<()> {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.invalid")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.invalid")
        .status()?;
    anyhow::ensure!(status.success(), "git {args:?} failed");
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let root = Utf8PathBuf::from_path_buf(dir.path().to_path_buf())
        .map_err(|p| anyhow::anyhow!("temp dir {} is not UTF-8", p.display()))?;
    let mut policy = String::from("[project]\nname = \"bench\"\n");
    for i in 0..GATES {
        policy += &format!("\n[[gate]]\nid = \"g{i}\"\nrun = [\"true\"]\n");
    }
    std::fs::create_dir_all(root.join("release"))?;
    std::fs::write(root.join("release/policy.toml"), &policy)?;
    std::fs::write(root.join("README.md"), "bench\n")?;
    git(dir.path(), &["init", "-q", "-b", "main"])?;
    git(dir.path(), &["add", "-A"])?;
    git(dir.path(), &["commit", "-q", "-m", "bench"])?;

    let repo = Repo::discover(&root)?;
    let policy = Policy::parse(&root.join("release/policy.toml"), &policy)?;
    let cx =
        Context::new(repo, policy, HttpConfig::default(), TokenSource::Fixed(None), release_core::Env::from_process());
    let request = QaRequest {
        target: Some(ReleaseTarget::parse("v0.1.0")?),
        only: (0..GATES).map(|i| format!("g{i}")).collect(),
        ..QaRequest::default()
    };

    let mut runner = Vec::new();
    let mut direct = Vec::new();
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let report = commands::qa(&cx, &request, &mut Silent)?.report;
        runner.push(start.elapsed());
        anyhow::ensure!(report.verdict.exit_code() == 0, "{report:#?}");

        let start = Instant::now();
        for _ in 0..GATES {
            let status = Command::new("true").current_dir(&root).status()?;
            anyhow::ensure!(status.success(), "true failed");
        }
        direct.push(start.elapsed());
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (r, d) = (median(&mut runner), median(&mut direct));
    let per_gate = |t: Duration| t.as_secs_f64() * 1000.0 / GATES as f64;
    println!("{GATES} gates of `true`, median of {ROUNDS} rounds");
    println!("  runner:  {:8.2} ms total, {:6.2} ms per gate", r.as_secs_f64() * 1000.0, per_gate(r));
    println!("  direct:  {:8.2} ms total, {:6.2} ms per gate", d.as_secs_f64() * 1000.0, per_gate(d));
    println!("  overhead per gate: {:.2} ms", per_gate(r) - per_gate(d));
    Ok(())
}
