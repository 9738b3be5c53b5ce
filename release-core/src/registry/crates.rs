//! crates.io: the sparse index entry of the exact version (`cksum`, `yanked`), the newest
//! stable version, and with `--deep` the `.crate` whose SHA-256 must equal `cksum`.

use serde::Deserialize;

use super::{Probe, Standing, no_endpoint};
use crate::{
    fetch::{self, Absent, url_evidence},
    report::Finding,
};

const CHECK: &str = "verify.crates";
/// Check id of the "exact version is published" finding.
pub const PUBLISHED: &str = "verify.crates.published";

/// The sparse index path of a crate name (`plasmite` -> `pl/as/plasmite`).
pub fn sparse_path(name: &str) -> String {
    let n = name.to_lowercase();
    // Crate names are ASCII; take characters, not bytes, so no name can split a character.
    let head = |k: usize| n.chars().take(k).collect::<String>();
    let part = |from: usize, to: usize| n.chars().skip(from).take(to - from).collect::<String>();
    match n.chars().count() {
        0 | 1 => format!("1/{n}"),
        2 => format!("2/{n}"),
        3 => format!("3/{}/{n}", head(1)),
        _ => format!("{}/{}/{n}", head(2), part(2, 4)),
    }
}

/// One line of the sparse index, the fields verification reads.
#[derive(Debug, Clone, Deserialize)]
pub struct IndexLine {
    /// The version.
    pub vers: String,
    /// SHA-256 of the `.crate`.
    pub cksum: String,
    /// Yank state.
    #[serde(default)]
    pub yanked: bool,
}

/// Parses an index file (NDJSON); any unreadable line makes the whole file unreadable.
pub fn parse_index(text: &str) -> anyhow::Result<Vec<IndexLine>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let parsed: IndexLine = serde_json::from_str(line).map_err(|e| anyhow::anyhow!("index line {}: {e}", i + 1))?;
        out.push(parsed);
    }
    if out.is_empty() {
        anyhow::bail!("the index file has no version lines");
    }
    Ok(out)
}

/// The highest non-yanked version without a pre-release, by semver (never by text).
pub fn newest_stable(lines: &[IndexLine]) -> Option<semver::Version> {
    lines
        .iter()
        .filter(|l| !l.yanked)
        .filter_map(|l| semver::Version::parse(&l.vers).ok())
        .filter(|v| v.pre.is_empty())
        .max()
}

/// The index line of exactly `target` (compared as semver, never as text).
pub fn find_version<'a>(lines: &'a [IndexLine], target: &semver::Version) -> Option<&'a IndexLine> {
    lines.iter().find(|l| semver::Version::parse(&l.vers).is_ok_and(|v| &v == target))
}

/// Checks the crates channel.
pub fn check(probe: &Probe<'_>) -> Vec<Finding> {
    let Some(channel) = &probe.policy.channels.crates else {
        return vec![Finding::skipped(CHECK, "crates", "no [channel.crates] in the policy")];
    };
    let name = &channel.package;
    let version = probe.target.version();
    let subject = format!("crates {name}@{version}");
    let Some(base) = &probe.policy.endpoints.crates_index else {
        return vec![no_endpoint(probe, PUBLISHED, &subject, "crates_index")];
    };
    let url = format!("{}/{}", base.trim_end_matches('/'), sparse_path(name));
    let absent = format!("crate `{name}` is not in the index");
    let read = fetch::get(probe.http, &url, "text/plain, */*").and_then(|r| {
        match parse_index(&String::from_utf8_lossy(&r.body)) {
            Ok(lines) => Ok((lines, r)),
            Err(e) => Err(fetch::malformed(&r, &e)),
        }
    });
    let (lines, r) = match read {
        Ok(read) => read,
        Err(e) => return vec![e.finding(PUBLISHED, &subject, Absent::Fail(&absent))],
    };
    let ev = || url_evidence(&r.url, Some(r.status));
    let target = probe.target.semver();
    let Some(line) = find_version(&lines, target) else {
        return vec![
            Finding::fail(
                PUBLISHED,
                &subject,
                format!("version {version} is not in the index ({} versions listed)", lines.len()),
            )
            .with(ev()),
        ];
    };
    if line.yanked {
        return vec![Finding::fail(PUBLISHED, &subject, format!("version {version} is yanked")).with(ev())];
    }
    let mut out =
        vec![Finding::pass(PUBLISHED, &subject, format!("published, not yanked, cksum {}", line.cksum)).with(ev())];
    let default_subject = format!("crates {name} newest stable");
    if probe.target.is_prerelease() {
        out.push(
            Finding::pass(CHECK, &default_subject, "a pre-release is never chosen by cargo by default").with(ev()),
        );
    } else {
        match newest_stable(&lines).map(|v| super::standing(&v.to_string(), probe.target)) {
            Some(Standing::IsDefault) => out.push(
                Finding::pass(CHECK, &default_subject, format!("{version} is what `cargo install {name}` gets"))
                    .with(ev()),
            ),
            Some(Standing::Superseded(v)) => out.push(
                Finding::skipped(CHECK, &default_subject, format!("a newer release {v} is the newest stable"))
                    .with(ev()),
            ),
            Some(Standing::Behind(v)) => out.push(
                Finding::fail(CHECK, &default_subject, format!("newest stable is {v}, not {version}")).with(ev()),
            ),
            None => out.push(Finding::fail(CHECK, &default_subject, "no stable version in the index").with(ev())),
        }
    }
    if probe.deep {
        out.push(deep(probe, name, &version, &line.cksum));
    }
    out
}

fn deep(probe: &Probe<'_>, name: &str, version: &str, cksum: &str) -> Finding {
    let subject = format!("crates {name}-{version}.crate");
    let Some(base) = &probe.policy.endpoints.crates_download else {
        return no_endpoint(probe, CHECK, &subject, "crates_download");
    };
    let url = format!("{}/{name}/{name}-{version}.crate", base.trim_end_matches('/'));
    let r = match fetch::download(probe.http, &url, false) {
        Ok(r) => r,
        Err(e) => return e.finding(CHECK, &subject, Absent::Fail("the .crate file is not downloadable")),
    };
    let ev = url_evidence(&r.url, Some(r.status));
    let got = r.sha256;
    if got == cksum {
        Finding::pass(CHECK, &subject, format!("sha256 {got} equals the index cksum")).with(ev)
    } else {
        Finding::fail(CHECK, &subject, format!("sha256 of the download is {got}, the index says {cksum}")).with(ev)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_paths() {
        assert_eq!(sparse_path("a"), "1/a");
        assert_eq!(sparse_path("cc"), "2/cc");
        assert_eq!(sparse_path("Syn"), "3/s/syn");
        assert_eq!(sparse_path("plasmite"), "pl/as/plasmite");
        assert_eq!(sparse_path("ñaño"), "ña/ño/ñaño");
    }

    #[test]
    fn newest_stable_is_semver_max_without_prereleases_or_yanks() {
        let l = |v: &str, y: bool| IndexLine { vers: v.into(), cksum: String::new(), yanked: y };
        let lines =
            [l("0.8.0", false), l("10.8.0", true), l("0.10.0", false), l("0.11.0-rc.1", false), l("0.9.0", false)];
        assert_eq!(newest_stable(&lines).unwrap().to_string(), "0.10.0");
        assert!(parse_index("{\"vers\":\"1.0.0\",\"cksum\":\"x\"}\n{garbage").is_err());
        assert!(parse_index("").is_err());
        let only_ten = [l("10.8.0", false), l("0.8.01", false)];
        assert!(find_version(&only_ten, &semver::Version::parse("0.8.0").unwrap()).is_none());
        assert_eq!(find_version(&lines, &semver::Version::parse("0.8.0").unwrap()).unwrap().vers, "0.8.0");
    }
}
