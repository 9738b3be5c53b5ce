//! Peak memory under hostile input: `verify --deep` against a fake registry whose npm and
//! crate-download services send a gzip bomb (1 GiB decoded) and whose release assets are 100 MB
//! each, and a gate printing 1 GiB without a newline. Each scenario runs in a child process
//! (this binary again) that reports its own peak resident set (`VmHWM`); the fake server, which
//! holds the 100 MB assets, stays in the parent and is not counted. Each must stay under 64 MB.
//! Not a test; run with `cargo bench -p release-core --bench memory`. Results: docs/faults.md.

use std::{process::Command, time::Instant};

use camino::Utf8PathBuf;
use release_core::{
    Context, HttpConfig, Policy, ReleaseTarget, Repo, TokenSource,
    commands::{self, QaRequest, Silent, VerifyOptions, VerifyRequest},
    testing::{FakeRegistry, Fault, FixtureRepo, PublishedRelease, Service, plasmite_manifest, sha256_hex},
};

const LIMIT_MB: f64 = 64.0;
const BOMB: u64 = 1024 * 1024 * 1024;
const ASSET: usize = 100 * 1000 * 1000;
const GATE_BYTES: u64 = 1024 * 1024 * 1024;
const CHILD: &str = "RELEASE_CORE_MEMORY_BENCH_CHILD";

/// This process's peak resident set in MB, from `/proc/self/status`.
fn peak_mb() -> anyhow::Result<f64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no VmHWM in /proc/self/status"))?;
    Ok(kb / 1024.0)
}

fn child_verify(root: &str) -> anyhow::Result<String> {
    let cx = Context::open(&Utf8PathBuf::from(root), None)?.with_http(HttpConfig::default(), TokenSource::Fixed(None));
    let request = VerifyRequest {
        target: ReleaseTarget::parse("0.8.0")?,
        options: VerifyOptions { deep: true, ..VerifyOptions::default() },
        file_blockers: false,
        http: Default::default(),
    };
    let report = commands::verify(&cx, &request, &mut commands::Silent)?.recorded.report;
    let of = |o: &str| -> Vec<&str> {
        report.findings.iter().filter(|f| f.outcome.word() == o).map(|f| f.subject.as_str()).collect()
    };
    Ok(format!(
        "verdict exit {}; FAIL: {:?}; INCOMPLETE: {:?}",
        report.verdict.exit_code(),
        of("FAIL"),
        of("INCOMPLETE")
    ))
}

fn child_gate(root: &str) -> anyhow::Result<String> {
    let root = Utf8PathBuf::from(root);
    let repo = Repo::discover(&root)?;
    let text = std::fs::read_to_string(root.join("release/policy.toml"))?;
    let policy = Policy::parse(&root.join("release/policy.toml"), &text)?;
    let cx =
        Context::new(repo, policy, HttpConfig::default(), TokenSource::Fixed(None), release_core::Env::from_process());
    let request =
        QaRequest { target: Some(ReleaseTarget::parse("v0.8.0")?), only: vec!["loud".into()], ..QaRequest::default() };
    let report = commands::qa(&cx, &request, &mut Silent)?.report;
    Ok(format!("verdict exit {}", report.verdict.exit_code()))
}

/// Runs one scenario in a child; returns its peak in MB and what it said.
fn in_child(scenario: &str, root: &str) -> anyhow::Result<(f64, String, f64)> {
    let started = Instant::now();
    let out = Command::new(std::env::current_exe()?).env(CHILD, scenario).arg(root).output()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    anyhow::ensure!(out.status.success(), "{scenario}: {text}{}", String::from_utf8_lossy(&out.stderr));
    let (peak, said) = text.trim().split_once(' ').ok_or_else(|| anyhow::anyhow!("{scenario}: {text}"))?;
    Ok((peak.parse()?, said.to_string(), started.elapsed().as_secs_f64()))
}

fn main() -> anyhow::Result<()> {
    if let Ok(scenario) = std::env::var(CHILD) {
        let root = std::env::args().nth(1).unwrap_or_default();
        let said = match scenario.as_str() {
            "verify" => child_verify(&root)?,
            _ => child_gate(&root)?,
        };
        println!("{:.1} {said}", peak_mb()?);
        return Ok(());
    }
    let manifest = plasmite_manifest();
    let mut release = PublishedRelease::coherent(&manifest, "0.8.0")?;
    for (i, asset) in release.assets.iter_mut().filter(|a| a.name.ends_with(".tar.gz")).enumerate() {
        asset.bytes = (0..ASSET).map(|j| (j as u8).wrapping_mul(31).wrapping_add(i as u8)).collect();
        asset.digest = Some(format!("sha256:{}", sha256_hex(&asset.bytes)));
    }
    let fake = FakeRegistry::start(release)?;
    fake.fault(Service::Npm, Fault::GzipBomb(BOMB));
    fake.fault(Service::CratesDownload, Fault::GzipBomb(BOMB));
    let repo = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build()?;
    let (verify_mb, verify_said, verify_s) = in_child("verify", repo.root().as_str())?;

    let script = format!("head -c {GATE_BYTES} /dev/zero | tr '\\0' x");
    let gate = format!("\n[[gate]]\nid = \"loud\"\nrun = [\"sh\", \"-c\", {script:?}]\n");
    let loud = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &gate).build()?;
    let (gate_mb, gate_said, gate_s) = in_child("gate", loud.root().as_str())?;

    println!("peak resident memory (VmHWM of the process doing the work), limit {LIMIT_MB} MB:");
    println!(
        "  verify --deep, gzip bomb (1 GiB decoded) on npm and crate downloads, 100 MB assets: {verify_mb:6.1} MB ({verify_said}; {verify_s:.1} s)"
    );
    println!(
        "  gate printing 1 GiB without a newline:                                          {gate_mb:6.1} MB ({gate_said}; {gate_s:.1} s)"
    );
    anyhow::ensure!(verify_mb < LIMIT_MB && gate_mb < LIMIT_MB, "over {LIMIT_MB} MB");
    Ok(())
}
