//! Fault injection: for every service, timeouts, refused connections, 500, 429 with
//! `Retry-After`, truncated, garbage, oversized and gzip-bomb bodies and redirect loops each end as
//! `Incomplete` (never `Pass`, never a panic), within the configured time bound. And no token
//! ever reaches the output.

use std::time::{Duration, Instant};

use release_core::{
    Channel, Context, HttpConfig, Outcome, ReleaseTarget, TokenSource,
    commands::{self, VerifyOptions, VerifyRequest},
    testing::{FakeRegistry, Fault, FixtureRepo, PublishedRelease, Service, closed_port_url, plasmite_manifest},
};
use tests::release_with_env;

fn fast() -> HttpConfig {
    HttpConfig {
        connect_timeout: Duration::from_millis(500),
        request_timeout: Duration::from_millis(500),
        retries: 1,
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(300),
        max_body: 64 * 1024,
        max_download: 64 * 1024,
        ..HttpConfig::default()
    }
}

fn faults() -> Vec<(&'static str, Option<Fault>)> {
    vec![
        ("timeout", Some(Fault::Delay(Duration::from_secs(3)))),
        ("refused", None),
        ("500", Some(Fault::Status(500))),
        ("429 retry-after", Some(Fault::RetryAfter(30))),
        ("truncated", Some(Fault::Truncated)),
        ("garbage", Some(Fault::Garbage)),
        ("oversized", Some(Fault::Oversized(256 * 1024))),
        // 32 MiB of zeros in about 32 KiB on the wire: under the caps as sent, far over them decoded.
        ("gzip bomb", Some(Fault::GzipBomb(32 * 1024 * 1024))),
        ("redirect loop", Some(Fault::RedirectLoop)),
        ("rate limited", Some(Fault::RateLimited)),
    ]
}

/// The channels that read a service, whether CI does, and whether they need --deep to reach it.
fn channels_of(service: Service) -> (Vec<Channel>, bool, bool) {
    match service {
        Service::CratesIndex => (vec![Channel::Crates], false, false),
        Service::CratesDownload => (vec![Channel::Crates], false, true),
        Service::Npm => (vec![Channel::Npm], false, false),
        Service::Pypi => (vec![Channel::Pypi], false, false),
        Service::GithubApi => (vec![Channel::Github, Channel::Homebrew], true, false),
        Service::GithubWeb | Service::AssetHost => (vec![Channel::Github, Channel::Homebrew], false, false),
    }
}

fn case(service: Service, name: &str, fault: Option<Fault>) -> Result<(), String> {
    let manifest = plasmite_manifest();
    let fake = FakeRegistry::start(PublishedRelease::coherent(&manifest, "0.8.0").map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    let dead = closed_port_url();
    let endpoints = match &fault {
        Some(f) => {
            fake.fault(service, f.clone());
            fake.endpoints_toml()
        }
        None => fake.endpoints_toml_with(&[(service, Some(&dead))]),
    };
    let repo =
        FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &endpoints).build().map_err(|e| e.to_string())?;
    let cx = Context::open(repo.root(), None).map_err(|e| e.to_string())?.with_http(fast(), TokenSource::Fixed(None));
    let (channels, ci, deep) = channels_of(service);
    let target = ReleaseTarget::parse("0.8.0").map_err(|e| e.to_string())?;
    let started = Instant::now();
    let request = VerifyRequest {
        target: target.clone(),
        options: VerifyOptions { channels, ci, deep, ..VerifyOptions::default() },
        file_blockers: false,
        http: Default::default(),
    };
    let result = commands::verify(&cx, &request, &mut commands::Silent).map_err(|e| format!("{e:#}"))?;
    let elapsed = started.elapsed();
    let findings = &result.recorded.report.findings;
    let label = format!("{service:?} / {name}");
    if elapsed > Duration::from_secs(12) {
        return Err(format!("{label}: took {elapsed:?}"));
    }
    if findings.iter().any(|f| f.outcome == Outcome::Fail) {
        return Err(format!("{label}: a fault must not read as a failure: {findings:#?}"));
    }
    if !findings.iter().any(|f| f.outcome == Outcome::Incomplete) {
        return Err(format!("{label}: expected an incomplete finding: {findings:#?}"));
    }
    if result.recorded.report.verdict.exit_code() != 3 {
        return Err(format!("{label}: verdict {:?}", result.recorded.report.verdict));
    }
    Ok(())
}

#[test]
fn every_fault_on_every_service_is_incomplete_within_the_bound() {
    let services = Service::ALL;
    let mut cases = Vec::new();
    for service in services {
        for (name, fault) in faults() {
            // The web and asset hosts are reached through URLs GitHub hands out, not through
            // the policy, so "refused" is exercised on the services the policy names.
            if fault.is_none() && service.endpoint_key().is_none_or(|k| k == "github_web") {
                continue;
            }
            cases.push((service, name, fault));
        }
    }
    // A few cases at a time: every case waits on timeouts, and 55 at once on a small CI
    // machine starve the fake's threads until a healthy answer misses its deadline too.
    let queue = std::sync::Mutex::new(cases);
    let errors: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let mut errors = Vec::new();
                    while let Some((service, name, fault)) = queue.lock().map_or(None, |mut q| q.pop()) {
                        if let Err(e) = case(service, name, fault) {
                            errors.push(e);
                        }
                    }
                    errors
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|_| vec!["a worker panicked".into()])).collect()
    });
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
}

/// The files whose bodies are faulted one at a time: (what, service, path suffix).
const FILES: [(&str, Service, &str); 3] = [
    ("download", Service::AssetHost, "_linux_amd64.tar.gz"),
    ("sums file", Service::AssetHost, "sha256sums.txt"),
    ("formula", Service::GithubApi, "Formula/plasmite.rb"),
];

/// The body faults: a body we could not read (cut off, cut short, empty, garbage, over the
/// cap) decides nothing, so each is `Incomplete`, never `Fail` and never `Pass`.
fn body_faults() -> Vec<(&'static str, Fault)> {
    vec![
        ("truncated in transit", Fault::Truncated),
        ("cut short, announced whole", Fault::Cut),
        ("garbage", Fault::Garbage),
        ("empty", Fault::Empty),
        ("oversized", Fault::Oversized(256 * 1024)),
    ]
}

fn body_case(file: &str, service: Service, suffix: &str, name: &str, fault: Fault) -> Result<(), String> {
    let label = format!("{file} / {name}");
    let manifest = plasmite_manifest();
    let fake = FakeRegistry::start(PublishedRelease::coherent(&manifest, "0.8.0").map_err(|e| e.to_string())?)
        .map_err(|e| e.to_string())?;
    fake.fault_path(service, suffix, fault);
    let repo = FixtureRepo::plasmite("0.8.0")
        .append("release/policy.toml", &fake.endpoints_toml())
        .build()
        .map_err(|e| e.to_string())?;
    let cx = Context::open(repo.root(), None).map_err(|e| e.to_string())?.with_http(fast(), TokenSource::Fixed(None));
    let request = VerifyRequest {
        target: ReleaseTarget::parse("0.8.0").map_err(|e| e.to_string())?,
        options: VerifyOptions {
            channels: vec![Channel::Github, Channel::Homebrew],
            deep: true,
            ..VerifyOptions::default()
        },
        file_blockers: false,
        http: Default::default(),
    };
    let result = commands::verify(&cx, &request, &mut commands::Silent).map_err(|e| format!("{label}: {e:#}"))?;
    let findings = &result.recorded.report.findings;
    if let Some(f) = findings.iter().find(|f| f.outcome == Outcome::Fail) {
        return Err(format!("{label}: a body we could not read must not read as a failure: {f:#?}"));
    }
    if result.recorded.report.verdict.exit_code() != 3 {
        return Err(format!("{label}: verdict {:?}: {findings:#?}", result.recorded.report.verdict));
    }
    Ok(())
}

#[test]
fn every_body_fault_on_downloads_the_sums_file_and_the_formula_is_incomplete() {
    let cases: Vec<_> = FILES
        .iter()
        .flat_map(|(file, service, suffix)| {
            body_faults().into_iter().map(move |(name, fault)| (*file, *service, *suffix, name, fault))
        })
        .collect();
    let queue = std::sync::Mutex::new(cases);
    let errors: Vec<String> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..4)
            .map(|_| {
                s.spawn(|| {
                    let mut errors = Vec::new();
                    while let Some((file, service, suffix, name, fault)) = queue.lock().map_or(None, |mut q| q.pop()) {
                        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                            body_case(file, service, suffix, name, fault)
                        }));
                        match outcome {
                            Ok(Ok(())) => {}
                            Ok(Err(e)) => errors.push(e),
                            Err(_) => errors.push(format!("{file} / {name}: panicked")),
                        }
                    }
                    errors
                })
            })
            .collect();
        workers.into_iter().flat_map(|w| w.join().unwrap_or_else(|_| vec!["a worker panicked".into()])).collect()
    });
    assert!(errors.is_empty(), "{} case(s):\n{}", errors.len(), errors.join("\n\n"));
}

const CANARY: &str = "ghp_CANARY0123456789abcdefCANARY";

#[test]
fn the_token_never_appears_in_output_json_or_errors() {
    let manifest = plasmite_manifest();
    let fake = FakeRegistry::start(PublishedRelease::coherent(&manifest, "0.8.0").unwrap()).unwrap();
    let repo = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build().unwrap();
    let env = [("GH_TOKEN", CANARY)];
    let args = ["--http-timeout", "1s", "--http-retries", "0"];
    let run = |extra: &[&str]| {
        let mut a = vec!["verify", "v0.8.0"];
        a.extend_from_slice(extra);
        a.extend_from_slice(&args);
        release_with_env(repo.root(), &a, &env)
    };
    // A coherent run: the asset host refuses any Authorization, so passing proves the token
    // was not forwarded across the download redirect.
    let ok = run(&["--deep"]);
    assert_eq!(ok.code, 0, "{}", ok.all());
    let mut outputs = vec![ok.all(), run(&["--json"]).all()];
    for fault in [Fault::Status(500), Fault::Garbage, Fault::RedirectLoop, Fault::Status(401)] {
        fake.fault(Service::GithubApi, fault.clone());
        fake.fault(Service::AssetHost, fault);
        outputs.push(run(&[]).all());
        outputs.push(run(&["--json"]).all());
    }
    fake.clear_faults();
    outputs.push(release_with_env(repo.root(), &["verify", "v0.8.0", "--channels", "nope"], &env).all());
    // The evidence record keeps every report: it must not keep the token either.
    for name in ["evidence-v0.8.0.json", "evidence-v0.8.0.md"] {
        outputs.push(std::fs::read_to_string(repo.path(&format!(".scratch/release/{name}"))).unwrap());
    }
    for out in &outputs {
        assert!(!out.contains(CANARY) && !out.contains("CANARY"), "token leaked:\n{out}");
    }
    let sent: Vec<_> = fake.requests().into_iter().filter(|r| r.authorization.is_some()).collect();
    assert!(!sent.is_empty(), "the token should be sent to the GitHub API");
    assert!(sent.iter().all(|r| r.path.starts_with("/gh-api/")), "token sent outside the API: {sent:#?}");
}
