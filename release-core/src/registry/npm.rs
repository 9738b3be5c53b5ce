//! npm: the exact version document (`dist.tarball`, `dist.integrity`) and `dist-tags`; with
//! `--deep`, the tarball, its SRI SHA-512, and its bundled native files for every npm-official
//! target (`package/native/<node_platform>/...`).

use std::io::Read;

use serde::Deserialize;

use super::{Probe, Standing, no_endpoint, sri_of};
use crate::{
    fetch::{self, Absent, Fetched, url_evidence},
    manifest::Tier,
    report::CheckId,
    report::Finding,
};

const CHECK: CheckId = CheckId::VERIFY_NPM;
/// Check id of the "exact version is published" finding.
pub const PUBLISHED: CheckId = CheckId::VERIFY_NPM_PUBLISHED;

/// The packument path of a name: `@scope/pkg` -> `@scope%2fpkg`.
pub fn package_path(name: &str) -> String {
    name.replace('/', "%2f")
}

/// `versions[v]`: what verification reads.
#[derive(Debug, Clone, Deserialize)]
pub struct VersionDoc {
    /// The version.
    pub version: String,
    /// Distribution data.
    pub dist: Dist,
    /// Deprecation message, when deprecated.
    #[serde(default)]
    pub deprecated: Option<String>,
}

/// `dist`.
#[derive(Debug, Clone, Deserialize)]
pub struct Dist {
    /// Tarball URL (absolute, or relative to the document).
    pub tarball: String,
    /// `sha512-<base64>`.
    #[serde(default)]
    pub integrity: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Packument {
    #[serde(rename = "dist-tags")]
    dist_tags: std::collections::BTreeMap<String, String>,
}

/// Paths of the files in a gzipped tarball.
pub fn tarball_paths(tgz: impl std::io::Read) -> anyhow::Result<Vec<String>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(tgz));
    let mut out = Vec::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.to_string_lossy().into_owned();
        // Read through the entry so truncated archives are noticed.
        std::io::copy(&mut (&mut entry).take(u64::MAX), &mut std::io::sink())?;
        out.push(path);
    }
    Ok(out)
}

/// Checks the npm channel.
pub fn check(probe: &Probe<'_>) -> Vec<Finding> {
    let Some(channel) = &probe.policy.channels.npm else {
        return vec![Finding::skipped(CHECK, "npm", "no [channel.npm] in the policy")];
    };
    let name = &channel.package;
    let version = probe.target.version();
    let subject = format!("npm {name}@{version}");
    let Some(base) = &probe.policy.endpoints.npm else {
        return vec![no_endpoint(probe, &PUBLISHED, &subject, "npm")];
    };
    let base = base.trim_end_matches('/');
    let url = format!("{base}/{}/{version}", package_path(name));
    let absent = format!("version {version} is not published");
    let fetched: Fetched<VersionDoc> = match fetch::get_json(probe.http, &url, "application/json") {
        Ok(fetched) => fetched,
        Err(e) => return vec![e.finding(&PUBLISHED, &subject, Absent::Fail(&absent))],
    };
    let (doc, ev) = (&fetched.doc, fetched.evidence());
    if doc.version != version {
        return vec![
            Finding::fail(PUBLISHED, &subject, format!("the registry answered with version {}", doc.version)).with(ev),
        ];
    }
    let Some(integrity) = doc.dist.integrity.clone().filter(|i| i.starts_with("sha512-")) else {
        return vec![Finding::fail(PUBLISHED, &subject, "dist.integrity is missing or not sha512").with(ev)];
    };
    let mut out =
        vec![Finding::pass(PUBLISHED, &subject, format!("published, integrity {integrity}")).with(ev.clone())];
    if let Some(message) = &doc.deprecated {
        out.push(Finding::fail(CHECK, &subject, format!("version is deprecated: {message}")).with(ev));
    }
    // `latest` and the tarball do not need each other: asked for at the same time.
    let deep_findings = || match probe.deep {
        false => Vec::new(),
        true => match crate::http::resolve(&fetched.url, &doc.dist.tarball) {
            Ok(tarball) => deep(probe, &subject, &tarball, &integrity),
            Err(e) => vec![Finding::incomplete(CHECK, &subject, format!("{e:#}"))],
        },
    };
    let (latest, deep_findings) = crate::parallel::join(|| latest(probe, base, name), deep_findings);
    out.push(latest);
    out.extend(deep_findings);
    out
}

fn latest(probe: &Probe<'_>, base: &str, name: &str) -> Finding {
    let subject = format!("npm {name} dist-tags.latest");
    let url = format!("{base}/{}", package_path(name));
    let accept = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8";
    let fetched: Fetched<Packument> = match fetch::get_json(probe.http, &url, accept) {
        Ok(fetched) => fetched,
        Err(e) => return e.finding(&CHECK, &subject, Absent::Fail("the package document is not found")),
    };
    let (doc, ev) = (&fetched.doc, fetched.evidence());
    let Some(latest) = doc.dist_tags.get("latest") else {
        return Finding::fail(CHECK, &subject, "the package has no `latest` dist-tag").with(ev);
    };
    let version = probe.target.version();
    let standing = super::standing(latest, probe.target);
    if probe.target.is_prerelease() {
        return if standing == Standing::IsDefault {
            Finding::fail(
                CHECK,
                &subject,
                format!("pre-release {version} is `latest`: `npm install {name}` gives users the pre-release"),
            )
            .with(ev)
        } else {
            Finding::pass(CHECK, &subject, format!("`latest` is {latest}, not the pre-release")).with(ev)
        };
    }
    match standing {
        Standing::IsDefault => Finding::pass(CHECK, &subject, format!("`latest` is {version}")).with(ev),
        Standing::Superseded(v) => {
            Finding::skipped(CHECK, &subject, format!("a newer release {v} is `latest`")).with(ev)
        }
        Standing::Behind(v) => {
            Finding::fail(CHECK, &subject, format!("`latest` is {v}, not {version}: `npm install {name}` gives {v}"))
                .with(ev)
        }
    }
}

fn deep(probe: &Probe<'_>, subject: &str, url: &str, integrity: &str) -> Vec<Finding> {
    // Streamed into a temporary file (hashed on the way): its members are listed from there,
    // so the tarball is never held whole in memory.
    let r = match fetch::download(probe.http, url, true) {
        Ok(r) => r,
        Err(e) => return vec![e.finding(&CHECK, subject, Absent::Fail("the tarball is not downloadable"))],
    };
    let ev = url_evidence(&r.url, Some(r.status));
    let got = sri_of(&r.sha512);
    if got != integrity {
        return vec![
            Finding::fail(CHECK, subject, format!("tarball integrity is {got}, dist.integrity says {integrity}"))
                .with(ev),
        ];
    }
    let mut out = vec![Finding::pass(CHECK, subject, "tarball sha512 equals dist.integrity").with(ev.clone())];
    let Some(manifest) = probe.manifest else {
        out.push(Finding::skipped(CHECK, subject, "no targets manifest: native files not checked"));
        return out;
    };
    let listed = match r.file {
        Some(file) => tarball_paths(std::io::BufReader::new(file)),
        None => Err(anyhow::anyhow!("the download kept no file")),
    };
    let paths = match listed {
        Ok(p) => p,
        Err(e) => {
            out.push(Finding::fail(CHECK, subject, format!("the tarball is not a readable .tgz: {e:#}")).with(ev));
            return out;
        }
    };
    for t in manifest.in_channel(crate::manifest::Channel::Npm, Tier::Official).unwrap_or_default() {
        let prefix = format!("package/native/{}/", t.node_platform);
        let s = format!("{subject} native/{}", t.node_platform);
        match paths.iter().filter(|p| p.starts_with(&prefix) && p.len() > prefix.len()).count() {
            0 => out.push(Finding::fail(CHECK, &s, format!("no files under {prefix} in the tarball")).with(ev.clone())),
            n => out.push(Finding::pass(CHECK, &s, format!("{n} file(s) under {prefix}")).with(ev.clone())),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scoped_names_are_encoded() {
        assert_eq!(package_path("@scope/pkg"), "@scope%2fpkg");
        assert_eq!(package_path("plasmite"), "plasmite");
    }
}
