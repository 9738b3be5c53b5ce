//! Typed, minimal clients of the services a release is published to. Each module reads only
//! what verification needs and turns what it read into [`Finding`]s: a missing package is a
//! `Fail`, an unreachable or unreadable service is `Incomplete` (one mapping,
//! [`FetchError::finding`](crate::fetch::FetchError::finding)). GitHub is reached through
//! [`crate::github`].

pub mod crates;
pub mod github;
pub mod homebrew;
pub mod homebrew_update;
pub mod npm;
pub mod pypi;

use std::cmp::Ordering;

use base64::Engine as _;
use camino::Utf8Path;
use sha2::{Digest, Sha256};

use crate::{
    endpoints::{Endpoint, Origin, ResolvedEndpoints},
    github::GitHub,
    http::Http,
    manifest::Manifest,
    policy::Policy,
    report::CheckId,
    report::Evidence,
    report::Finding,
    target::ReleaseTarget,
};

/// Everything one channel check reads, borrowed from the verify run.
#[derive(Debug, Clone, Copy)]
pub struct Probe<'a> {
    /// The shared client.
    pub http: &'a Http,
    /// The policy (channels, project).
    pub policy: &'a Policy,
    /// Each service's base URL (the policy's `[endpoints]`, else as the ecosystem's tools resolve it).
    pub endpoints: &'a ResolvedEndpoints,
    /// The targets manifest, when the policy names one.
    pub manifest: Option<&'a Manifest>,
    /// The release being verified.
    pub target: &'a ReleaseTarget,
    /// Download artifacts and compare their checksums.
    pub deep: bool,
    /// A local formula to check instead of the tap's.
    pub formula: Option<&'a Utf8Path>,
    /// The commit the tag points at in the local repository, when the tag exists there.
    pub local_tag_commit: Option<&'a str>,
}

impl<'a> Probe<'a> {
    /// A shallow probe of `target` with the context's client and policy: no manifest, no
    /// local formula, no local tag commit (set the fields that apply).
    pub fn of(cx: &'a crate::context::Context, target: &'a ReleaseTarget) -> Probe<'a> {
        Probe {
            http: &cx.http,
            policy: &cx.policy,
            endpoints: &cx.endpoints,
            manifest: None,
            target,
            deep: false,
            formula: None,
            local_tag_commit: None,
        }
    }

    /// The client of the project's repository (`[project] github`), when the policy names one.
    pub fn github(&self) -> Option<GitHub<'a>> {
        let repo = self.policy.project.github.as_deref()?;
        Some(GitHub::new(self.http, self.http.github_api(), repo))
    }

    /// The GitHub web base (policy, else `GITHUB_SERVER_URL`, else the public default), without
    /// a trailing `/`.
    pub fn github_web(&self) -> String {
        crate::github::web_base(self.endpoints.github_web.url.as_deref())
    }
}

/// The `Incomplete` finding of a registry whose base URL could not be determined: what was
/// found where, and the `[endpoints]` key to set.
pub(crate) fn no_endpoint(probe: &Probe<'_>, check: &CheckId, subject: &str, endpoint: &Endpoint) -> Finding {
    let file = match &endpoint.origin {
        Origin::File { path, .. } => path.as_str(),
        _ => probe.policy.path.as_str(),
    };
    Finding::incomplete(check, subject, endpoint.unresolved_detail()).with(Evidence::file(file))
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// The npm SRI string: `sha512-` + standard base64 (padded) of the SHA-512.
#[cfg(any(test, feature = "testing"))]
pub fn sri_sha512(bytes: &[u8]) -> String {
    sri_of(&sha2::Sha512::digest(bytes))
}

/// The npm SRI string of a SHA-512 already computed (a streamed download's).
pub fn sri_of(sha512: &[u8]) -> String {
    format!("sha512-{}", base64::engine::general_purpose::STANDARD.encode(sha512))
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// True for exactly 64 lowercase hex digits.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Where the target stands against the newest version users get by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// The default is the target.
    IsDefault,
    /// A newer release is the default; the target is not expected to be.
    Superseded(String),
    /// The default is older than the target, or something else: users do not get the target.
    Behind(String),
}

/// Compares the version users get by default with the target (semver, with PEP 440 accepted).
pub fn standing(default: &str, target: &ReleaseTarget) -> Standing {
    match ReleaseTarget::parse_any(default) {
        Ok(d) => match d.cmp(target) {
            Ordering::Equal => Standing::IsDefault,
            Ordering::Greater => Standing::Superseded(default.to_string()),
            Ordering::Less => Standing::Behind(default.to_string()),
        },
        Err(_) => match semver::Version::parse(default) {
            Ok(v) if &v > target.semver() => Standing::Superseded(default.to_string()),
            _ => Standing::Behind(default.to_string()),
        },
    }
}

/// The SDK archive name of a platform: the policy's template with `{version}` and `{sdk_platform}`.
pub fn asset_name(template: &str, version: &str, sdk_platform: &str) -> String {
    template.replace("{version}", version).replace("{sdk_platform}", sdk_platform)
}

/// One line of a sums file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumLine {
    /// 64 lowercase hex digits.
    pub sha256: String,
    /// The file's base name: the path as written without its directories
    /// (`release-inputs/dist/x.tar.gz` -> `x.tar.gz`). Lines are looked up by it.
    pub name: String,
    /// The path as written on the line (`x.tar.gz`, or `release-inputs/dist/x.tar.gz` when the
    /// file was written as `shasum -a 256 release-inputs/dist/*.tar.gz`).
    pub path: String,
    /// 1-based line number.
    pub line: usize,
}

/// Parses a sums file as `shasum -a 256 -c` reads one: every non-empty line is
/// `<64 lowercase hex><space><space or *><path>` (text or binary mode). The path may carry
/// directories (`release-inputs/dist/x.tar.gz`: plasmite's publish workflow writes them); a
/// line is looked up by the path's base name. A UTF-8 byte order mark before the first line
/// and a `\r` ending any line (a file saved on Windows) are accepted and stripped; uppercase
/// hex, a path with leading or trailing blanks, and the BSD form `SHA256 (x) = ...` are
/// refused. Returns the lines, or the malformed lines and duplicated names as errors.
///
/// Two lines for one base name are refused even when they agree: two different digests are
/// the ambiguity `sha256sum -c` fails on (an appended re-run leaves the right line first and
/// the wrong one second, and reading the first passes what users' checks reject); two
/// identical lines say the file was written twice, and the next re-run of the same step makes
/// them differ. Two paths with one base name (`a/x.tar.gz`, `b/x.tar.gz`) are the same
/// ambiguity: a lookup by name could take either. Either way the file is not what one publish
/// step wrote.
pub fn parse_sums(text: &str) -> Result<Vec<SumLine>, Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<SumLine> = Vec::new();
    let mut bad = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        match sum_line(raw) {
            Some((sha, path, name)) => lines.push(SumLine {
                sha256: sha.to_string(),
                name: name.to_string(),
                path: path.to_string(),
                line: i + 1,
            }),
            None => bad.push(format!(
                "line {}: `{raw}` is not `<64 lowercase hex>  <file name>` (or `<hex> *<file name>`)",
                i + 1
            )),
        }
    }
    for (i, later) in lines.iter().enumerate() {
        if let Some(first) = lines[..i].iter().find(|l| l.name == later.name) {
            let agree = if first.sha256 == later.sha256 {
                "the same digest twice".to_string()
            } else {
                format!("{} then {}", first.sha256, later.sha256)
            };
            let paths = if first.path == later.path {
                String::new()
            } else {
                format!(", written as {} and {}", first.path, later.path)
            };
            bad.push(format!(
                "lines {} and {} both give the sha256 of {} ({agree}{paths})",
                first.line, later.line, later.name
            ));
        }
    }
    if bad.is_empty() { Ok(lines) } else { Err(bad) }
}

/// `(sha256, path, base name)` of one line of a sums file, or `None` when it is not exactly
/// `<64 lowercase hex><space><space or *><path>` with a path whose base name is a file name.
fn sum_line(raw: &str) -> Option<(&str, &str, &str)> {
    let sha = raw.get(..64).filter(|sha| is_sha256_hex(sha))?;
    let path = raw[64..].strip_prefix(' ').and_then(|rest| rest.strip_prefix([' ', '*']))?;
    let name = path.rsplit('/').next().unwrap_or(path);
    let plain = path.trim() == path && !name.is_empty() && name != "." && name != "..";
    plain.then_some((sha, path, name))
}

/// The sums entry for exactly `name`, a base name (compared as a whole name, not a substring).
pub fn sum_for<'a>(sums: &'a [SumLine], name: &str) -> Option<&'a SumLine> {
    sums.iter().find(|l| l.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sri_matches_the_documented_form() {
        // `printf abc | openssl dgst -sha512 -binary | base64`
        assert_eq!(
            sri_sha512(b"abc"),
            "sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw=="
        );
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn sums_lines_are_exact() {
        let h = "a".repeat(64);
        let ok = format!("{h}  plasmite_0.8.0_linux_amd64.tar.gz\n{h} *x.tar.gz\n\n");
        let lines = parse_sums(&ok).unwrap();
        assert_eq!(lines.len(), 2);
        assert!(sum_for(&lines, "plasmite_0.8.0_linux_amd64.tar.gz").is_some());
        // Substring lookup would have matched this; exact names do not.
        assert!(sum_for(&lines, "0.8.0_linux_amd64.tar.gz").is_none());
        for bad in [
            format!("{h} one-space"),
            format!("{}  x", "A".repeat(64)),
            format!("{}  x", "a".repeat(63)),
            "junk".into(),
        ] {
            assert!(parse_sums(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn two_lines_for_one_name_are_refused_naming_both() {
        let (right, wrong) = ("a".repeat(64), "b".repeat(64));
        let appended = format!("{right}  p.tar.gz\n{right}  q.tar.gz\n{wrong}  p.tar.gz\n");
        let bad = parse_sums(&appended).unwrap_err();
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].contains("lines 1 and 3") && bad[0].contains("p.tar.gz"), "{bad:?}");
        assert!(bad[0].contains(&right) && bad[0].contains(&wrong), "{bad:?}");
        let twice = format!("{right}  p.tar.gz\n{right} *p.tar.gz\n");
        let bad = parse_sums(&twice).unwrap_err();
        assert!(bad[0].contains("lines 1 and 2") && bad[0].contains("the same digest twice"), "{bad:?}");
    }

    #[test]
    fn sums_lines_as_shasum_c_reads_them() {
        let (a, b, c) = ("a".repeat(64), "b".repeat(64), "c".repeat(64));
        // Exactly what plasmite's publish workflow writes: `shasum -a 256 release-inputs/dist/*.tar.gz`.
        let workflow = format!(
            "{a}  release-inputs/dist/plasmite_0.8.0_darwin_amd64.tar.gz\n\
             {b}  release-inputs/dist/plasmite_0.8.0_darwin_arm64.tar.gz\n\
             {c}  release-inputs/dist/plasmite_0.8.0_linux_amd64.tar.gz\n"
        );
        let lines = parse_sums(&workflow).unwrap();
        let line = sum_for(&lines, "plasmite_0.8.0_darwin_arm64.tar.gz").unwrap();
        assert_eq!((line.sha256.as_str(), line.line), (b.as_str(), 2));
        assert_eq!(line.path, "release-inputs/dist/plasmite_0.8.0_darwin_arm64.tar.gz");
        assert!(sum_for(&lines, "release-inputs/dist/plasmite_0.8.0_darwin_arm64.tar.gz").is_none());
        // Each form `shasum -c` takes, and the two this parser strips (BOM, CRLF).
        for (text, path) in [
            (format!("{a}  x.tar.gz\n"), "x.tar.gz"),
            (format!("{a} *x.tar.gz\n"), "x.tar.gz"),
            (format!("{a} *dist/x.tar.gz"), "dist/x.tar.gz"),
            (format!("{a}  ./x.tar.gz\r\n"), "./x.tar.gz"),
            (format!("\u{feff}{a}  x.tar.gz\r\n\r\n"), "x.tar.gz"),
            (format!("{a}  x.tar.gz\r"), "x.tar.gz"),
            (format!("{a}  with space.tar.gz\n"), "with space.tar.gz"),
        ] {
            let lines = parse_sums(&text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
            assert_eq!(lines.len(), 1, "{text:?}");
            assert_eq!((lines[0].sha256.as_str(), lines[0].path.as_str()), (a.as_str(), path), "{text:?}");
            assert_eq!(lines[0].name, path.rsplit('/').next().unwrap(), "{text:?}");
        }
        for bad in [
            format!("{a}\tx.tar.gz"),
            format!("{a}   x.tar.gz"),
            format!("{a}  x.tar.gz "),
            format!("{a}  dist/"),
            format!("{a}  dist/.."),
            format!("{a}x  x.tar.gz"),
            format!("SHA256 (x.tar.gz) = {a}"),
            format!("\\{a}  x.tar.gz"),
            format!("\u{feff}\u{feff}{a}  x.tar.gz"),
        ] {
            assert!(parse_sums(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn two_paths_with_one_base_name_are_a_duplicate() {
        let (right, wrong) = ("a".repeat(64), "b".repeat(64));
        let text = format!("{right}  one/p.tar.gz\n{wrong}  two/p.tar.gz\n");
        let bad = parse_sums(&text).unwrap_err();
        assert_eq!(bad.len(), 1, "{bad:?}");
        assert!(bad[0].contains("lines 1 and 2") && bad[0].contains("one/p.tar.gz and two/p.tar.gz"), "{bad:?}");
        let same = format!("{right}  dist/p.tar.gz\n{right} *p.tar.gz\n");
        assert!(parse_sums(&same).unwrap_err()[0].contains("the same digest twice"));
    }

    #[test]
    fn standing_is_semver_not_substring() {
        let t = ReleaseTarget::parse("0.8.0").unwrap();
        assert_eq!(standing("0.8.0", &t), Standing::IsDefault);
        assert_eq!(standing("10.8.0", &t), Standing::Superseded("10.8.0".into()));
        assert_eq!(standing("0.7.9", &t), Standing::Behind("0.7.9".into()));
        let rc = ReleaseTarget::parse("0.9.0-rc.1").unwrap();
        assert_eq!(standing("0.9.0rc1", &rc), Standing::IsDefault);
        assert_eq!(standing("0.9.0", &rc), Standing::Superseded("0.9.0".into()));
    }
}
