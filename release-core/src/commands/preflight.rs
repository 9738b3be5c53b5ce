//! `preflight`: before anything is tagged or dispatched, the GitHub token can do what the
//! release needs, the repository has the publish secrets, and the workflows' tool pins agree.
//!
//! GitHub says what a token may do in two ways: a classic token's scopes come in the
//! `X-OAuth-Scopes` header of every answer; a fine-grained or app token lists nothing, and a
//! request it lacks a permission for answers 403 with `X-Accepted-GitHub-Permissions` naming
//! it. Reads are therefore probed (a 403 names the missing permission: `Fail`); writes are
//! never tried here (a probe that writes is not a preflight), so for a token without scopes
//! they rest on the account's role (`permissions.push` of the repository), said so in the
//! finding. A check the token may not read (the secrets list) is `Incomplete`, naming the
//! permission it lacks.

use serde_json::Value;

use super::{Recorded, record};
use crate::{
    context::Context,
    fetch::url_evidence,
    github::GitHub,
    http::Response,
    policy::Tracker,
    report::{CheckId, Evidence, Finding, Report},
    target::ReleaseTarget,
};

/// `preflight [vX.Y.Z] [--live]`.
#[derive(Debug, Clone)]
pub struct PreflightRequest {
    /// The release [default: the version every surface agrees on].
    pub target: Option<ReleaseTarget>,
    /// Check the secrets only a live publish needs too [default: when the record's mode is live].
    pub live: Option<bool>,
}

/// What a release asks of the token: (what, fine-grained permission, level, classic scopes
/// that grant it, whether it writes).
const NEEDS: [(&str, &str, &str, &[&str], bool); 4] = [
    ("read workflow runs, jobs, logs and artifacts", "actions", "read", &["repo", "public_repo"], false),
    ("dispatch the build and publish workflows", "actions", "write", &["repo"], true),
    ("write contents (tags, the GitHub release)", "contents", "write", &["repo", "public_repo"], true),
    ("file release blockers as issues", "issues", "write", &["repo", "public_repo"], true),
];

/// Checks the token, the publish secrets and the workflow pins; records the report.
pub fn preflight(cx: &Context, request: &PreflightRequest) -> anyhow::Result<Recorded> {
    let target = match &request.target {
        Some(t) => t.clone(),
        None => super::default_target(cx)?,
    };
    let live = match request.live {
        Some(live) => live,
        None => crate::evidence::load(&cx.repo, &target)?.is_some_and(|r| r.mode == crate::evidence::Mode::Live),
    };
    let mut findings = Vec::new();
    match cx.policy.project.github.as_deref() {
        None => findings.push(Finding::fail(
            CheckId::PREFLIGHT_TOKEN,
            "github",
            format!("{}: the release runs on GitHub Actions but `[project] github` is not set", cx.policy.path),
        )),
        Some(repo) => {
            let gh = GitHub::new(&cx.http, cx.http.github_api(), repo);
            findings.extend(token(cx, &gh));
            findings.extend(secrets(cx, &gh, live));
        }
    }
    findings.extend(pins(cx));
    record(cx, Some(&target), Report::new("preflight", Some(target.tag()), findings))
}

/// The permission a 403 named, else the one expected.
fn named(r: &Response, permission: &str, level: &str) -> String {
    r.github.accepted_permissions.clone().unwrap_or_else(|| format!("{permission}={level}"))
}

fn token(cx: &Context, gh: &GitHub<'_>) -> Vec<Finding> {
    let check = CheckId::PREFLIGHT_TOKEN;
    let subject = format!("GitHub token for {}", gh.repo());
    if !cx.http.has_token() {
        return vec![Finding::fail(
            &check,
            &subject,
            "no GitHub token: set GH_TOKEN (or GITHUB_TOKEN), or log in with `gh auth login`",
        )];
    }
    let url = gh.repo_url();
    let about = match cx.http.get(&url, "application/vnd.github+json") {
        Err(e) => return vec![Finding::incomplete(&check, &subject, format!("GitHub did not answer: {e:#}"))],
        Ok(r) => r,
    };
    let ev = url_evidence(&about.url, Some(about.status));
    match about.status {
        200 => {}
        401 => {
            return vec![Finding::fail(&check, &subject, "GitHub refuses the token (401: bad credentials)").with(ev)];
        }
        404 => {
            return vec![
                Finding::incomplete(
                    &check,
                    &subject,
                    "the repository is not visible with this token (404: missing, or the token may not see it)",
                )
                .with(ev),
            ];
        }
        s => return vec![Finding::incomplete(&check, &subject, format!("GitHub answered HTTP {s}")).with(ev)],
    }
    let doc: Value = about.json().unwrap_or(Value::Null);
    let push = doc["permissions"]["push"].as_bool();
    let scopes: Option<Vec<String>> = about
        .github
        .oauth_scopes
        .as_deref()
        .map(|s| s.split(',').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect());
    let issues_needed = cx.policy.blockers.tracker == Tracker::Github;
    let mut out = Vec::new();
    for (what, permission, level, classic, writes) in NEEDS {
        let subject = format!("token may {what} ({permission}: {level})");
        if permission == "issues" && !issues_needed {
            out.push(Finding::skipped(
                &check,
                subject,
                "blockers are not filed as GitHub issues (`[blockers] tracker`)",
            ));
            continue;
        }
        let finding = if let Some(scopes) = &scopes {
            // A classic token: its scopes say it all, with the account's role for writes.
            let has = classic.iter().any(|c| scopes.iter().any(|s| s == c));
            match (has, writes, push) {
                (false, _, _) => Finding::fail(
                    &check,
                    &subject,
                    format!(
                        "the classic token's scopes ({}) lack {}: add it, or use a fine-grained token with {permission}: {level}",
                        if scopes.is_empty() { "none".to_string() } else { scopes.join(", ") },
                        classic.join(" or ")
                    ),
                ),
                (true, true, Some(false)) => Finding::fail(
                    &check,
                    &subject,
                    format!("your account has no write access to {} (permissions.push is false)", gh.repo()),
                ),
                _ => Finding::pass(&check, &subject, format!("classic token with {}", scopes.join(", "))),
            }
        } else if !writes {
            probe_read(cx, gh, &subject, permission, level)
        } else {
            match push {
                Some(true) => Finding::pass(
                    &check,
                    &subject,
                    format!(
                        "your account may write to {}; GitHub does not list a fine-grained token's own permissions, so a missing {permission}: {level} is named (403, X-Accepted-GitHub-Permissions) at the first write",
                        gh.repo()
                    ),
                ),
                Some(false) => Finding::fail(
                    &check,
                    &subject,
                    format!("your account has no write access to {} (permissions.push is false)", gh.repo()),
                ),
                None => Finding::incomplete(
                    &check,
                    &subject,
                    format!(
                        "GitHub did not say whether this token may write ({permission}: {level}): no permissions object"
                    ),
                ),
            }
        };
        out.push(finding.with(ev.clone()));
    }
    out
}

/// A read the release needs, tried: 200 passes, 403 names the missing permission.
fn probe_read(cx: &Context, gh: &GitHub<'_>, subject: &str, permission: &str, level: &str) -> Finding {
    let check = CheckId::PREFLIGHT_TOKEN;
    let url = format!("{}/actions/runs?per_page=1", gh.repo_url());
    match cx.http.get(&url, "application/vnd.github+json") {
        Err(e) => Finding::incomplete(&check, subject, format!("GitHub did not answer: {e:#}")),
        Ok(r) => {
            let ev = url_evidence(&r.url, Some(r.status));
            match r.status {
                200 => Finding::pass(&check, subject, "the workflow runs can be listed").with(ev),
                403 => Finding::fail(
                    &check,
                    subject,
                    format!("the token lacks {}: GitHub refused to list workflow runs", named(&r, permission, level)),
                )
                .with(ev),
                s => Finding::incomplete(&check, subject, format!("listing workflow runs answered HTTP {s}")).with(ev),
            }
        }
    }
}

fn secrets(cx: &Context, gh: &GitHub<'_>, live: bool) -> Vec<Finding> {
    let check = CheckId::PREFLIGHT_SECRETS;
    let policy = &cx.policy.release;
    let wanted: Vec<(&String, bool)> =
        policy.secrets.iter().map(|s| (s, false)).chain(policy.live_secrets.iter().map(|s| (s, true))).collect();
    if wanted.is_empty() {
        return vec![Finding::skipped(&check, "secrets", "the policy names no secrets (`[release] secrets`)")];
    }
    if !cx.http.has_token() {
        return vec![Finding::incomplete(&check, "secrets", "no GitHub token to list the repository's secrets with")];
    }
    let url = format!("{}/actions/secrets?per_page=100", gh.repo_url());
    // The first page raw, for a refusal's X-Accepted-GitHub-Permissions; then every page.
    let first = match cx.http.get(&url, "application/vnd.github+json") {
        Err(e) => return vec![Finding::incomplete(&check, "secrets", format!("GitHub did not answer: {e:#}"))],
        Ok(r) => r,
    };
    if matches!(first.status, 401 | 403 | 404) {
        let needs = named(&first, "secrets", "read");
        return vec![
            Finding::incomplete(
                &check,
                "secrets",
                format!(
                    "the token may not list the repository's Actions secrets (HTTP {}; it needs {needs}): whether {} exist is unknown",
                    first.status,
                    wanted.iter().map(|(s, _)| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            )
            .with(url_evidence(&first.url, Some(first.status))),
        ];
    }
    let names = match gh.secret_names() {
        Ok(listed) => listed.items,
        Err(e) => return vec![e.finding(&check, "secrets", crate::fetch::Absent::Incomplete("no secrets listing"))],
    };
    let ev = url_evidence(&url, Some(200));
    wanted
        .into_iter()
        .map(|(name, live_only)| {
            let subject = format!("secret {name}{}", if live_only { " (live)" } else { "" });
            let f = if names.iter().any(|n| n == name) {
                Finding::pass(&check, subject, "the repository has it (names only are listed)")
            } else if live_only && !live {
                Finding::skipped(&check, subject, "missing, but only a live publish needs it (this release is not live)")
            } else {
                Finding::fail(
                    &check,
                    subject,
                    format!(
                        "not among the repository's Actions secrets: add it (Settings > Secrets and variables > Actions) before publishing{}",
                        if live_only { " live" } else { "" }
                    ),
                )
            };
            f.with(ev.clone())
        })
        .collect()
}

/// `(line, value)` of every `NAME: value` / `NAME=value` assignment of `name` in a workflow,
/// skipping expressions (`${{ ... }}`, `$X`), which set nothing of their own.
pub(crate) fn pin_values(text: &str, name: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start().trim_start_matches("- ").trim_start_matches("export ");
        let Some(rest) = trimmed.strip_prefix(name) else { continue };
        let Some(value) = rest.trim_start().strip_prefix([':', '=']) else { continue };
        let value = value.split(" #").next().unwrap_or("").trim().trim_matches(['"', '\'']);
        if value.is_empty() || value.contains('$') {
            continue;
        }
        out.push((i + 1, value.to_string()));
    }
    out
}

fn pins(cx: &Context) -> Vec<Finding> {
    let check = CheckId::PREFLIGHT_PINS;
    let names = &cx.policy.release.pins;
    if names.is_empty() {
        return vec![Finding::skipped(&check, "pins", "the policy names no workflow pins (`[release] pins`)")];
    }
    let dir = cx.repo.path(".github/workflows");
    let mut files: Vec<(String, String)> = match dir.read_dir_utf8() {
        Err(e) => {
            return vec![Finding::fail(
                &check,
                ".github/workflows",
                format!("cannot list the workflows in {dir}: {e}"),
            )];
        }
        Ok(entries) => entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().ends_with(".yml") || e.file_name().ends_with(".yaml"))
            .filter_map(|e| {
                let text = std::fs::read_to_string(e.path()).ok()?;
                Some((format!(".github/workflows/{}", e.file_name()), text))
            })
            .collect(),
    };
    files.sort();
    names
        .iter()
        .map(|name| {
            let seen: Vec<(String, usize, String)> = files
                .iter()
                .flat_map(|(file, text)| pin_values(text, name).into_iter().map(|(l, v)| (file.clone(), l, v)))
                .collect();
            let evidence =
                |f: Finding| seen.iter().fold(f, |f, (file, line, _)| f.with(Evidence::file_line(file, *line)));
            let mut values: Vec<&str> = seen.iter().map(|(_, _, v)| v.as_str()).collect();
            values.sort_unstable();
            values.dedup();
            match values.as_slice() {
                [] => {
                    Finding::fail(&check, name, "no workflow sets it: the pin the policy names is not applied anywhere")
                }
                [one] => evidence(Finding::pass(&check, name, format!("{one} in {} place(s)", seen.len()))),
                many => {
                    let places: Vec<String> = seen.iter().map(|(f, l, v)| format!("{f}:{l} = {v}")).collect();
                    evidence(Finding::fail(
                        &check,
                        name,
                        format!("{} values ({}): {}", many.len(), many.join(", "), places.join("; ")),
                    ))
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_read_from_assignments_not_expressions() {
        let text = "env:\n  RELEASE_RUST_TOOLCHAIN: \"1.88.0\"\n  CARGO_BINSTALL_VERSION: 1.10.0 # pin\njobs:\n  x:\n    steps:\n      - run: echo ${{ env.RELEASE_RUST_TOOLCHAIN }}\n      - run: export RELEASE_RUST_TOOLCHAIN=$X\n";
        assert_eq!(pin_values(text, "RELEASE_RUST_TOOLCHAIN"), vec![(2, "1.88.0".to_string())]);
        assert_eq!(pin_values(text, "CARGO_BINSTALL_VERSION"), vec![(3, "1.10.0".to_string())]);
        assert!(pin_values("  RELEASE_RUST_TOOLCHAIN_X: 1\n", "RELEASE_RUST_TOOLCHAIN").is_empty());
    }
}
