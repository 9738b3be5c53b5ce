//! `smoke`: install the release from each channel and run it (release_core::smoke).

use anyhow::Context as _;
use release_core::{
    ReleaseTarget, Report, duration,
    smoke::{self, Backoff, SmokeOptions},
};

use crate::{
    cli::{Common, SmokeArgs},
    repo_checks::open,
};

pub fn smoke(common: &Common, args: SmokeArgs) -> anyhow::Result<Report> {
    // Everything the command line says is checked before anything is installed (bug 2).
    let target = ReleaseTarget::parse(&args.target)?;
    let channels = match &args.channels {
        Some(csv) => Some(smoke::parse_channels(csv)?),
        None => None,
    };
    let max_wait = duration::parse(&args.max_wait).context("--max-wait")?;
    let backoff = Backoff {
        base: duration::parse(&args.retry_delay).context("--retry-delay")?,
        cap: duration::parse(&args.retry_cap).context("--retry-cap")?,
    };
    let cx = open(common)?;
    let channels = channels.unwrap_or_else(|| smoke::policy_channels(&cx.policy));
    let opts = SmokeOptions { max_wait, backoff, keep_scratch: args.keep_scratch, ..SmokeOptions::new(channels) };
    opts.validate()?;
    if !common.json {
        let names: Vec<&str> = opts.channels.iter().map(|c| c.name()).collect();
        eprintln!(
            "smoke {}: installing from {} (each channel may take up to {})...",
            target.tag(),
            names.join(", "),
            duration::format(max_wait)
        );
    }
    let run = smoke::run(&cx.repo, &cx.policy, &target, &opts, &cx.clock, &cx.env)?;
    if let Some(kept) = &run.kept {
        eprintln!("scratch kept in {kept}");
    }
    Ok(run.report)
}
