//! `bench`: the benchmark gate (release_core::bench).

use release_core::{
    Report,
    bench::{self, BenchOptions, Thresholds},
};

use crate::{
    cli::{BenchArgs, Common},
    repo_checks::open,
};

pub fn bench(common: &Common, args: BenchArgs) -> anyhow::Result<Report> {
    let opts = BenchOptions {
        base_tag: args.base_tag,
        runs: args.runs,
        messages: args.messages,
        thresholds: Thresholds {
            threshold_percent: args.threshold_percent,
            noise_floor: args.noise_floor,
            ..Thresholds::default()
        },
    };
    // Options first: a bad option is a usage error even outside a repository.
    opts.validate()?;
    let cx = open(common)?;
    if !common.json {
        eprintln!("bench: building {} and the candidate, then {} interleaved runs each...", opts.base_tag, opts.runs);
    }
    bench::run(&cx.repo, cx.policy.bench.as_ref(), &opts, &cx.clock)
}
