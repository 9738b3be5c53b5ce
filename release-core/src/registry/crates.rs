//! crates.io: the sparse index entry of the exact version (`cksum`, `yanked`), the newest
//! stable version, and with `--deep` the `.crate` whose SHA-256 must equal `cksum`, downloaded
//! from where the index's `config.json` `dl` says, as cargo downloads it ([`download_url`]).

use serde::Deserialize;

use super::{Probe, Standing, no_endpoint};
use crate::{
    fetch::{self, Absent, url_evidence},
    report::CheckId,
    report::Finding,
};

const CHECK: CheckId = CheckId::VERIFY_CRATES;
/// Check id of the "exact version is published" finding.
pub const PUBLISHED: CheckId = CheckId::VERIFY_CRATES_PUBLISHED;

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

/// The markers cargo expands in a `dl` value; a `dl` with none of them gets
/// `/{crate}/{version}/download` appended (the format from before markers existed).
const DL_MARKERS: [&str; 5] = ["{crate}", "{version}", "{prefix}", "{lowerprefix}", "{sha256-checksum}"];

/// The directory prefix cargo puts in `{prefix}`: `1`, `2`, `3/{first char}`, or the first two
/// characters `/` the next two, in the name's own case (`AbCd` -> `Ab/Cd`; `{lowerprefix}` is
/// its lowercase). The sparse index path is the lowercase prefix plus the lowercase name.
pub fn dl_prefix(name: &str) -> String {
    // Characters, not bytes, so no name can split one (crate names are ASCII anyway).
    let chars: Vec<char> = name.chars().collect();
    let take = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    match chars.len() {
        0 | 1 => "1".to_string(),
        2 => "2".to_string(),
        3 => format!("3/{}", take(0, 1)),
        _ => format!("{}/{}", take(0, 2), take(2, 4)),
    }
}

/// The URL of a `.crate`, built from a registry's `dl` exactly as cargo builds it: the markers
/// `{crate}`, `{version}`, `{prefix}`, `{lowerprefix}` and `{sha256-checksum}` replaced, or,
/// when `dl` has none of them, `/{crate}/{version}/download` appended to it as it is.
pub fn download_url(dl: &str, name: &str, version: &str, cksum: &str) -> String {
    if !DL_MARKERS.iter().any(|m| dl.contains(m)) {
        return format!("{dl}/{name}/{version}/download");
    }
    let prefix = dl_prefix(name);
    dl.replace("{crate}", name)
        .replace("{version}", version)
        .replace("{prefix}", &prefix)
        .replace("{lowerprefix}", &prefix.to_lowercase())
        .replace("{sha256-checksum}", cksum)
}

/// The index's `config.json`, the field verification reads.
#[derive(Debug, Deserialize)]
struct IndexConfig {
    /// Where `.crate` files are downloaded from (a URL, possibly with markers).
    dl: String,
}

/// One line of the sparse index, the fields verification reads.
#[derive(Debug, Clone, Deserialize)]
pub struct IndexLine {
    /// The crate name as published (case kept; cargo puts this one in download URLs).
    #[serde(default)]
    pub name: Option<String>,
    /// The version.
    pub vers: String,
    /// SHA-256 of the `.crate`.
    pub cksum: String,
    /// Yank state.
    #[serde(default)]
    pub yanked: bool,
    /// The index format version of the line (absent means 1).
    #[serde(default = "format_v1")]
    pub v: u32,
    /// 1-based line in the index file.
    #[serde(skip)]
    pub line: usize,
}

fn format_v1() -> u32 {
    1
}

/// The newest index format version cargo reads: cargo skips lines with a higher `v` (a
/// format it does not know), so they do not list a version users can get.
pub const INDEX_V_MAX: u32 = 2;

/// Parses an index file (NDJSON). Any unreadable line (not UTF-8, not JSON) makes the whole
/// file unreadable; lines of an index format newer than [`INDEX_V_MAX`] are left out, as
/// cargo leaves them out.
pub fn parse_index(body: &[u8]) -> anyhow::Result<Vec<IndexLine>> {
    let mut out = Vec::new();
    for (i, raw) in body.split(|b| *b == b'\n').enumerate() {
        let n = i + 1;
        let line = std::str::from_utf8(raw).map_err(|e| anyhow::anyhow!("index line {n} is not UTF-8: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let mut parsed: IndexLine = serde_json::from_str(line).map_err(|e| anyhow::anyhow!("index line {n}: {e}"))?;
        parsed.line = n;
        if parsed.v <= INDEX_V_MAX {
            out.push(parsed);
        }
    }
    if out.is_empty() {
        anyhow::bail!("the index file has no version lines cargo reads");
    }
    Ok(out)
}

/// Pairs of lines that list the same version (as semver), said with both line numbers: the
/// index then says two things (e.g. yanked and not) about one version.
pub fn duplicate_versions(lines: &[IndexLine]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, later) in lines.iter().enumerate() {
        let Ok(v) = semver::Version::parse(&later.vers) else { continue };
        let same = |l: &&IndexLine| semver::Version::parse(&l.vers).is_ok_and(|w| w == v);
        if let Some(first) = lines[..i].iter().find(same) {
            let yank = |l: &IndexLine| if l.yanked { "yanked" } else { "not yanked" };
            out.push(format!(
                "index lines {} and {} both list version {v} ({}, cksum {}; then {}, cksum {})",
                first.line,
                later.line,
                yank(first),
                first.cksum,
                yank(later),
                later.cksum
            ));
        }
    }
    out
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
    let Some(base) = &probe.endpoints.crates_index.url else {
        return vec![no_endpoint(probe, &PUBLISHED, &subject, &probe.endpoints.crates_index)];
    };
    let url = format!("{}/{}", base.trim_end_matches('/'), sparse_path(name));
    let absent = format!("crate `{name}` is not in the index");
    let read = fetch::get(probe.http, &url, "text/plain, */*").and_then(|r| match parse_index(&r.body) {
        Ok(lines) => Ok((lines, r)),
        Err(e) => Err(fetch::malformed(&r, &e)),
    });
    let (lines, r) = match read {
        Ok(read) => read,
        Err(e) => return vec![e.finding(&PUBLISHED, &subject, Absent::Fail(&absent))],
    };
    let ev = || url_evidence(&r.url, Some(r.status));
    let duplicates = duplicate_versions(&lines);
    if !duplicates.is_empty() {
        return vec![Finding::fail(PUBLISHED, &subject, duplicates.join("; ")).with(ev())];
    }
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
        out.push(deep(probe, base, name, line));
    }
    out
}

/// The `Incomplete` finding of a `config.json` that could not be read: without its `dl` the
/// download URL would be a guess, and a guess that 404s would read as a missing `.crate`.
fn config_unknown(e: &fetch::FetchError, url: &str, subject: &str) -> Finding {
    let absent = format!(
        "the index has no config.json at {url}, so where its .crate files are downloaded is unknown (set `endpoints.crates_download` to the registry's `dl` to override)"
    );
    let mut finding = e.finding(&CHECK, subject, Absent::Incomplete(&absent));
    if e.absent_status().is_none() {
        finding.detail = format!("reading the index's config.json ({url}): {}", finding.detail);
    }
    finding
}

fn deep(probe: &Probe<'_>, index_base: &str, name: &str, line: &IndexLine) -> Finding {
    let version = probe.target.version();
    let subject = format!("crates {name}-{version}.crate");
    // Where `.crate` files come from: the policy's `crates_download` when set (an override,
    // read as a `dl` value), else the `dl` of the index's `config.json`, read here, once per
    // check and only when something is downloaded.
    let (dl, from) = match &probe.endpoints.crates_download.url {
        Some(dl) => (dl.clone(), probe.endpoints.crates_download.origin.to_string()),
        None => {
            let url = format!("{}/config.json", index_base.trim_end_matches('/'));
            match fetch::get_json::<IndexConfig>(probe.http, &url, "application/json") {
                Ok(fetched) => (fetched.doc.dl, format!("`dl` of {}", fetched.url)),
                Err(e) => return config_unknown(&e, &url, &subject),
            }
        }
    };
    // cargo puts the index's own spelling of the name and version in the URL.
    let published = line.name.as_deref().unwrap_or(name);
    let vers = semver::Version::parse(&line.vers).map_or_else(|_| line.vers.clone(), |v| v.to_string());
    let url = download_url(&dl, published, &vers, &line.cksum);
    let cksum = &line.cksum;
    let r = match fetch::download(probe.http, &url, false) {
        Ok(r) => r,
        Err(e) => {
            let absent = format!("the .crate file is not downloadable at {url} (built from {from})");
            return e.finding(&CHECK, &subject, Absent::Fail(&absent));
        }
    };
    let ev = url_evidence(&r.url, Some(r.status));
    let got = r.sha256;
    if got == *cksum {
        Finding::pass(CHECK, &subject, format!("sha256 {got} equals the index cksum (URL from {from})")).with(ev)
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
    fn dl_prefixes_follow_cargo() {
        assert_eq!(dl_prefix("a"), "1");
        assert_eq!(dl_prefix("ab"), "2");
        assert_eq!(dl_prefix("abc"), "3/a");
        assert_eq!(dl_prefix("Abc"), "3/A");
        assert_eq!(dl_prefix("abcd"), "ab/cd");
        assert_eq!(dl_prefix("AbCd"), "Ab/Cd");
        assert_eq!(dl_prefix("plasmite"), "pl/as");
        assert_eq!(dl_prefix("aBcDe"), "aB/cD");
        // The sparse path is the lowercase prefix and name.
        for name in ["a", "cc", "Syn", "plasmite", "MyCrate"] {
            assert_eq!(sparse_path(name), format!("{}/{}", dl_prefix(name).to_lowercase(), name.to_lowercase()));
        }
    }

    #[test]
    fn download_urls_expand_every_marker_as_cargo_does() {
        let sum = "d1d0acac5f182c7fde6aa87d335847eb39adac16652e6e162fd8aee04f53859c";
        // crates.io: no marker, so cargo appends `/{crate}/{version}/download` to `dl` as given.
        assert_eq!(
            download_url("https://static.crates.io/crates", "plasmite", "1.2.1", sum),
            "https://static.crates.io/crates/plasmite/1.2.1/download"
        );
        // Markers: every occurrence, case kept in {prefix}, lowered in {lowerprefix}.
        let dl = "http://127.0.0.1:9/files/{prefix}/{lowerprefix}/{crate}/{crate}-{version}.crate";
        assert_eq!(
            download_url(dl, "MyCrate", "0.1.0-rc.1+build.5", sum),
            "http://127.0.0.1:9/files/My/Cr/my/cr/MyCrate/MyCrate-0.1.0-rc.1+build.5.crate"
        );
        let by_sum = "https://dl.example/{sha256-checksum}/{crate}.crate";
        assert_eq!(download_url(by_sum, "a", "1.0.0", sum), format!("https://dl.example/{sum}/a.crate"));
        assert_eq!(
            download_url("https://r.example/api/{crate}/{version}", "abc", "2.0.0", sum),
            "https://r.example/api/abc/2.0.0"
        );
        for (name, prefix) in [("a", "1"), ("ab", "2"), ("Abc", "3/A"), ("ABCDE", "AB/CD")] {
            assert_eq!(
                download_url("x/{prefix}/{lowerprefix}", name, "1.0.0", sum),
                format!("x/{prefix}/{}", prefix.to_lowercase())
            );
        }
        // One marker is enough to stop the append; a look-alike is not a marker.
        assert_eq!(download_url("https://r.example/{version}", "abc", "2.0.0", sum), "https://r.example/2.0.0");
        assert_eq!(
            download_url("https://r.example/{name}", "abc", "2.0.0", sum),
            "https://r.example/{name}/abc/2.0.0/download"
        );
    }

    #[test]
    fn hostile_index_lines_are_not_read_as_versions() {
        let ok = br#"{"vers":"0.8.0","cksum":"aa"}"#;
        // Two lines for one version, the second yanked: both line numbers are named.
        let twice = [&ok[..], b"\n", br#"{"vers":"0.8.0","cksum":"aa","yanked":true}"#].concat();
        let lines = parse_index(&twice).unwrap();
        let said = duplicate_versions(&lines);
        assert_eq!(said.len(), 1);
        assert!(said[0].contains("index lines 1 and 2 both list version 0.8.0") && said[0].contains("yanked"));
        // A line of a format cargo does not know does not list a version.
        let unknown =
            [&br#"{"vers":"0.7.0","cksum":"bb"}"#[..], b"\n", br#"{"vers":"0.8.0","cksum":"aa","v":3}"#].concat();
        let lines = parse_index(&unknown).unwrap();
        assert!(find_version(&lines, &semver::Version::parse("0.8.0").unwrap()).is_none());
        let v2 = br#"{"vers":"0.8.0","cksum":"aa","v":2}"#;
        assert_eq!(parse_index(v2).unwrap().len(), 1);
        assert!(parse_index(br#"{"vers":"0.8.0","cksum":"aa","v":9}"#).is_err(), "nothing cargo reads");
        // A line that is not UTF-8 makes the file unreadable, naming the line.
        let bad = [&ok[..], b"\n", b"{\"vers\":\"0.9.0\",\"cksum\":\"\xff\"}"].concat();
        let e = parse_index(&bad).unwrap_err().to_string();
        assert!(e.contains("index line 2 is not UTF-8"), "{e}");
    }

    #[test]
    fn newest_stable_is_semver_max_without_prereleases_or_yanks() {
        let l =
            |v: &str, y: bool| IndexLine { name: None, vers: v.into(), cksum: String::new(), yanked: y, v: 1, line: 0 };
        let lines =
            [l("0.8.0", false), l("10.8.0", true), l("0.10.0", false), l("0.11.0-rc.1", false), l("0.9.0", false)];
        assert_eq!(newest_stable(&lines).unwrap().to_string(), "0.10.0");
        assert!(parse_index(b"{\"vers\":\"1.0.0\",\"cksum\":\"x\"}\n{garbage").is_err());
        assert!(parse_index(b"").is_err());
        let only_ten = [l("10.8.0", false), l("0.8.01", false)];
        assert!(find_version(&only_ten, &semver::Version::parse("0.8.0").unwrap()).is_none());
        assert_eq!(find_version(&lines, &semver::Version::parse("0.8.0").unwrap()).unwrap().vers, "0.8.0");
    }
}
