//! Progress on stderr: cargo-style status lines for `verify` (each leg, each `--wait` round
//! with what is still missing, HTTP retries), none with `-q`, each request with `-v`; stdout
//! stays the JSON alone under `--json`. Waits run on a manual clock (no real sleeping).

use release_core::testing::{
    FakeRegistry, Fault, FixtureRepo, PublishedRelease, Service, fake_registry::CrateVersion, plasmite_manifest,
    sha256_hex,
};
use tests::{Run, release_with_env};

/// A release whose crate is missing from the index until the index's third request: it
/// appears after two rounds of `verify --wait`.
fn late_crate() -> (FixtureRepo, FakeRegistry) {
    let mut published = PublishedRelease::coherent(&plasmite_manifest(), "0.8.0").unwrap();
    published.crates.retain(|c| c.vers != "0.8.0");
    let fake = FakeRegistry::start(published).unwrap();
    fake.change_at_request("/pl/as/plasmite", 3, |r| {
        let bytes = b"crate 0.8.0".to_vec();
        r.crates.push(CrateVersion { vers: "0.8.0".into(), cksum: sha256_hex(&bytes), bytes, yanked: false });
    });
    let repo = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build().unwrap();
    (repo, fake)
}

fn verify(repo: &FixtureRepo, extra: &[&str]) -> Run {
    let mut args = vec!["verify", "v0.8.0", "--channels", "crates,npm", "--http-timeout", "2s", "--http-retries", "0"];
    args.extend_from_slice(extra);
    release_with_env(repo.root(), &args, &[("RELEASE_CORE_MANUAL_CLOCK", "1")])
}

/// The status lines of a run: stderr lines whose verb is right-aligned in 12 columns.
fn status_lines(run: &Run) -> Vec<&str> {
    run.stderr.lines().filter(|l| l.len() > 13 && l.as_bytes()[12] == b' ' && l.starts_with(' ')).collect()
}

#[test]
fn wait_says_each_round_and_what_is_still_missing() {
    let (repo, fake) = late_crate();
    let real = std::time::Instant::now();
    let run = verify(&repo, &["--wait", "1m", "--json"]);
    assert_eq!(run.code, 0, "{}", run.all());
    // stdout is the JSON alone.
    assert_eq!(run.json()["rounds"], 3, "{}", run.all());
    let lines = status_lines(&run);
    assert!(lines.contains(&"   Verifying crates v0.8.0"), "{}", run.all());
    assert!(lines.contains(&"   Verifying npm v0.8.0"), "{}", run.all());
    let waits: Vec<&&str> = lines.iter().filter(|l| l.trim_start().starts_with("Waiting")).collect();
    assert_eq!(waits.len(), 2, "{}", run.all());
    assert_eq!(*waits[0], "     Waiting 5s then round 2: crates still missing (0ms elapsed of 1m)", "{}", run.all());
    assert!(waits[1].starts_with("     Waiting 10s then round 3: crates still missing (5s"), "{}", run.all());
    // npm passed in round 1: only crates was asked again.
    assert_eq!(fake.requests().iter().filter(|r| r.path.ends_with("/pl/as/plasmite")).count(), 3);
    assert!(real.elapsed() < std::time::Duration::from_secs(15), "no real waiting: {:?}", real.elapsed());
    // No request lines without -v.
    assert!(!run.stderr.contains("Fetching"), "{}", run.all());
}

#[test]
fn quiet_prints_no_status_lines_and_verbose_shows_each_request() {
    let (repo, fake) = late_crate();
    let quiet = verify(&repo, &["--wait", "1m", "-q"]);
    assert_eq!(quiet.code, 0, "{}", quiet.all());
    assert!(status_lines(&quiet).is_empty(), "{}", quiet.all());
    assert!(quiet.stdout.contains("verify v0.8.0: ready"), "the report still prints: {}", quiet.all());

    let verbose = verify(&repo, &["--verbose"]);
    assert_eq!(verbose.code, 0, "{}", verbose.all());
    let index = format!("    Fetching GET {}/pl/as/plasmite", fake.url(Service::CratesIndex));
    assert!(status_lines(&verbose).contains(&index.as_str()), "{}", verbose.all());
    assert!(verbose.stderr.contains("   Verifying crates v0.8.0"), "{}", verbose.all());
    assert!(verify(&repo, &["-q", "-v"]).code == 2, "-q and -v contradict each other");
}

#[test]
fn http_retries_are_said_with_the_status_and_the_attempt() {
    let (repo, fake) = late_crate();
    fake.fault(Service::Npm, Fault::Status(503));
    let args = ["verify", "v0.8.0", "--channels", "npm", "--http-timeout", "2s", "--http-retries", "2", "--json"];
    let run = release_with_env(repo.root(), &args, &[("RELEASE_CORE_MANUAL_CLOCK", "1")]);
    assert_eq!(run.code, 3, "{}", run.all());
    run.json();
    let npm = fake.url(Service::Npm);
    let retries: Vec<&str> = status_lines(&run).into_iter().filter(|l| l.contains("Retrying GET")).collect();
    assert!(!retries.is_empty(), "{}", run.all());
    assert!(
        retries
            .iter()
            .any(|l| l.starts_with(&format!("    Retrying GET {npm}/")) && l.contains("(503, attempt 2/3 in ")),
        "{}",
        run.all()
    );
    assert!(retries.iter().any(|l| l.contains("(503, attempt 3/3 in ")), "{}", run.all());
    let quiet = release_with_env(repo.root(), &[&args[..], &["-q"]].concat(), &[("RELEASE_CORE_MANUAL_CLOCK", "1")]);
    assert!(!quiet.stderr.contains("Retrying"), "{}", quiet.all());
}
