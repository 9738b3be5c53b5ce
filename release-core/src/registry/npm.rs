//! npm: the package document in its abbreviated form (what `npm install` reads:
//! `dist-tags` and `versions[v].dist`, without READMEs and publish times), one request for
//! the exact version (`dist.tarball`, `dist.integrity`) and `latest`; with `--deep`, the
//! tarball, its SRI SHA-512, and its bundled native files for every npm-official target
//! (`package/native/<node_platform>/...`). A 404 for the whole package says the package is not
//! on the registry; a version the document does not list is asked for alone
//! (`/{name}/{version}`), and if that answers, the two answers disagree (a cached document):
//! `Incomplete`, not a missing release.

use std::{collections::BTreeMap, io::Read};

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

/// The `Accept` of `npm install`: the abbreviated package document where the registry has
/// one (registry.npmjs.org does), else the full one (both carry `dist-tags` and `versions`).
pub const ABBREVIATED_ACCEPT: &str = "application/vnd.npm.install-v1+json; q=1.0, application/json; q=0.8, */*";

#[derive(Debug, Deserialize)]
struct Packument {
    #[serde(rename = "dist-tags", default)]
    dist_tags: BTreeMap<String, String>,
    /// Version objects, read one at a time: an odd old version does not make the document
    /// unreadable.
    #[serde(default)]
    versions: BTreeMap<String, serde_json::Value>,
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
    let Some(base) = &probe.endpoints.npm.url else {
        return vec![no_endpoint(probe, &PUBLISHED, &subject, &probe.endpoints.npm)];
    };
    let base = base.trim_end_matches('/');
    let url = format!("{base}/{}", package_path(name));
    let absent = format!("package `{name}` is not on the registry {base}: no version of it is published there");
    let fetched: Fetched<Packument> = match fetch::get_json(probe.http, &url, ABBREVIATED_ACCEPT) {
        Ok(fetched) => fetched,
        Err(e) => return vec![e.finding(&PUBLISHED, &subject, Absent::Fail(&absent))],
    };
    let ev = fetched.evidence();
    let target = probe.target.semver();
    // Compared as semver, never as text: `0.8.0` is not `10.8.0`.
    let listed = fetched.doc.versions.iter().find(|(k, _)| semver::Version::parse(k).is_ok_and(|k| &k == target));
    let Some((_, raw)) = listed else {
        return vec![unlisted(probe, base, name, &fetched)];
    };
    let doc: VersionDoc = match serde_json::from_value(raw.clone()) {
        Ok(doc) => doc,
        Err(e) => {
            return vec![
                Finding::incomplete(PUBLISHED, &subject, format!("versions[\"{version}\"] is unreadable: {e}"))
                    .with(ev),
            ];
        }
    };
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
    out.push(latest(probe, name, &fetched));
    if probe.deep {
        let tarball = match crate::http::resolve(&fetched.url, &doc.dist.tarball) {
            Ok(t) => t,
            Err(e) => return [out, vec![Finding::incomplete(CHECK, &subject, format!("{e:#}"))]].concat(),
        };
        out.extend(deep(probe, &subject, &tarball, &integrity));
    }
    out
}

/// The package document does not list the version: ask for the version alone. A 404 there
/// too is the answer (not published); a version document is the registry saying two things
/// (a package document cached from before the publish), which leaves the question open.
fn unlisted(probe: &Probe<'_>, base: &str, name: &str, packument: &Fetched<Packument>) -> Finding {
    let version = probe.target.version();
    let subject = format!("npm {name}@{version}");
    let url = format!("{base}/{}/{version}", package_path(name));
    let listed = packument.doc.versions.len();
    match fetch::get(probe.http, &url, "application/json") {
        Ok(r) => Finding::incomplete(
            PUBLISHED,
            &subject,
            format!(
                "the package document ({}) does not list {version}, but {} answers it: two answers of the registry disagree (npm caches package documents for minutes after a publish); re-run later or with --wait",
                packument.url, r.url
            ),
        )
        .with(packument.evidence())
        .with(url_evidence(&r.url, Some(r.status))),
        Err(e) if e.absent_status().is_some() => Finding::fail(
            PUBLISHED,
            &subject,
            format!("version {version} is not published (the package lists {listed} other version(s))"),
        )
        .with(packument.evidence())
        .with(e.evidence()),
        Err(e) => e.finding(&PUBLISHED, &subject, Absent::Incomplete("")).with(packument.evidence()),
    }
}

/// `dist-tags.latest`, from the package document already read.
fn latest(probe: &Probe<'_>, name: &str, fetched: &Fetched<Packument>) -> Finding {
    let subject = format!("npm {name} dist-tags.latest");
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
    fn both_document_forms_give_dist_tags_and_dist() {
        // The abbreviated form (npm/registry docs), and a full one as a cache re-serialised it.
        let short = r#"{"dist-tags":{"latest":"1.0.0"},"modified":"2015-05-16T22:27:54.741Z","name":"tiny-tarball",
            "versions":{"1.0.0":{"_hasShrinkwrap":false,"directories":{},"dist":{"shasum":"bbf102d5ae73afe2c553295e0fb02230216f65b1",
            "tarball":"https://registry.example/tiny-tarball/-/tiny-tarball-1.0.0.tgz"},"name":"tiny-tarball","version":"1.0.0"}}}"#;
        let full = r#"{"_id":"is-number","name":"is-number","dist-tags":{"latest":"7.0.0"},
            "versions":{"7.0.0":{"name":"is-number","version":"7.0.0","engines":{"node":">=0.12.0"},"_id":"is-number@7.0.0",
              "dist":{"integrity":"sha512-41Cifkg6e8TylSpdtTpeLVMqvSBEVzTttHvERD741+pnZ8ANv0004MRL43QKPDlK9cGvNp6NZWZUBlbGXYxxng==",
              "shasum":"7535345b896734d5f80c4d06c50955527a14f12b","tarball":"https://registry.example/is-number/-/is-number-7.0.0.tgz"}},
              "6.0.0":"{…}"},
            "time":{"7.0.0":"2024-02-27T16:27:13.411000+00:00"}}"#;
        for (text, v) in [(short, "1.0.0"), (full, "7.0.0")] {
            let doc: Packument = serde_json::from_str(text).unwrap();
            assert_eq!(doc.dist_tags["latest"], v);
            // A version object that is not one (the trimmed `6.0.0`) does not spoil the others.
            let version: VersionDoc = serde_json::from_value(doc.versions[v].clone()).unwrap();
            assert_eq!(version.version, v);
            assert!(version.dist.tarball.ends_with(&format!("-{v}.tgz")));
        }
    }

    #[test]
    fn scoped_names_are_encoded() {
        assert_eq!(package_path("@scope/pkg"), "@scope%2fpkg");
        assert_eq!(package_path("plasmite"), "plasmite");
    }
}
