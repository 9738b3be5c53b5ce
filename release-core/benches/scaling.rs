//! How `versions` and `changelog` grow with their input: `versions` with 10, 100 and 1000
//! surfaces in one file (TOML and JSON), `changelog` with 10, 1000, 20000 and 100000 sections. Prints
//! each time and the growth per 10x of input (10 is linear, 100 quadratic), and flags growth
//! past 20 per 10x as NON-LINEAR. Not a test; run with
//! `cargo bench -p release-core --features testing --bench scaling`.

use std::time::{Duration, Instant};

use release_core::{
    Context, ReleaseTarget,
    commands::{self, ChangelogRequest, ChangelogWork, VersionsRequest},
    testing::FixtureRepo,
};

const RUNS: usize = 5;
/// Growth per 10x of input above which the bench says NON-LINEAR (linear is 10; a fixed cost
/// at small sizes keeps it lower).
const FLAG: f64 = 20.0;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let mut times = Vec::new();
    for _ in 0..RUNS {
        let started = Instant::now();
        f()?;
        times.push(started.elapsed());
    }
    Ok(median(times))
}

/// A repository whose policy lists `n` version surfaces, all in one file.
fn versions_repo(n: usize, json: bool) -> anyhow::Result<FixtureRepo> {
    let mut policy = String::from("[project]\nname = \"scale\"\n\n");
    let (file, text) = if json {
        let fields: Vec<String> = (0..n).map(|i| format!("    \"pkg{i}\": {{ \"version\": \"1.2.3\" }}")).collect();
        ("versions.json", format!("{{\n  \"packages\": {{\n{}\n  }}\n}}\n", fields.join(",\n")))
    } else {
        ("versions.toml", (0..n).map(|i| format!("[pkg{i}]\nversion = \"1.2.3\"\n\n")).collect())
    };
    for i in 0..n {
        let field = if json { format!("packages.pkg{i}.version") } else { format!("pkg{i}.version") };
        policy.push_str(&format!("[[version]]\nfile = \"{file}\"\nfield = \"{field}\"\n\n"));
    }
    FixtureRepo::plasmite("1.2.3").file("release/policy.toml", policy).file(file, text).build()
}

/// A repository whose changelog has `n` dated sections (the target's is the last).
fn changelog_repo(n: usize) -> anyhow::Result<FixtureRepo> {
    let policy = "[project]\nname = \"scale\"\n\n[changelog]\nfile = \"CHANGELOG.md\"\n";
    let mut text = String::from("# Changelog\n\n## [Unreleased]\n\n");
    for i in (0..n).rev() {
        text.push_str(&format!("## [{}.{}.0] - 2026-01-01\n\n- change {i}\n- another\n\n", i / 1000, i % 1000));
    }
    FixtureRepo::plasmite("1.2.3").file("release/policy.toml", policy).file("CHANGELOG.md", text).build()
}

/// Prints a table of sizes and times, with the growth per 10x between rows; true if linear.
fn report(name: &str, rows: &[(usize, Duration)]) -> bool {
    println!("{name}:");
    let mut linear = true;
    for (i, (n, t)) in rows.iter().enumerate() {
        let growth = match i.checked_sub(1).map(|p| rows[p]) {
            Some((m, s)) => {
                let per_10x = (t.as_secs_f64() / s.as_secs_f64()).powf(1.0 / (*n as f64 / m as f64).log10());
                let flag = if per_10x > FLAG { "  NON-LINEAR" } else { "" };
                linear &= per_10x <= FLAG;
                format!("  x{per_10x:.1} per 10x{flag}")
            }
            None => String::new(),
        };
        println!("  {n:>6}: {:>9.2} ms{growth}", t.as_secs_f64() * 1000.0);
    }
    linear
}

fn main() -> anyhow::Result<()> {
    let mut linear = true;
    for json in [false, true] {
        let mut rows = Vec::new();
        for n in [10, 100, 1000] {
            let repo = versions_repo(n, json)?;
            let cx = Context::open(repo.root(), None)?;
            let t = time(|| {
                let outcome = commands::versions(&cx, &VersionsRequest::default())?;
                anyhow::ensure!(outcome.report.findings.len() == n, "{:#?}", outcome.report);
                anyhow::ensure!(outcome.report.verdict.exit_code() == 0, "{:#?}", outcome.report);
                Ok(())
            })?;
            rows.push((n, t));
        }
        linear &= report(&format!("versions, surfaces in one {} file", if json { "JSON" } else { "TOML" }), &rows);
    }
    let mut rows = Vec::new();
    for n in [10, 1000, 20000, 100000] {
        let repo = changelog_repo(n)?;
        let cx = Context::open(repo.root(), None)?;
        let request = ChangelogRequest { target: ReleaseTarget::parse("0.0.0")?, work: ChangelogWork::Check };
        let t = time(|| {
            let outcome = commands::changelog(&cx, &request)?;
            let commands::ChangelogOutcome::Checked { report, .. } = outcome else { anyhow::bail!("not a check") };
            anyhow::ensure!(report.verdict.exit_code() == 0, "{report:#?}");
            Ok(())
        })?;
        rows.push((n, t));
    }
    linear &= report("changelog, sections", &rows);
    println!(
        "{} scaling: {}",
        if linear { "PASS" } else { "FAIL" },
        if linear { "linear" } else { "NON-LINEAR growth" }
    );
    Ok(())
}
