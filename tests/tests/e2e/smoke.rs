//! `cargo xtask release smoke` end to end, without the internet, against a FakeRegistry the
//! fixture policy's `[endpoints]` point at: a real npm package tarball made with `npm pack` in
//! the test (packument + tarball); a real `.crate` from its sparse index, installed with `cargo
//! install`; and a real wheel from its PEP 503 simple index, installed with `uv tool install`
//! (where uv is installed).

use std::{
    collections::BTreeMap,
    fs,
    os::unix::fs::PermissionsExt,
    path::PathBuf,
    process::Command,
    time::{Duration, Instant},
};

use release_core::testing::{
    FakeRegistry, FixtureRepo, PublishedRelease,
    fake_registry::{NpmVersion, crate_tarball, wheel_bytes, wheel_name},
    plasmite_manifest,
};
use serde_json::{Value, json};
use tests::{Run, release_with_env};

/// A package tarball as `npm pack` made it.
struct Packed {
    version: String,
    tgz: Vec<u8>,
}

/// `npm pack` of a package `plasmite@version` whose `plasmite --version` prints `prints`.
fn pack(version: &str, prints: &str) -> Packed {
    let dir = tempfile::tempdir().unwrap();
    let pkg = json!({"name": "plasmite", "version": version, "bin": {"plasmite": "cli.js"}, "license": "MIT"});
    fs::write(dir.path().join("package.json"), pkg.to_string()).unwrap();
    fs::write(dir.path().join("cli.js"), format!("#!/usr/bin/env node\nconsole.log(\"{prints}\");\n")).unwrap();
    let out = Command::new("npm")
        .args(["pack", "--json", "--silent"])
        .current_dir(dir.path())
        .env("npm_config_cache", dir.path().join(".cache"))
        .output()
        .expect("npm runs");
    assert!(out.status.success(), "npm pack: {}", String::from_utf8_lossy(&out.stderr));
    let info: Value = serde_json::from_slice(&out.stdout).unwrap();
    let info = &info[0];
    let tgz = fs::read(dir.path().join(info["filename"].as_str().unwrap())).unwrap();
    // The fake serves release-core's own SRI of the bytes; it must be npm's.
    assert_eq!(NpmVersion::new(tgz.clone()).integrity, info["integrity"].as_str().unwrap());
    Packed { version: version.to_string(), tgz }
}

/// A FakeRegistry whose npm has exactly `packages` of `plasmite` (`latest`: the last one).
fn registry(packages: &[Packed]) -> FakeRegistry {
    let manifest = plasmite_manifest();
    let mut published = PublishedRelease::coherent(&manifest, "0.8.0").unwrap();
    published.npm = packages
        .iter()
        .map(|p| {
            let mut version = NpmVersion::new(p.tgz.clone());
            version.bin.insert("plasmite".into(), "cli.js".into());
            (p.version.clone(), version)
        })
        .collect();
    let latest = packages.last().map(|p| p.version.clone()).unwrap_or_default();
    published.npm_tags = BTreeMap::from([("latest".to_string(), latest)]);
    FakeRegistry::start(published).unwrap()
}

/// How many npm requests the fake answered.
fn npm_hits(fake: &FakeRegistry) -> usize {
    fake.requests().iter().filter(|l| l.path.starts_with("/npm/")).count()
}

/// A plasmite fixture whose policy's `[endpoints]` point at `fake`.
fn repo(fake: &FakeRegistry) -> FixtureRepo {
    FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build().unwrap()
}

const FAST: [&str; 4] = ["--retry-delay", "100ms", "--retry-cap", "400ms"];

fn smoke(repo: &FixtureRepo, args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut all = vec!["smoke"];
    all.extend_from_slice(args);
    all.extend_from_slice(&FAST);
    all.push("--json");
    release_with_env(repo.root(), &all, env)
}

fn finding(run: &Run, check: &str) -> Value {
    let json = run.json();
    json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == check)
        .unwrap_or_else(|| panic!("no {check} finding:\n{}", run.all()))
        .clone()
}

fn smoke_dirs(repo: &FixtureRepo) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(repo.path(".scratch/release")) else { return Vec::new() };
    entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with("smoke-"))
        .collect()
}

#[test]
fn npm_installs_and_prints_the_exact_version() {
    let reg = registry(&[pack("0.8.0", "plasmite 0.8.0")]);
    let repo = repo(&reg);
    let run = smoke(&repo, &["v0.8.0", "--channels", "npm"], &[]);
    let npm = finding(&run, "smoke.npm");
    assert_eq!(npm["status"], "pass", "{}", run.all());
    assert!(npm["detail"].as_str().unwrap().contains("plasmite 0.8.0"), "{}", run.all());
    assert_eq!(npm["subject"], "npm plasmite@0.8.0");
    // The pnpm leg is always its own finding (bug 29); without pnpm here it is skipped with a reason.
    let pnpm = finding(&run, "smoke.npm.pnpm");
    assert_ne!(pnpm["status"], "fail", "{}", run.all());
    assert_eq!(run.code, 0, "{}", run.all());
    assert!(smoke_dirs(&repo).is_empty(), "scratch is removed by default");
    assert!(npm_hits(&reg) >= 2, "the loopback registry was used");
    // The report is kept in the evidence record of the target, like every report.
    let record = tests::evidence_json(repo.root(), "v0.8.0");
    let entry = record["entries"].as_array().unwrap().iter().find(|e| e["report"]["command"] == "smoke").unwrap();
    assert_eq!(entry["report"]["verdict"], "ready");

    let kept = smoke(&repo, &["v0.8.0", "--channels", "npm", "--keep-scratch"], &[]);
    assert_eq!(kept.code, 0, "{}", kept.all());
    let dirs = smoke_dirs(&repo);
    assert_eq!(dirs.len(), 1, "{dirs:?}");
    let name = dirs[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("smoke-v0.8.0-"), "{name}");
    assert!(kept.stderr.contains(&name), "the kept path is printed: {}", kept.all());
    assert!(dirs[0].join("npm/npm-attempt-1/install.log").is_file());
}

#[test]
fn a_version_that_only_contains_the_target_fails() {
    let reg = registry(&[pack("0.8.0", "plasmite 10.8.0")]);
    let repo = repo(&reg);
    let run = smoke(&repo, &["v0.8.0", "--channels", "npm"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    let npm = finding(&run, "smoke.npm");
    assert_eq!(npm["status"], "fail");
    let detail = npm["detail"].as_str().unwrap();
    assert!(detail.contains("10.8.0") && detail.contains("whole word"), "{detail}");
    let tails: Vec<&str> = npm["evidence"].as_array().unwrap().iter().filter_map(|e| e["tail"].as_str()).collect();
    assert!(tails.iter().any(|t| t.contains("plasmite 10.8.0")), "the output is evidence: {tails:?}");
}

#[test]
fn an_unpublished_version_retries_until_its_own_budget_ends() {
    let reg = registry(&[pack("0.7.2", "plasmite 0.7.2")]);
    let repo = repo(&reg);
    let start = Instant::now();
    // 15s, not less: one npm attempt took 4s beside another smoke test compiling and 10s on a
    // loaded machine, and the test needs room for a second attempt to see the retry.
    let run = smoke(&repo, &["v0.9.0", "--channels", "npm", "--max-wait", "15s"], &[]);
    // Each attempt is a status line on stderr, under --json too.
    let attempts = run.stderr.lines().filter(|l| l.starts_with("  Installing npm v0.9.0 (attempt ")).count();
    assert!(attempts >= 2, "{}", run.all());
    let took = start.elapsed();
    assert_eq!(run.code, 1, "{}", run.all());
    let npm = finding(&run, "smoke.npm");
    assert_eq!(npm["status"], "fail");
    let detail = npm["detail"].as_str().unwrap();
    assert!(detail.contains("still not installable after") && detail.contains("attempts"), "{detail}");
    assert!(!detail.contains("after 1 attempts"), "it retried: {detail}");
    assert!(took >= Duration::from_secs(15), "it used its budget: {took:?}");
    assert!(took < Duration::from_secs(60), "and stopped near it: {took:?}");
    assert!(npm["evidence"][0]["argv"].to_string().contains("plasmite@0.9.0"), "{npm}");
}

/// A folder holding only links to the given tools, to stand in for PATH.
fn path_with(tools: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for tool in tools {
        let found = std::env::split_paths(&std::env::var_os("PATH").unwrap())
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
            .unwrap_or_else(|| panic!("{tool} is on PATH"));
        std::os::unix::fs::symlink(found, dir.path().join(tool)).unwrap();
    }
    dir
}

#[test]
fn a_missing_tool_is_incomplete_and_homebrew_off_macos_is_skipped() {
    // A manifest that ships PyPI here too, or PyPI would be skipped before uv is looked for.
    let repo =
        FixtureRepo::plasmite("0.8.0").file("release/targets.json", manifest_shipping_pypi_here()).build().unwrap();
    let bin = path_with(&["git"]);
    let path = bin.path().to_str().unwrap();
    let run = smoke(&repo, &["v0.8.0", "--channels", "pypi,homebrew,npm"], &[("PATH", path)]);
    assert_eq!(run.code, 3, "{}", run.all());
    let pypi = finding(&run, "smoke.pypi");
    assert_eq!(pypi["status"], "incomplete");
    assert!(pypi["detail"].as_str().unwrap().contains("`uv` is not on PATH"), "{pypi}");
    let npm = finding(&run, "smoke.npm");
    assert_eq!(npm["status"], "incomplete");
    assert!(npm["detail"].as_str().unwrap().contains("`npm` is not on PATH"), "{npm}");
    if !cfg!(target_os = "macos") {
        let brew = finding(&run, "smoke.homebrew");
        assert_eq!(brew["status"], "skipped", "{brew}");
        assert!(brew["reason"].as_str().unwrap().contains("macOS"), "{brew}");
        assert_eq!(brew["subject"], "homebrew sandover/tap/plasmite");
    }
}

#[test]
fn an_unknown_channel_is_a_usage_error_before_anything_runs() {
    let reg = registry(&[pack("0.8.0", "plasmite 0.8.0")]);
    let repo = repo(&reg);
    let run = smoke(&repo, &["v0.8.0", "--channels", "npm,brew"], &[]);
    assert_eq!(run.code, 2, "{}", run.all());
    assert!(run.stderr.contains("unknown channel `brew`"), "{}", run.all());
    assert_eq!(npm_hits(&reg), 0, "nothing was installed");
    assert!(!repo.path(".scratch/release").exists(), "no scratch dir");
    let bad = smoke(&repo, &["v0.8.0", "--channels", "npm", "--max-wait", "20"], &[]);
    assert_eq!(bad.code, 2, "{}", bad.all());
}

#[test]
fn the_pnpm_leg_is_its_own_finding() {
    let reg = registry(&[pack("0.8.0", "plasmite 0.8.0")]);
    let repo = repo(&reg);
    // A pnpm that always fails: the npm leg still passes, and the pnpm failure is not lost.
    let fake = tempfile::tempdir().unwrap();
    let pnpm = fake.path().join("pnpm");
    fs::write(&pnpm, "#!/bin/sh\necho 'ERR_PNPM_FETCH_404 GET plasmite: Not Found - 404' >&2\nexit 1\n").unwrap();
    fs::set_permissions(&pnpm, fs::Permissions::from_mode(0o755)).unwrap();
    let path = std::env::join_paths(
        std::iter::once(fake.path().to_path_buf()).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())),
    )
    .unwrap();
    let path = path.to_str().unwrap();
    let run = smoke(&repo, &["v0.8.0", "--channels", "npm", "--max-wait", "2s"], &[("PATH", path)]);
    assert_eq!(finding(&run, "smoke.npm")["status"], "pass", "{}", run.all());
    let leg = finding(&run, "smoke.npm.pnpm");
    assert_eq!(leg["status"], "fail", "{}", run.all());
    assert!(leg["evidence"][0]["tail"].as_str().unwrap().contains("ERR_PNPM_FETCH_404"), "{leg}");
    assert_eq!(run.code, 1, "{}", run.all());
}

/// A FakeRegistry whose sparse index serves `plasmite` 0.8.0 as a real, buildable `.crate`
/// whose binary prints `prints`, and a fixture whose policy points at it.
fn crates_world(prints: &str) -> (FakeRegistry, FixtureRepo) {
    let manifest = plasmite_manifest();
    let mut published = PublishedRelease::coherent(&manifest, "0.8.0").unwrap();
    published.set_crate("0.8.0", crate_tarball("plasmite", "0.8.0", "plasmite", prints).unwrap());
    let fake = FakeRegistry::start(published).unwrap();
    let repo = repo(&fake);
    (fake, repo)
}

#[test]
fn crates_installs_from_the_sparse_index_and_checks_the_exact_version() {
    let (fake, repo) = crates_world("plasmite 0.8.0");
    let run = smoke(&repo, &["v0.8.0", "--channels", "crates", "--keep-scratch"], &[]);
    let crates = finding(&run, "smoke.crates");
    assert_eq!(crates["status"], "pass", "{}", run.all());
    assert_eq!(crates["subject"], "crates plasmite@0.8.0");
    assert!(crates["detail"].as_str().unwrap().contains("plasmite 0.8.0"), "{crates}");
    assert_eq!(run.code, 0, "{}", run.all());
    // cargo really went through the fake: the index, then the `.crate` download.
    let asked: Vec<String> = fake.requests().into_iter().map(|l| l.path).collect();
    assert!(asked.iter().any(|p| p == "/index/config.json"), "{asked:?}");
    assert!(asked.iter().any(|p| p == "/dl/plasmite/plasmite-0.8.0.crate"), "{asked:?}");
    // The binary ran from the scratch install root, not from anything on PATH (bug 31).
    let dirs = smoke_dirs(&repo);
    assert!(dirs[0].join("crates/cargo-root/bin/plasmite").is_file(), "{dirs:?}");

    let (_fake, repo) = crates_world("plasmite 0.8.01");
    let run = smoke(&repo, &["v0.8.0", "--channels", "crates"], &[]);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(finding(&run, "smoke.crates")["status"], "fail", "{}", run.all());
}

/// Panics, saying so, when `uv` is not on PATH: this test is `#[ignore = "needs uv"]`, so it
/// runs only when asked for (`cargo test -p tests --test e2e -- --ignored`, as .ci/run does
/// after installing uv), and then a missing uv is a failure, never a silent pass
/// (docs/testing.md, "Tests that need a tool").
fn require_uv() {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|d| d.join("uv").is_file());
    let ci = if std::env::var_os("CI").is_some() { " (CI is set: .ci/run installs uv first)" } else { "" };
    assert!(found, "this test needs uv, which is not on PATH{ci}: install it with `python3 -m pip install uv`");
}

#[test]
#[ignore = "needs uv: run with `-- --ignored` (.ci/run does, after installing uv)"]
fn pypi_installs_a_wheel_from_the_simple_index_and_checks_the_exact_version() {
    require_uv();
    let manifest = plasmite_manifest();
    let world = |prints: &str| {
        let mut published = PublishedRelease::coherent(&manifest, "0.8.0").unwrap();
        let wheel = wheel_bytes("plasmite", "0.8.0", "plasmite", prints).unwrap();
        published.set_pypi_wheel("0.8.0", &wheel_name("plasmite", "0.8.0"), wheel);
        let fake = FakeRegistry::start(published).unwrap();
        // plasmite ships no Linux wheel, so its manifest would skip PyPI here: this fixture's
        // manifest ships one for this machine, so the install really runs.
        let repo = FixtureRepo::plasmite("0.8.0")
            .file("release/targets.json", manifest_shipping_pypi_here())
            .append("release/policy.toml", &fake.endpoints_toml())
            .build()
            .unwrap();
        (fake, repo)
    };
    // A managed Python download would need the internet; the machine's own is used.
    let env = [("UV_PYTHON_DOWNLOADS", "never"), ("UV_NO_CONFIG", "1")];
    let (fake, repo) = world("plasmite 0.8.0");
    let run = smoke(&repo, &["v0.8.0", "--channels", "pypi"], &env);
    let pypi = finding(&run, "smoke.pypi");
    assert_eq!(pypi["status"], "pass", "{}", run.all());
    assert_eq!(pypi["subject"], "pypi plasmite==0.8.0");
    assert_eq!(run.code, 0, "{}", run.all());
    let asked: Vec<String> = fake.requests().into_iter().map(|l| l.path).collect();
    assert!(asked.iter().any(|p| p.starts_with("/pypi/simple/plasmite/")), "{asked:?}");
    assert!(asked.iter().any(|p| p.ends_with("-py3-none-any.whl")), "{asked:?}");

    // `0.8.0` inside `10.8.0` is not the version (bug 31).
    let (_fake, repo) = world("plasmite 10.8.0");
    let run = smoke(&repo, &["v0.8.0", "--channels", "pypi"], &env);
    assert_eq!(run.code, 1, "{}", run.all());
    assert_eq!(finding(&run, "smoke.pypi")["status"], "fail", "{}", run.all());
}

/// plasmite's targets manifest, with every target in the PyPI channel (as a project that
/// ships wheels for every platform would have it).
fn manifest_shipping_pypi_here() -> String {
    let mut manifest: Value = serde_json::from_str(&release_core::testing::targets_json()).unwrap();
    for target in manifest["targets"].as_array_mut().unwrap() {
        target["channels"]["pypi"] = "official".into();
        target["upload_wheel"] = true.into();
    }
    serde_json::to_string_pretty(&manifest).unwrap()
}

/// The path of the log file a finding points to (its `file` evidence).
fn log_of(finding: &Value) -> String {
    finding["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["path"].as_str())
        .find(|p| p.ends_with(".log"))
        .unwrap_or_else(|| panic!("no log file in the evidence: {finding:#}"))
        .to_string()
}

/// plasmite publishes no Linux wheel: on Linux x86-64 the PyPI leg is skipped with that reason
/// (uv would build the sdist and fail), whether or not uv is installed.
#[test]
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
fn pypi_is_skipped_where_the_manifest_ships_no_wheel() {
    let repo = FixtureRepo::plasmite("0.8.0").build().unwrap();
    let bin = path_with(&["git"]);
    let run = smoke(&repo, &["v0.8.0", "--channels", "pypi"], &[("PATH", bin.path().to_str().unwrap())]);
    let pypi = finding(&run, "smoke.pypi");
    assert_eq!(pypi["status"], "skipped", "{}", run.all());
    let reason = pypi["reason"].as_str().unwrap();
    assert!(reason.contains("release/targets.json") && reason.contains("no pypi artifact for linux_amd64"), "{reason}");
    assert!(!reason.contains("`uv` is not on PATH"), "the manifest decides before the tool is looked for: {reason}");
}

/// The repository's own `rust-toolchain.toml` names a toolchain that does not exist: a user's
/// `cargo install` outside the repository never sees it, and neither does the smoke's, whether
/// rustup handed that toolchain down to `cargo xtask` or not.
#[test]
fn crates_installs_outside_the_repository_and_its_toolchain_pin() {
    let (_fake, repo) = crates_world("plasmite 0.8.0");
    repo.write("rust-toolchain.toml", "[toolchain]\nchannel = \"0.0.1-nonexistent\"\n").unwrap();
    repo.write(".cargo/config.toml", "[build]\nrustflags = [\"--this-flag-does-not-exist\"]\n").unwrap();
    repo.commit("A toolchain and a build configuration of the repository's own").unwrap();
    let args = ["smoke", "v0.8.0", "--channels", "crates", "--json"];
    // As `cargo xtask` in this repository would start it: rustup picked the pinned toolchain.
    let mut pinned = tests::release_command(repo.root(), &args);
    pinned.env("RUSTUP_TOOLCHAIN", "0.0.1-nonexistent").env("RUSTUP_TOOLCHAIN_SOURCE", "toolchain-file");
    // And run directly, with no rustup variables at all.
    let mut direct = tests::release_command(repo.root(), &args);
    direct.env_remove("RUSTUP_TOOLCHAIN").env_remove("RUSTUP_TOOLCHAIN_SOURCE");
    for (name, mut cmd) in [("pinned", pinned), ("direct", direct)] {
        let out = cmd.output().unwrap();
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        let crates = finding(&run, "smoke.crates");
        assert_eq!(crates["status"], "pass", "{name}: {}", run.all());
        let log = log_of(&crates);
        assert!(log.starts_with(".scratch/release/logs/smoke-v0.8.0-"), "{log}");
        assert!(repo.path(&log).is_file(), "the log the finding points to still exists: {log}");
        let unpinned = crates.to_string().contains("RUSTUP_TOOLCHAIN came from the repository");
        assert_eq!(unpinned, name == "pinned", "{name}: {crates:#}");
    }
    assert!(smoke_dirs(&repo).is_empty(), "nothing was installed inside the repository");
}

/// A package that does not build fails at the first attempt, with the compiler's words and
/// the log, on a manual clock that never sleeps: not twenty minutes of retries.
#[test]
fn a_build_error_is_not_retried() {
    let (_fake, repo) = crates_world("plasmite 0.8.0\"); compile_error!(\"the published crate is broken");
    let cx = release_core::Context::open(repo.root(), None).unwrap();
    let clock = release_core::Clock::manual(std::time::UNIX_EPOCH);
    let release_core::Clock::Manual(manual) = clock.clone() else { unreachable!() };
    let cx = cx.with_clock(clock);
    let request = release_core::commands::SmokeRequest {
        target: release_core::ReleaseTarget::parse("v0.8.0").unwrap(),
        channels: Some(vec![release_core::Channel::Crates]),
        max_wait: Duration::from_secs(20 * 60),
        backoff: release_core::commands::Backoff::default(),
        keep_scratch: false,
    };
    let start = Instant::now();
    let outcome = release_core::commands::smoke(&cx, &request, &mut release_core::commands::Silent).unwrap();
    let report = serde_json::to_value(&outcome.recorded.report).unwrap();
    let crates = report["findings"].as_array().unwrap().iter().find(|f| f["check"] == "smoke.crates").unwrap().clone();
    assert_eq!(crates["status"], "fail", "{crates:#}");
    let detail = crates["detail"].as_str().unwrap();
    assert!(detail.contains("does not build") && detail.contains("not retried"), "{detail}");
    assert!(manual.sleeps().is_empty(), "no retry, so no sleep: {:?}", manual.sleeps());
    assert!(crates.to_string().contains("the published crate is broken"), "the compiler's words: {crates:#}");
    let log = log_of(&crates);
    assert!(repo.path(&log).is_file(), "{log}");
    assert!(std::fs::read_to_string(repo.path(&log)).unwrap().contains("could not compile"), "{log}");
    assert!(start.elapsed() < Duration::from_secs(120), "{:?}", start.elapsed());
}

/// A package the registry does not have at all (a 404 for the whole package) fails at once,
/// not after the whole budget.
#[test]
fn a_package_the_registry_does_not_have_fails_at_once() {
    let reg = registry(&[pack("0.8.0", "plasmite 0.8.0")]);
    let repo = FixtureRepo::plasmite("0.8.0")
        .replace(
            "release/policy.toml",
            "[channel.npm]\npackage = \"plasmite\"",
            "[channel.npm]\npackage = \"plasmite-typo\"",
        )
        .append("release/policy.toml", &reg.endpoints_toml())
        .build()
        .unwrap();
    let start = Instant::now();
    let run = smoke(&repo, &["v0.8.0", "--channels", "npm", "--max-wait", "10m"], &[]);
    assert!(start.elapsed() < Duration::from_secs(120), "stopped at once: {:?}", start.elapsed());
    let npm = finding(&run, "smoke.npm");
    assert_eq!(npm["status"], "fail", "{}", run.all());
    let detail = npm["detail"].as_str().unwrap();
    assert!(detail.contains("no such package") && detail.contains("not retried"), "{detail}");
    assert!(repo.path(&log_of(&npm)).is_file(), "{npm:#}");
}
