//! Homebrew: update a tap's existing formula in place for a new release. Only the `version`
//! line (when there is one), each `url` line and the `sha256` line that follows it change, and
//! on those lines only the quoted value: description, licence, install and test blocks, the
//! Linux `odie` branch, comments and line endings stay byte for byte (issue 11).
//!
//! Each url is matched to its sums line by the archive's base name: the url's last segment with
//! the formula's version replaced by the new one (`plasmite_0.7.2_darwin_arm64.tar.gz` ->
//! `plasmite_0.8.0_darwin_arm64.tar.gz`). A version is replaced as a whole token, never as a
//! substring (`0.8.0` inside `10.8.0` is left alone).

use anyhow::bail;

use super::{SumLine, homebrew, sum_for};
use crate::{notices, target::ReleaseTarget};

/// One line the update changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineChange {
    /// 1-based line number.
    pub line: usize,
    /// The line before, without its line ending.
    pub before: String,
    /// The line after, without its line ending.
    pub after: String,
}

/// What updating a formula gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Updated {
    /// The formula's version before the update (its `version` line, else its urls').
    pub from: String,
    /// The whole formula after the update (equal to the input when nothing changes).
    pub text: String,
    /// The lines that change, in file order; empty when the formula is already at the release.
    pub changes: Vec<LineChange>,
}

/// Updates formula `text` (read from `file`, named in every message) to `version` with the
/// digests of `sums`. Refuses, naming the file and line, a formula this cannot edit safely: one
/// cut short, with no `url`, a `url` without a `sha256` after it, two `sha256` for one `url`,
/// two `version` lines, a url that does not carry the formula's version, an archive the sums
/// file has no line for; and a move to an older version than the formula has.
pub fn update(file: &str, text: &str, version: &ReleaseTarget, sums: &[SumLine]) -> anyhow::Result<Updated> {
    let formula = homebrew::parse(text);
    if !formula.whole {
        bail!("{file}: the formula does not close every block it opens (`class ... end`): not edited");
    }
    if let Some(duplicate) = formula.duplicates.first() {
        bail!("{file}: {duplicate}: which one Homebrew uses is a guess, so the formula is not edited");
    }
    if formula.entries.is_empty() {
        bail!("{file}: no `url \"...\"` line: nothing to update");
    }
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut edits: Vec<(usize, String)> = Vec::new();
    for entry in &formula.entries {
        let Some(sha_line) = entry.sha256_line else {
            bail!("{file}:{}: the url has no `sha256 \"...\"` line after it in its block", entry.line);
        };
        if entry.sha256.is_none() {
            bail!("{file}:{sha_line}: the sha256 is not a quoted string");
        }
        if entry.url.contains("#{") {
            bail!("{file}:{}: the url interpolates Ruby (`#{{...}}`): edit it by hand", entry.line);
        }
    }
    let from = match &formula.version {
        Some((v, _)) => v.clone(),
        None => version_of_urls(file, &formula, version)?,
    };
    let old = ReleaseTarget::parse(&from)
        .map_err(|e| anyhow::anyhow!("{file}: the formula's version `{from}` is not a release version: {e:#}"))?;
    if &old > version {
        bail!(
            "{file}: the formula is at {from}, newer than {}: refusing to move the tap back to an older version",
            version.version()
        );
    }
    let new = version.version();
    if let Some((_, line)) = &formula.version {
        edits.push((*line, new.clone()));
    }
    for entry in &formula.entries {
        let new_url = replace_version(&entry.url, &from, &new);
        if from != new && new_url == entry.url {
            bail!("{file}:{}: the url does not carry the formula's version {from}: {}", entry.line, entry.url);
        }
        let archive = new_url.rsplit('/').next().unwrap_or(&new_url);
        let Some(sum) = sum_for(sums, archive) else {
            bail!(
                "{file}:{}: the sums file has no line for {archive} (this url's archive at {new}): {}",
                entry.line,
                entry.url
            );
        };
        edits.push((entry.line, new_url));
        // invariant: checked above, every entry has its sha256 line.
        edits.push((entry.sha256_line.unwrap_or(entry.line), sum.sha256.clone()));
    }
    let mut out = String::with_capacity(text.len());
    let mut changes = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let n = i + 1;
        match edits.iter().find(|(at, _)| *at == n) {
            Some((_, value)) => {
                let after = replace_quoted(line, value).ok_or_else(|| {
                    anyhow::anyhow!("{file}:{n}: no quoted value on the line to replace (not edited)")
                })?;
                if after != *line {
                    changes.push(LineChange {
                        line: n,
                        before: without_ending(line).to_string(),
                        after: without_ending(&after).to_string(),
                    });
                }
                out.push_str(&after);
            }
            None => out.push_str(line),
        }
    }
    Ok(Updated { from, text: out, changes })
}

/// The one version the formula's urls carry in their archive names, for a formula without a
/// `version` line.
fn version_of_urls(file: &str, formula: &homebrew::Formula, target: &ReleaseTarget) -> anyhow::Result<String> {
    let mut found: Option<(String, usize)> = None;
    for entry in &formula.entries {
        let archive = entry.url.rsplit('/').next().unwrap_or(&entry.url);
        let Some((carried, _)) = notices::archive_version(archive, target) else {
            bail!(
                "{file}:{}: no `version` line, and no version can be read from the url's archive {archive}",
                entry.line
            );
        };
        match &found {
            Some((v, line)) if *v != carried => {
                bail!(
                    "{file}: no `version` line, and the urls carry two versions: {v} (line {line}) and {carried} (line {})",
                    entry.line
                )
            }
            Some(_) => {}
            None => found = Some((carried, entry.line)),
        }
    }
    found.map(|(v, _)| v).ok_or_else(|| anyhow::anyhow!("{file}: no `url \"...\"` line: nothing to update"))
}

/// `text` with every whole-token occurrence of version `old` replaced by `new`: an occurrence
/// counts when no digit or `.` comes before it and no digit, letter, `.`, `-` or `+` after it
/// (so `0.8.0` is not found in `10.8.0`, `0.8.01` or `0.8.0-rc.1`).
pub fn replace_version(text: &str, old: &str, new: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut before: Option<char> = None;
    while let Some(at) = rest.find(old) {
        let prev = rest[..at].chars().next_back().or(before);
        let next = rest[at + old.len()..].chars().next();
        let starts = !prev.is_some_and(|c| c.is_ascii_digit() || c == '.');
        let ends = !next.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+'));
        if starts && ends {
            out.push_str(&rest[..at]);
            out.push_str(new);
        } else {
            out.push_str(&rest[..at + old.len()]);
        }
        before = rest[..at + old.len()].chars().next_back();
        rest = &rest[at + old.len()..];
    }
    out.push_str(rest);
    out
}

/// The line with the text between its first two `"` replaced by `value` (the scanner reads
/// the value there, so the edit lands where the reading came from).
fn replace_quoted(line: &str, value: &str) -> Option<String> {
    let open = line.find('"')?;
    let close = open + 1 + line[open + 1..].find('"')?;
    Some(format!("{}{value}{}", &line[..=open], &line[close..]))
}

fn without_ending(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A formula shaped like a real tap's (written for this test): desc, homepage, version,
    /// license, `if Hardware::CPU.arm?`/`else` on macOS, `on_intel` plus an `odie` branch on
    /// Linux, several install lines and a test block.
    fn formula(version: &str, shas: [&str; 3]) -> String {
        let url = |platform: &str| {
            format!("https://github.com/acme/widget/releases/download/v{version}/widget_{version}_{platform}.tar.gz")
        };
        format!(
            r##"class Widget < Formula
  desc "Widgets with a CLI, a C header and static + shared libraries"
  homepage "https://github.com/acme/widget"
  version "{version}"
  license "Apache-2.0"

  # Prebuilt SDK archives from the GitHub release.
  on_macos do
    if Hardware::CPU.arm?
      url "{}"
      sha256 "{}"
    else
      url "{}"
      sha256 "{}"
    end
  end

  on_linux do
    on_intel do
      url "{}", using: :curl
      sha256 "{}"
    end
    on_arm do
      odie "widget ships x86_64 Linux archives only"
    end
  end

  def install
    bin.install "bin/widget", "bin/wg"
    include.install "include/widget.h"
    lib.install Dir["lib/libwidget.*"]
    (lib/"pkgconfig").install "lib/pkgconfig/widget.pc"
  end

  test do
    system bin/"widget", "--version"
    assert_match version.to_s, shell_output("#{{bin}}/wg --version")
  end
end
"##,
            url("darwin_arm64"),
            shas[0],
            url("darwin_amd64"),
            shas[1],
            url("linux_amd64"),
            shas[2],
        )
    }

    const OLD: [&str; 3] = [
        "1111111111111111111111111111111111111111111111111111111111111111",
        "2222222222222222222222222222222222222222222222222222222222222222",
        "3333333333333333333333333333333333333333333333333333333333333333",
    ];
    const NEW: [&str; 3] = [
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
        "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
    ];

    /// The sums file as the publish workflow writes it: `shasum -a 256 release-inputs/dist/*.tar.gz`.
    fn sums(version: &str, shas: [&str; 3]) -> Vec<SumLine> {
        let text = format!(
            "{}  release-inputs/dist/widget_{version}_darwin_amd64.tar.gz\n\
             {}  release-inputs/dist/widget_{version}_darwin_arm64.tar.gz\n\
             {}  release-inputs/dist/widget_{version}_linux_amd64.tar.gz\n",
            shas[1], shas[0], shas[2]
        );
        crate::registry::parse_sums(&text).unwrap()
    }

    fn t(v: &str) -> ReleaseTarget {
        ReleaseTarget::parse(v).unwrap()
    }

    #[test]
    fn the_old_formula_plus_the_new_sums_is_the_new_formula_byte_for_byte() {
        let updated = update("Formula/widget.rb", &formula("0.7.2", OLD), &t("0.8.0"), &sums("0.8.0", NEW)).unwrap();
        assert_eq!(updated.text, formula("0.8.0", NEW));
        assert_eq!(updated.from, "0.7.2");
        let lines: Vec<usize> = updated.changes.iter().map(|c| c.line).collect();
        assert_eq!(lines, [4, 10, 11, 13, 14, 20, 21]);
        assert!(updated.changes[5].after.ends_with("linux_amd64.tar.gz\", using: :curl"), "{:?}", updated.changes);
        // Windows line endings stay.
        let crlf = formula("0.7.2", OLD).replace('\n', "\r\n");
        let updated = update("w.rb", &crlf, &t("0.8.0"), &sums("0.8.0", NEW)).unwrap();
        assert_eq!(updated.text, formula("0.8.0", NEW).replace('\n', "\r\n"));
        // A pre-release and back to its release.
        let rc = update("w.rb", &formula("0.7.2", OLD), &t("0.8.0-rc.1"), &sums("0.8.0-rc.1", NEW)).unwrap();
        assert_eq!(rc.text, formula("0.8.0-rc.1", NEW));
        let done = update("w.rb", &rc.text, &t("0.8.0"), &sums("0.8.0", OLD)).unwrap();
        assert_eq!(done.text, formula("0.8.0", OLD));
    }

    #[test]
    fn the_same_release_changes_nothing_and_an_older_one_is_refused() {
        let at = formula("0.8.0", NEW);
        let same = update("w.rb", &at, &t("0.8.0"), &sums("0.8.0", NEW)).unwrap();
        assert!(same.changes.is_empty() && same.text == at);
        // Same version, other digests (the archives were rebuilt): only the sha256 lines.
        let rebuilt = update("w.rb", &at, &t("0.8.0"), &sums("0.8.0", OLD)).unwrap();
        assert_eq!(rebuilt.changes.iter().map(|c| c.line).collect::<Vec<_>>(), [11, 14, 21]);
        let e = format!("{:#}", update("Formula/w.rb", &at, &t("0.7.2"), &sums("0.7.2", OLD)).unwrap_err());
        assert!(e.contains("Formula/w.rb: the formula is at 0.8.0") && e.contains("older version"), "{e}");
        let e = format!("{:#}", update("w.rb", &at, &t("0.8.0-rc.1"), &sums("0.8.0-rc.1", OLD)).unwrap_err());
        assert!(e.contains("older version"), "a pre-release is older than its release: {e}");
    }

    #[test]
    fn a_formula_without_a_version_line_takes_its_version_from_the_urls() {
        let old = formula("0.7.2", OLD).replace("  version \"0.7.2\"\n", "");
        let updated = update("w.rb", &old, &t("0.8.0"), &sums("0.8.0", NEW)).unwrap();
        assert_eq!(updated.text, formula("0.8.0", NEW).replace("  version \"0.8.0\"\n", ""));
        assert_eq!(updated.from, "0.7.2");
        let mixed = old.replacen("v0.7.2/widget_0.7.2_darwin_arm64", "v0.7.1/widget_0.7.1_darwin_arm64", 1);
        let e = format!("{:#}", update("w.rb", &mixed, &t("0.8.0"), &sums("0.8.0", NEW)).unwrap_err());
        assert!(e.contains("two versions: 0.7.1 (line 9) and 0.7.2 (line 12)"), "{e}");
    }

    #[test]
    fn malformed_formulas_are_refused_naming_file_and_line() {
        let good = formula("0.7.2", OLD);
        let sums = sums("0.8.0", NEW);
        let cases: Vec<(String, &str)> = vec![
            // No url at all.
            (
                "class Widget < Formula\n  version \"0.7.2\"\n  def install\n  end\nend\n".into(),
                "Formula/w.rb: no `url \"...\"` line",
            ),
            // A url without its sha256.
            (good.replacen(&format!("      sha256 \"{}\"\n", OLD[2]), "", 1), "Formula/w.rb:20: the url has no `sha256"),
            // Two sha256 for one url.
            (
                good.replacen(
                    &format!("      sha256 \"{}\"\n", OLD[0]),
                    &format!("      sha256 \"{}\"\n      sha256 \"{}\"\n", OLD[0], OLD[1]),
                    1,
                ),
                "a second `sha256` for darwin_arm64 on line 12 (first on line 11",
            ),
            // Two version lines.
            (good.replacen("  license", "  version \"0.7.3\"\n  license", 1), "a second `version` on line 5"),
            // Cut short.
            (good.trim_end().trim_end_matches("end").to_string(), "does not close every block"),
            // A sha256 that is not a string.
            (good.replacen(&format!("\"{}\"", OLD[1]), ":no_check", 1), "Formula/w.rb:14: the sha256 is not a quoted"),
            // A url that does not carry the version.
            (
                good.replacen("v0.7.2/widget_0.7.2_linux_amd64", "latest/widget_linux_amd64", 1),
                "Formula/w.rb:20: the url does not carry the formula's version 0.7.2",
            ),
            // A block for a platform the sums file has no archive for (bug 18: it was left stale).
            (
                good.replacen(
                    "      odie \"widget ships x86_64 Linux archives only\"\n",
                    &format!(
                        "      url \"https://github.com/acme/widget/releases/download/v0.7.2/widget_0.7.2_linux_arm64.tar.gz\"\n      sha256 \"{}\"\n",
                        OLD[2]
                    ),
                    1,
                ),
                "Formula/w.rb:24: the sums file has no line for widget_0.8.0_linux_arm64.tar.gz",
            ),
        ];
        for (text, says) in cases {
            let e = format!("{:#}", update("Formula/w.rb", &text, &t("0.8.0"), &sums).unwrap_err());
            assert!(e.contains(says), "want `{says}` in: {e}");
        }
    }

    #[test]
    fn versions_are_replaced_as_whole_tokens() {
        let cases = [
            ("/download/v0.8.0/p_0.8.0_linux.tar.gz", "/download/v0.9.0/p_0.9.0_linux.tar.gz"),
            ("/v10.8.0/p_10.8.0_x", "/v10.8.0/p_10.8.0_x"),
            ("p-0.8.01.tgz p-0.8.0-rc.1 p_0.8.0.1", "p-0.8.01.tgz p-0.8.0-rc.1 p_0.8.0.1"),
            ("0.8.0", "0.9.0"),
        ];
        for (text, want) in cases {
            assert_eq!(replace_version(text, "0.8.0", "0.9.0"), want, "{text}");
        }
        assert_eq!(replace_version("p_0.9.0-rc.1_x", "0.9.0-rc.1", "0.9.0"), "p_0.9.0_x");
    }

    #[test]
    fn only_the_quoted_value_changes() {
        assert_eq!(replace_quoted("  url \"a\", using: :x\r\n", "b").unwrap(), "  url \"b\", using: :x\r\n");
        assert!(replace_quoted("  sha256 :no_check\n", "b").is_none());
    }
}
