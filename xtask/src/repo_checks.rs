//! `versions`, `changelog` and `targets`: the checks that read the repository.

use anyhow::{Context as _, bail};
use camino::Utf8Path;
use release_core::{
    Context, Finding, ReleaseTarget, Report, changelog,
    clock::Date,
    fsutil, targets,
    targets::{Manifest, Tier},
    versions,
};

use crate::{
    cli::{ChangelogArgs, Common, TargetsArgs, VersionsArgs},
    render,
};

/// Opens the repository and policy named by the common options.
pub fn open(common: &Common) -> anyhow::Result<Context> {
    let dir = common.repo.as_deref().unwrap_or(Utf8Path::new("."));
    Context::open(dir, common.policy.as_deref())
}

pub fn versions(common: &Common, args: VersionsArgs) -> anyhow::Result<u8> {
    let cx = open(common)?;
    let report = match args.set {
        Some(version) => {
            let target = ReleaseTarget::parse(&version)?;
            let changes = versions::bump(&cx.repo, &cx.policy, &target)?;
            if !common.json {
                for change in &changes {
                    let pairs: Vec<String> = change.replaced.iter().map(|(a, b)| format!("{a} -> {b}")).collect();
                    eprintln!("set {}: {}", change.file, pairs.join(", "));
                }
            }
            versions::check_target(&cx.repo, &cx.policy, &target)?
        }
        None => versions::check(&cx.repo, &cx.policy)?,
    };
    Ok(render::report(&report, common.json))
}

fn changelog_file(cx: &Context) -> anyhow::Result<&Utf8Path> {
    match &cx.policy.changelog {
        Some(c) => Ok(&c.file),
        None => bail!("{}: the policy has no [changelog] section", cx.policy.path),
    }
}

fn read_changelog(cx: &Context) -> anyhow::Result<(String, changelog::Changelog)> {
    let file = changelog_file(cx)?;
    let text = std::fs::read_to_string(cx.repo.path(file)).with_context(|| format!("cannot read {file}"))?;
    let parsed = changelog::parse(file, &text)?;
    Ok((text, parsed))
}

pub fn changelog(common: &Common, args: ChangelogArgs) -> anyhow::Result<u8> {
    let cx = open(common)?;
    let target = ReleaseTarget::parse(&args.target)?;
    let file = changelog_file(&cx)?;
    let (text, mut parsed) = read_changelog(&cx)?;
    if args.notes {
        let Some(notes) = parsed.notes(&target) else {
            eprintln!(
                "{file} has no notes for {}: the publish workflow would fall back to a link to the changelog",
                target.version()
            );
            return Ok(1);
        };
        println!("{notes}");
        return Ok(0);
    }
    if args.finalize {
        let date = match &args.date {
            Some(d) => Date::parse(d)?,
            None => cx.clock.today(),
        };
        let finalized = changelog::finalize(file, &text, &target, date)?;
        fsutil::write_atomic(&cx.repo.path(file), finalized.as_bytes())?;
        eprintln!("{file}: [Unreleased] is now `## [{}] - {date}`", target.version());
        parsed = changelog::parse(file, &finalized)?;
    }
    let finding = changelog::check(file, &parsed, &target);
    Ok(render::report(&Report::new("changelog", Some(target.tag()), vec![finding]), common.json))
}

fn manifest(cx: &Context) -> anyhow::Result<Manifest> {
    let Some(t) = &cx.policy.targets else {
        bail!("{}: the policy has no [targets] section", cx.policy.path);
    };
    targets::load(&cx.repo.path(&t.manifest), t.manifest.as_str())
}

pub fn targets(common: &Common, args: TargetsArgs) -> anyhow::Result<u8> {
    let cx = open(common)?;
    let manifest = manifest(&cx)?;
    let listing = args.channel.is_some() || args.rust_target.is_some() || args.field.is_some();
    if !listing {
        let t = cx.policy.targets.as_ref().map(|t| t.manifest.as_str()).unwrap_or_default();
        let finding = Finding::pass("targets", t, format!("valid: {} targets", manifest.targets.len()))
            .with(release_core::Evidence::file(t));
        return Ok(render::report(&Report::new("targets", None, vec![finding]), common.json));
    }
    let field = args.field.as_deref().unwrap_or("sdk_platform");
    let mut selected: Vec<&targets::Target> = match &args.channel {
        Some(ch) => manifest.in_channel(ch, Tier::parse(&args.tier)?)?,
        None => manifest.targets.iter().collect(),
    };
    if let Some(rt) = &args.rust_target {
        if !manifest.targets.iter().any(|t| &t.rust_target == rt) {
            bail!("no target `{rt}` in the manifest");
        }
        selected.retain(|t| &t.rust_target == rt);
    }
    let values = selected.iter().map(|t| t.field(field)).collect::<anyhow::Result<Vec<_>>>()?;
    if common.json {
        println!("{}", serde_json::to_string_pretty(&values)?);
    } else {
        for v in values {
            println!("{v}");
        }
    }
    Ok(0)
}
