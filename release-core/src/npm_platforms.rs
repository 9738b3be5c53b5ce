//! The Node platform lists kept outside the manifest (`package.json` `files`, the workflow's
//! `node-native-<platform>` artifacts) must equal the manifest's npm platforms (bug 14: in
//! plasmite they list five, four and three).

use std::collections::BTreeSet;

use crate::{
    manifest::{Channel, Manifest},
    policy::NpmPlatformsPolicy,
    repo::Repo,
    report::{CheckId, Evidence, Finding},
};

/// One finding per file of `[npm_platforms]`: its platforms against the `node_platform`s of
/// the manifest's npm targets (any tier).
pub fn check(repo: &Repo, policy: &NpmPlatformsPolicy, manifest: &Manifest) -> Vec<Finding> {
    let expected: BTreeSet<String> =
        manifest.targets.iter().filter(|t| t.tier(Channel::Npm).is_some()).map(|t| t.node_platform.clone()).collect();
    let mut out = Vec::new();
    let package = policy.package_json.as_str();
    out.push(match read(repo, package).and_then(|text| package_json_platforms(package, &text)) {
        Ok(found) => compare(package, "`files` lists", &found, &expected),
        Err(why) => Finding::fail(CheckId::TARGETS, package, why),
    });
    for workflow in &policy.workflows {
        let shown = workflow.as_str();
        out.push(match read(repo, shown) {
            Ok(text) => compare(shown, "downloads node-native artifacts for", &workflow_platforms(&text), &expected),
            Err(why) => Finding::fail(CheckId::TARGETS, shown, why),
        });
    }
    out.into_iter()
        .map(|f| {
            let subject = f.subject.clone();
            f.with(Evidence::file(subject.as_str()))
        })
        .collect()
}

fn read(repo: &Repo, file: &str) -> Result<String, String> {
    std::fs::read_to_string(repo.path(file)).map_err(|e| format!("cannot read {file}: {e}"))
}

/// The platforms of `native/<platform>/...` entries of `package.json`'s `files`.
fn package_json_platforms(file: &str, text: &str) -> Result<BTreeSet<String>, String> {
    let doc: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("{file} is not valid JSON: {e}"))?;
    let files = doc.get("files").and_then(|f| f.as_array()).ok_or_else(|| format!("{file} has no `files` list"))?;
    Ok(files
        .iter()
        .filter_map(|f| f.as_str())
        .filter_map(|f| f.trim_start_matches("./").strip_prefix("native/"))
        .filter_map(|rest| rest.split('/').next())
        .filter(|p| !p.is_empty() && !p.contains(['*', '?', '{', '[']))
        .map(str::to_string)
        .collect())
}

/// The platforms of literal `node-native-<platform>` names in a workflow.
fn workflow_platforms(text: &str) -> BTreeSet<String> {
    text.match_indices("node-native-")
        .map(|(at, m)| {
            let rest = &text[at + m.len()..];
            let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_')).unwrap_or(rest.len());
            rest[..end].to_string()
        })
        .filter(|p| !p.is_empty())
        .collect()
}

fn compare(file: &str, what: &str, found: &BTreeSet<String>, expected: &BTreeSet<String>) -> Finding {
    let list = |set: &BTreeSet<String>| set.iter().cloned().collect::<Vec<_>>().join(", ");
    if found == expected {
        return Finding::pass(CheckId::TARGETS, file, format!("{what} the manifest's npm platforms: {}", list(found)));
    }
    let missing: BTreeSet<String> = expected.difference(found).cloned().collect();
    let extra: BTreeSet<String> = found.difference(expected).cloned().collect();
    let mut parts = Vec::new();
    if !missing.is_empty() {
        parts.push(format!("missing {} (npm targets in the manifest)", list(&missing)));
    }
    if !extra.is_empty() {
        parts.push(format!("extra {} (not an npm target in the manifest)", list(&extra)));
    }
    Finding::fail(
        CheckId::TARGETS,
        file,
        format!("{what} {}, the manifest's npm platforms are {}: {}", list(found), list(expected), parts.join("; ")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms_are_read_from_files_entries_and_artifact_names() {
        let pkg = r#"{"files": ["index.js", "native/linux-x64/**", "./native/darwin-arm64/index.node", "native/*/x"]}"#;
        assert_eq!(
            package_json_platforms("p.json", pkg).unwrap(),
            BTreeSet::from(["darwin-arm64".into(), "linux-x64".into()])
        );
        let wf = "name: node-native-${{ matrix.node_platform }}\n  name: node-native-linux-x64\n  name: node-native-win32-x64\n";
        assert_eq!(workflow_platforms(wf), BTreeSet::from(["linux-x64".into(), "win32-x64".into()]));
        let f = compare(
            "w.yml",
            "lists",
            &workflow_platforms(wf),
            &BTreeSet::from(["linux-x64".into(), "darwin-x64".into()]),
        );
        assert!(f.detail.contains("missing darwin-x64") && f.detail.contains("extra win32-x64"), "{}", f.detail);
    }
}
