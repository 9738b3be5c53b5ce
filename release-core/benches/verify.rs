//! Wall time of `verify` against the fake registry with 200 ms of latency injected into every
//! request: all channels together versus the slowest single channel. Not a test; run with
//! `cargo bench -p release-core --features testing --bench verify`. Results: docs/verify.md.

use std::time::{Duration, Instant};

use release_core::{
    Channel, Context, HttpConfig, ReleaseTarget, TokenSource,
    commands::{self, VerifyOptions, VerifyRequest},
    testing::{FakeRegistry, Fault, FixtureRepo, PublishedRelease, Service, plasmite_manifest},
};

const LATENCY: Duration = Duration::from_millis(200);
const ROUNDS: usize = 3;

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
    for deep in [false, true] {
        let time = |channels: Vec<Channel>, ci: bool| -> anyhow::Result<Duration> {
            let mut times = Vec::new();
            for _ in 0..ROUNDS {
                let options = VerifyOptions { channels: channels.clone(), ci, deep, ..VerifyOptions::default() };
                let started = Instant::now();
                let request =
                    VerifyRequest { target: target.clone(), options, file_blockers: false, http: Default::default() };
                let result = commands::verify(&cx, &request, &mut commands::Silent)?;
                times.push(started.elapsed());
                anyhow::ensure!(
                    result.recorded.report.verdict.exit_code() == 0,
                    "verify did not pass: {:#?}",
                    result.recorded.report
                );
            }
            Ok(median(times))
        };
        println!(
            "verify{} with {} ms per request (median of {ROUNDS}):",
            if deep { " --deep" } else { "" },
            LATENCY.as_millis()
        );
        let mut slowest = ("crates", Duration::ZERO);
        let legs = Channel::VERIFY.iter().map(|&c| (c.name(), vec![c], false)).chain([("ci", vec![], true)]);
        for (name, channels, ci) in legs {
            let t = time(channels, ci)?;
            println!("  {name:<9} {:>6} ms", t.as_millis());
            if t > slowest.1 {
                slowest = (name, t);
            }
        }
        let all = time(Channel::VERIFY.to_vec(), true)?;
        println!("  all channels together: {} ms", all.as_millis());
        println!("  slowest single channel ({}): {} ms", slowest.0, slowest.1.as_millis());
        println!("  ratio all / slowest: {:.2}", all.as_secs_f64() / slowest.1.as_secs_f64());
    }
    Ok(())
}
