//! The Keep-a-Changelog file: `## [Unreleased]` and `## [X.Y.Z] - YYYY-MM-DD` sections.
//!
//! As in the release workflow, a heading is any line starting with `## [`, except inside a
//! fenced code block (```` ``` ```` or `~~~`, as Markdown renders it): an example heading in a
//! code block is body, never the release's section. Everything else is body. [`parse`] is strict about headings (each must be one of the two forms, with a valid
//! version and date, and appear once), so a typo is an error naming its line rather than a
//! section that silently goes missing.

use anyhow::bail;
use camino::Utf8Path;

use crate::{
    clock::Date,
    policy::ConfigError,
    report::CheckId,
    report::{Evidence, Finding},
    target::ReleaseTarget,
};

/// Check id used in findings.
pub const CHECK: CheckId = CheckId::CHANGELOG;

/// A parsed changelog: its sections in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changelog {
    /// Sections, newest first as written.
    pub sections: Vec<Section>,
    lines: Vec<String>,
}

/// One `## [...]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// What the heading says.
    pub heading: Heading,
    /// 1-based line of the heading.
    pub line: usize,
    /// 0-based index range of the body lines (after the heading, up to the next heading).
    body: std::ops::Range<usize>,
}

/// A section heading.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heading {
    /// `## [Unreleased]`.
    Unreleased,
    /// `## [X.Y.Z] - YYYY-MM-DD`.
    Release {
        /// The version in the brackets.
        version: ReleaseTarget,
        /// The date after it.
        date: Date,
    },
}

/// Parses changelog text; `file` is used in messages.
pub fn parse(file: &Utf8Path, text: &str) -> anyhow::Result<Changelog> {
    let lines: Vec<String> = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l).to_string()).collect();
    let mut sections: Vec<Section> = Vec::new();
    // The line of each section seen so far, by what makes two headings the same section.
    let mut seen: std::collections::HashMap<Option<ReleaseTarget>, usize> = std::collections::HashMap::new();
    let mut fence: Option<(char, usize, usize)> = None;
    for (i, line) in lines.iter().enumerate() {
        match (fence, fence_marker(line)) {
            (None, Some((c, len, _))) => {
                fence = Some((c, len, i + 1));
                continue;
            }
            (Some((c, len, _)), Some((d, n, rest))) if c == d && n >= len && rest.trim().is_empty() => {
                fence = None;
                continue;
            }
            (Some(_), _) => continue,
            (None, None) => {}
        }
        if !line.starts_with("## [") {
            continue;
        }
        let n = i + 1;
        let at = |message: String| ConfigError::at(file.as_str(), Some(n), message);
        let heading = parse_heading(line).map_err(|e| at(format!("{file}:{n}: {e}")))?;
        // One lookup per heading, not a scan of the sections before it: linear in the file.
        if let Some(prev) = seen.insert(section_key(&heading), n) {
            return Err(at(format!("{file}:{n}: `{line}` repeats the section at line {prev}")));
        }
        if let Some(last) = sections.last_mut() {
            last.body.end = i;
        }
        sections.push(Section { heading, line: n, body: i + 1..lines.len() });
    }
    if let Some((c, len, opened)) = fence {
        // CommonMark runs an unclosed fence to the end of the file, hiding every heading after
        // it; say where rather than report those sections as missing.
        let message =
            format!("{file}:{opened}: the code block opened here (`{}`) is never closed", c.to_string().repeat(len));
        return Err(ConfigError::at(file.as_str(), Some(opened), message));
    }
    Ok(Changelog { sections, lines })
}

/// A fence line: up to three spaces, then three or more backticks or tildes. Returns the
/// character, the run's length and what follows it.
fn fence_marker(line: &str) -> Option<(char, usize, &str)> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let c = trimmed.chars().next().filter(|c| *c == '`' || *c == '~')?;
    let len = trimmed.chars().take_while(|x| *x == c).count();
    // `c` is ASCII, so `len` characters are `len` bytes.
    (len >= 3).then(|| (c, len, &trimmed[len..]))
}

/// What makes two headings the same section: `[Unreleased]` (`None`), or the version (the
/// date does not count).
fn section_key(heading: &Heading) -> Option<ReleaseTarget> {
    match heading {
        Heading::Unreleased => None,
        Heading::Release { version, .. } => Some(version.clone()),
    }
}

fn parse_heading(line: &str) -> anyhow::Result<Heading> {
    let rest = &line["## [".len()..];
    let Some((inside, after)) = rest.split_once(']') else {
        bail!("heading `{line}` has no closing `]`");
    };
    if inside == "Unreleased" {
        if !after.trim().is_empty() {
            bail!("`{line}`: nothing may follow `## [Unreleased]`");
        }
        return Ok(Heading::Unreleased);
    }
    if let Some(plain) = inside.strip_prefix('v') {
        bail!("`{line}`: write the version without `v` (`## [{plain}]`)");
    }
    let version = ReleaseTarget::parse(inside).map_err(|e| anyhow::anyhow!("`{line}`: {e:#}"))?;
    let Some(date) = after.strip_prefix(" - ") else {
        bail!("`{line}`: a release heading is `## [{inside}] - YYYY-MM-DD`");
    };
    let date = Date::parse(date.trim_end()).map_err(|e| anyhow::anyhow!("`{line}`: {e:#}"))?;
    Ok(Heading::Release { version, date })
}

impl Changelog {
    /// The section of `target`, if there is one.
    pub fn section(&self, target: &ReleaseTarget) -> Option<&Section> {
        self.sections.iter().find(|s| matches!(&s.heading, Heading::Release { version, .. } if version == target))
    }

    /// The `## [Unreleased]` section, if there is one.
    pub fn unreleased(&self) -> Option<&Section> {
        self.sections.iter().find(|s| s.heading == Heading::Unreleased)
    }

    /// The body lines of a section.
    pub fn body(&self, section: &Section) -> &[String] {
        &self.lines[section.body.clone()]
    }

    /// True when a section's body has no text other than blank lines.
    pub fn is_empty(&self, section: &Section) -> bool {
        self.body(section).iter().all(|l| l.trim().is_empty())
    }

    /// The release notes of `target` exactly as the publish workflow extracts them: every body
    /// line of its section (the blank line after the heading and `###` subsections included),
    /// trailing newlines dropped. `None` when the section is missing or empty, where the
    /// workflow falls back to a link to the changelog.
    pub fn notes(&self, target: &ReleaseTarget) -> Option<String> {
        let section = self.section(target)?;
        let notes = self.body(section).join("\n");
        let notes = notes.trim_end_matches('\n');
        (!notes.trim().is_empty()).then(|| notes.to_string())
    }
}

/// Checks that `target` has a dated, non-empty section. Fails when it is absent or still only
/// under `[Unreleased]`.
pub fn check(file: &Utf8Path, changelog: &Changelog, target: &ReleaseTarget) -> Finding {
    let subject = format!("{file} [{}]", target.version());
    match changelog.section(target) {
        Some(section) => {
            let evidence = Evidence::file_line(file.as_str(), section.line);
            let Heading::Release { date, .. } = &section.heading else {
                unreachable!("section() only returns release sections")
            };
            if changelog.is_empty(section) {
                Finding::fail(
                    CHECK,
                    subject,
                    format!("the section for {} (dated {date}) has no notes", target.version()),
                )
                .with(evidence)
            } else {
                Finding::pass(CHECK, subject, format!("section `## [{}] - {date}`", target.version())).with(evidence)
            }
        }
        None => {
            let hint = match changelog.unreleased() {
                Some(u) if !changelog.is_empty(u) => format!(
                    "its notes are still under [Unreleased] (line {}); run `cargo xtask release changelog {} --finalize`",
                    u.line,
                    target.tag()
                ),
                _ => "add a `## [X.Y.Z] - YYYY-MM-DD` section with the release notes".to_string(),
            };
            Finding::fail(CHECK, subject, format!("{file} has no section for {}: {hint}", target.version()))
                .with(Evidence::file(file.as_str()))
        }
    }
}

/// Turns `## [Unreleased]` into `## [X.Y.Z] - date` and puts a fresh, empty `## [Unreleased]`
/// above it. Refuses when the target already has a section or Unreleased is missing or empty.
pub fn finalize(file: &Utf8Path, text: &str, target: &ReleaseTarget, date: Date) -> anyhow::Result<String> {
    let changelog = parse(file, text)?;
    if let Some(existing) = changelog.section(target) {
        bail!("{file}:{}: {} already has a section", existing.line, target.version());
    }
    let Some(unreleased) = changelog.unreleased() else {
        bail!("{file}: there is no `## [Unreleased]` section to finalize");
    };
    if changelog.is_empty(unreleased) {
        bail!("{file}:{}: [Unreleased] is empty: write the release notes first", unreleased.line);
    }
    let newer = changelog.sections.iter().find_map(|s| match &s.heading {
        Heading::Release { version, .. } if version >= target => Some((version, s.line)),
        _ => None,
    });
    if let Some((version, line)) = newer {
        bail!("{file}:{line}: {} is not newer than the released {}", target.version(), version.version());
    }
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let mut out: Vec<String> = changelog.lines.clone();
    let i = unreleased.line - 1;
    out[i] = format!("## [{}] - {date}", target.version());
    out.splice(i..i, ["## [Unreleased]".to_string(), String::new()]);
    Ok(out.join(eol))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "# Changelog\n\nAll notable changes.\n\n## [Unreleased]\n\n### Added\n- thing\n\n## [0.8.0] - 2026-07-28\n\n### Improved\n- faster\n    indented line\n\n## [0.7.1] - 2026-06-01\n\n- fix\n";

    fn cl(text: &str) -> Changelog {
        parse(Utf8Path::new("CHANGELOG.md"), text).unwrap()
    }

    fn t(s: &str) -> ReleaseTarget {
        ReleaseTarget::parse(s).unwrap()
    }

    #[test]
    fn notes_match_the_workflow_extraction() {
        // Blank line after the heading kept, indentation kept (bug 28), trailing newlines dropped.
        assert_eq!(cl(TEXT).notes(&t("0.8.0")).unwrap(), "\n### Improved\n- faster\n    indented line");
        assert_eq!(cl(TEXT).notes(&t("0.7.1")).unwrap(), "\n- fix");
        assert_eq!(cl(TEXT).notes(&t("0.1.5")), None);
    }

    #[test]
    fn exact_versions_not_substrings() {
        let text = "## [10.8.0] - 2026-07-28\n- big\n## [0.8.0-rc.1] - 2026-07-01\n- rc\n";
        let c = cl(text);
        assert!(c.section(&t("0.8.0")).is_none());
        assert_eq!(check(Utf8Path::new("CHANGELOG.md"), &c, &t("0.8.0")).outcome, crate::report::Outcome::Fail);
        assert_eq!(c.notes(&t("0.8.0-rc.1")).unwrap(), "- rc");
    }

    #[test]
    fn check_outcomes() {
        let f = Utf8Path::new("CHANGELOG.md");
        assert_eq!(check(f, &cl(TEXT), &t("v0.8.0")).outcome, crate::report::Outcome::Pass);
        let only_unreleased = check(f, &cl(TEXT), &t("v0.9.0"));
        assert_eq!(only_unreleased.outcome, crate::report::Outcome::Fail);
        assert!(only_unreleased.detail.contains("still under [Unreleased] (line 5)"), "{}", only_unreleased.detail);
        let empty = check(f, &cl("## [0.9.0] - 2026-01-01\n\n## [0.8.0] - 2025-01-01\n- x\n"), &t("0.9.0"));
        assert_eq!(empty.outcome, crate::report::Outcome::Fail);
    }

    #[test]
    fn finalize_dates_and_adds_a_fresh_unreleased() {
        let date = Date::parse("2026-11-21").unwrap();
        let out = finalize(Utf8Path::new("CHANGELOG.md"), TEXT, &t("v0.9.0"), date).unwrap();
        assert!(out.contains("## [Unreleased]\n\n## [0.9.0] - 2026-11-21\n\n### Added\n- thing\n"), "{out}");
        assert_eq!(cl(&out).notes(&t("0.9.0")).unwrap(), "\n### Added\n- thing");
        assert!(cl(&out).is_empty(cl(&out).unreleased().unwrap()));
        // Again: the section exists now.
        assert!(finalize(Utf8Path::new("CHANGELOG.md"), &out, &t("v0.9.0"), date).is_err());
        // Empty Unreleased and an older target are refused.
        assert!(finalize(Utf8Path::new("c"), &out, &t("v0.9.1"), date).is_err());
        assert!(finalize(Utf8Path::new("c"), TEXT, &t("v0.7.5"), date).is_err());
    }

    #[test]
    fn headings_inside_code_blocks_are_body_not_sections() {
        let f = Utf8Path::new("CHANGELOG.md");
        // The notes show an example heading for the release; the release has no section.
        let text = "## [Unreleased]\n\n- how to write one:\n\n```markdown\n## [0.9.0] - 2026-01-01\n- x\n```\n\n## [0.8.0] - 2025-01-01\n- y\n";
        let c = cl(text);
        assert!(c.section(&t("0.9.0")).is_none());
        assert_eq!(check(f, &c, &t("0.9.0")).outcome, crate::report::Outcome::Fail);
        assert!(c.body(c.unreleased().unwrap()).iter().any(|l| l == "## [0.9.0] - 2026-01-01"));
        assert_eq!(c.notes(&t("0.8.0")).unwrap(), "- y");
        // Tildes, a longer opening run and an indented fence are fences too; a shorter run
        // does not close a longer one.
        let tilde = "  ~~~~\n## [0.9.0] - 2026-01-01\n~~~\n- x\n~~~~\n## [0.8.0] - 2025-01-01\n- y\n";
        assert!(cl(tilde).section(&t("0.9.0")).is_none());
        assert!(cl(tilde).section(&t("0.8.0")).is_some());
        // A fence never closed hides the rest of the file: an error naming where it opened.
        let open = "## [Unreleased]\n```\n## [0.9.0] - 2026-01-01\n- x\n";
        let e = format!("{:#}", parse(f, open).unwrap_err());
        assert!(e.starts_with("CHANGELOG.md:2:") && e.contains("never closed"), "{e}");
    }

    #[test]
    fn malformed_headings_name_their_line() {
        for (text, line) in [
            ("## [0.8.0]\n", 1),
            ("x\n## [0.8.0] - 2026-13-01\n", 2),
            ("\n\n## [v0.8.0] - 2026-01-01\n", 3),
            ("## [0.8] - 2026-01-01\n", 1),
            ("## [Unreleased]\n## [Unreleased]\n", 2),
            ("## [0.8.0] - 2026-01-01\n## [0.8.0] - 2026-01-02\n", 2),
            ("## [Unreleased\n", 1),
            ("## [0.8.0] 2026-01-01\n", 1),
        ] {
            let e = format!("{:#}", parse(Utf8Path::new("CHANGELOG.md"), text).unwrap_err());
            assert!(e.starts_with(&format!("CHANGELOG.md:{line}:")), "{text:?}: {e}");
        }
    }
}
