//! [`ReleaseTarget`]: the version being released, as a tag (`v1.2.3-rc.1`), a plain semver
//! version (`1.2.3-rc.1`) and its PEP 440 form (`1.2.3rc1`).
//!
//! Parsing is strict: three numeric parts without leading zeros, no build metadata, and a
//! pre-release only of the forms `alpha.N`, `beta.N` or `rc.N`, because every target must have
//! a PEP 440 form for PyPI. Ordering is semver ordering (`1.2.3-rc.1 < 1.2.3 < 1.2.10`).

use std::{cmp::Ordering, fmt, str::FromStr};

use anyhow::{Context, bail};
use semver::Version;

/// A version being released. Construct it with [`ReleaseTarget::parse`] (or `str::parse`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReleaseTarget {
    version: Version,
    pep440: String,
}

impl ReleaseTarget {
    /// Parses `v1.2.3`, `1.2.3` or `v1.2.3-rc.1`.
    pub fn parse(text: &str) -> anyhow::Result<ReleaseTarget> {
        let plain = text.strip_prefix('v').unwrap_or(text);
        let version = Version::parse(plain).with_context(|| {
            format!("`{text}` is not a release version: expected vX.Y.Z or vX.Y.Z-rc.N (strict semver)")
        })?;
        if !version.build.is_empty() {
            bail!("`{text}` has build metadata (`+{}`), which a release target cannot carry", version.build);
        }
        let pep440 = pep440_form(&version).with_context(|| format!("`{text}` has no PEP 440 form for PyPI"))?;
        Ok(ReleaseTarget { version, pep440 })
    }

    /// Parses a version written either as semver (`1.2.3-rc.1`, with or without `v`) or in its
    /// PEP 440 form (`1.2.3rc1`), as a Python project file may carry it.
    pub fn parse_any(text: &str) -> anyhow::Result<ReleaseTarget> {
        ReleaseTarget::parse(text).or_else(|semver_err| from_pep440(text).ok_or(semver_err))
    }

    /// The git tag: `v1.2.3`.
    pub fn tag(&self) -> String {
        format!("v{}", self.version)
    }

    /// The plain version: `1.2.3` or `1.2.3-rc.1`.
    pub fn version(&self) -> String {
        self.version.to_string()
    }

    /// The semver value.
    pub fn semver(&self) -> &Version {
        &self.version
    }

    /// The PEP 440 form used by PyPI: `1.2.3rc1`.
    pub fn pep440(&self) -> &str {
        &self.pep440
    }

    /// True for `1.2.3-rc.1` and the like.
    pub fn is_prerelease(&self) -> bool {
        !self.version.pre.is_empty()
    }
}

/// `alpha.N` -> `aN`, `beta.N` -> `bN`, `rc.N` -> `rcN`; anything else has no PEP 440 form.
fn pep440_form(version: &Version) -> anyhow::Result<String> {
    let base = format!("{}.{}.{}", version.major, version.minor, version.patch);
    if version.pre.is_empty() {
        return Ok(base);
    }
    let pre = version.pre.as_str();
    let Some((label, number)) = pre.split_once('.') else {
        bail!("pre-release `{pre}` must be alpha.N, beta.N or rc.N");
    };
    let short = match label {
        "alpha" => "a",
        "beta" => "b",
        "rc" => "rc",
        _ => bail!("pre-release `{pre}` must be alpha.N, beta.N or rc.N"),
    };
    let valid_number =
        !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) && (number == "0" || !number.starts_with('0'));
    if !valid_number {
        bail!("pre-release `{pre}` must end in a number without leading zeros");
    }
    Ok(format!("{base}{short}{number}"))
}

/// `1.2.3rc1` -> the target `1.2.3-rc.1`; `None` for anything that is not that exact shape.
fn from_pep440(text: &str) -> Option<ReleaseTarget> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let (core, pre) = text.split_at(split);
    let digits = pre.trim_start_matches(|c: char| c.is_ascii_alphabetic());
    let label = match &pre[..pre.len() - digits.len()] {
        "a" => "alpha",
        "b" => "beta",
        "rc" => "rc",
        _ => return None,
    };
    let target = ReleaseTarget::parse(&format!("{core}-{label}.{digits}")).ok()?;
    (target.pep440() == text).then_some(target)
}

impl FromStr for ReleaseTarget {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<ReleaseTarget> {
        ReleaseTarget::parse(s)
    }
}

impl fmt::Display for ReleaseTarget {
    /// Displays as the tag, `v1.2.3`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}", self.version)
    }
}

impl PartialOrd for ReleaseTarget {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ReleaseTarget {
    fn cmp(&self, other: &Self) -> Ordering {
        self.version.cmp(&other.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> ReleaseTarget {
        ReleaseTarget::parse(s).unwrap()
    }

    #[test]
    fn forms() {
        let r = t("v1.2.3-rc.1");
        assert_eq!(r.tag(), "v1.2.3-rc.1");
        assert_eq!(r.version(), "1.2.3-rc.1");
        assert_eq!(r.pep440(), "1.2.3rc1");
        assert!(r.is_prerelease());
        assert_eq!(t("1.2.3").tag(), "v1.2.3");
        assert_eq!(t("0.9.0-alpha.2").pep440(), "0.9.0a2");
        assert_eq!(t("0.9.0-beta.0").pep440(), "0.9.0b0");
        assert_eq!(t("0.8.0").to_string(), "v0.8.0");
    }

    #[test]
    fn rejects_what_the_bump_script_accepted() {
        // Facts §2.2 / bug 9: the bump script took `1.2.3.4` and leading zeros.
        for bad in [
            "1.2.3.4",
            "v01.2.3",
            "1.02.3",
            "1.2",
            "v",
            "",
            "latest",
            "1.2.3+build.5",
            "1.2.3-foo",
            "1.2.3-rc",
            "1.2.3-rc.01",
            "1.2.3-rc.x",
            " 1.2.3",
            "vv1.2.3",
            "V1.2.3",
        ] {
            assert!(ReleaseTarget::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn semver_ordering_not_version_sort() {
        // Bug 11: GNU sort -V puts v0.9.0 before v0.9.0-rc.1.
        assert!(t("v0.9.0-rc.1") < t("v0.9.0"));
        assert!(t("v0.9.0-rc.2") < t("v0.9.0-rc.10"));
        assert!(t("v0.1.9") < t("v0.1.10"));
        assert!(t("v0.8.0") < t("v10.8.0"));
    }

    #[test]
    fn pep440_round_trip() {
        assert_eq!(ReleaseTarget::parse_any("0.9.0rc1").unwrap().version(), "0.9.0-rc.1");
        assert_eq!(ReleaseTarget::parse_any("0.9.0b2").unwrap().version(), "0.9.0-beta.2");
        assert_eq!(ReleaseTarget::parse_any("0.9.0").unwrap().version(), "0.9.0");
        for bad in ["0.9.0rc01", "0.9.0c1", "0.9.0rc", "0.9rc1", "0.9.0.rc1", "0.9.0-rc1"] {
            assert!(ReleaseTarget::parse_any(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn error_names_the_input() {
        let msg = format!("{:#}", ReleaseTarget::parse("1.2.3.4").unwrap_err());
        assert!(msg.contains("1.2.3.4"), "{msg}");
    }
}
