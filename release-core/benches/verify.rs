//! Requests and wall time of `verify` against the fake registry with 200 ms of latency injected
//! into every response, shallow and `--deep`, on a plasmite-shaped release: how many requests
//! a run sends (total and distinct), and its wall time against the longest chain of requests
//! that need each other's answers. Prints a PASS or FAIL line for each promise (every request
//! distinct; wall within 1.2x of the chain). Not a test; run with
//! `cargo bench -p release-core --features testing --bench verify`. Results: docs/verify.md.

use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};

use release_core::{
    Context, HttpConfig, ReleaseTarget, TokenSource,
    commands::{self, VerifyOptions, VerifyRequest},
    testing::{FakeRegistry, Fault, FixtureRepo, PublishedRelease, Service, plasmite_manifest},
};

const LATENCY: Duration = Duration::from_millis(200);
const ROUNDS: usize = 3;

/// The longest chain of requests that each need the previous one's answer, the same shallow and
/// `--deep`: the GitHub release by tag, then a download (the sums file; with `--deep` also each
/// archive) on the web host, then the asset host it redirects to. CI's chain (tag ref, the
/// annotated tag object, the workflow runs) is as long; every other channel's is shorter.
const CHAIN: u32 = 3;

/// When each request started, from the run's start.
struct Timeline(Instant, Vec<(Duration, String)>);

impl commands::Observer for Timeline {
    fn progress(&mut self, event: &commands::Progress) {
        if let commands::Progress::Request { url, .. } = event {
            self.1.push((self.0.elapsed(), url.clone()));
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() -> anyhow::Result<()> {
    let manifest = plasmite_manifest();
    let fake = FakeRegistry::start(PublishedRelease::coherent(&manifest, "0.8.0")?)?;
    for s in Service::ALL {
        fake.fault(s, Fault::Delay(LATENCY));
    }
    let repo = FixtureRepo::plasmite("0.8.0").append("release/policy.toml", &fake.endpoints_toml()).build()?;
    let cx = Context::open(repo.root(), None)?.with_http(HttpConfig::default(), TokenSource::Fixed(None));
    let target = ReleaseTarget::parse("0.8.0")?;
    let mut failed = false;
    for deep in [false, true] {
        let mut times = Vec::new();
        let mut counts = BTreeSet::new();
        for _ in 0..ROUNDS {
            let before = fake.requests().len();
            let options = VerifyOptions { deep, ..VerifyOptions::default() };
            let request =
                VerifyRequest { target: target.clone(), options, file_blockers: false, http: Default::default() };
            let started = Instant::now();
            let mut timeline = Timeline(started, Vec::new());
            let result = commands::verify(&cx, &request, &mut timeline)?;
            // `BENCH_TIMELINE=1`: when each request started, to see what waited on what.
            if std::env::var_os("BENCH_TIMELINE").is_some() {
                for (at, url) in &timeline.1 {
                    println!("    {:>5} ms {url}", at.as_millis());
                }
                println!("    done {} ms", started.elapsed().as_millis());
            }
            times.push(started.elapsed());
            anyhow::ensure!(
                result.recorded.report.verdict.exit_code() == 0,
                "verify did not pass: {:#?}",
                result.recorded.report
            );
            let log = &fake.requests()[before..];
            let distinct: BTreeSet<(&str, &str)> = log.iter().map(|l| (l.method.as_str(), l.path.as_str())).collect();
            counts.insert((log.len(), distinct.len()));
        }
        let wall = median(times);
        let chain = LATENCY * CHAIN;
        let name = if deep { "verify --deep" } else { "verify" };
        println!("{name} with {} ms per response (median of {ROUNDS}):", LATENCY.as_millis());
        for (total, distinct) in &counts {
            println!("  requests: {total} total, {distinct} distinct");
        }
        println!("  wall time: {} ms", wall.as_millis());
        println!("  longest chain: {CHAIN} requests x {} ms = {} ms", LATENCY.as_millis(), chain.as_millis());
        println!("  wall / chain: {:.2}", wall.as_secs_f64() / chain.as_secs_f64());
        let all_distinct = counts.iter().all(|(total, distinct)| total == distinct);
        let within = wall.as_secs_f64() <= 1.2 * chain.as_secs_f64();
        for (ok, promise) in [(all_distinct, "distinct = total"), (within, "wall <= 1.2 x chain")] {
            println!("  {} {name}: {promise}", if ok { "PASS" } else { "FAIL" });
            failed |= !ok;
        }
    }
    if failed {
        println!("FAIL: a promise of docs/verify.md does not hold");
    }
    Ok(())
}
