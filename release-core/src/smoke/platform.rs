//! Which channels ship an artifact for this machine, by the targets manifest.

use crate::manifest::{Arch, Channel, Manifest, Os, Platform};

/// This machine's platform, when the targets manifest can name it.
pub fn host_platform() -> Option<Platform> {
    let os = match std::env::consts::OS {
        "linux" => Os::Linux,
        "macos" => Os::Darwin,
        "windows" => Os::Windows,
        _ => return None,
    };
    let arch = match std::env::consts::ARCH {
        "x86_64" => Arch::Amd64,
        "aarch64" => Arch::Arm64,
        _ => return None,
    };
    Some(Platform { os, arch })
}

/// Why `channel` is not smoked on `platform`, when the manifest ships it no artifact there:
/// an install would build from source (PyPI's sdist, npm's fallback), which is not what the
/// channel's users get. `None` (smoke it) for channels the manifest does not list (crates).
pub fn not_shipped_for(manifest: &Manifest, shown: &str, channel: Channel, platform: Platform) -> Option<String> {
    channel.key()?;
    let here = manifest.targets.iter().find(|t| t.platform == platform);
    if here.and_then(|t| t.tier(channel)).is_some() {
        return None;
    }
    let shipped: Vec<&str> =
        manifest.targets.iter().filter(|t| t.tier(channel).is_some()).map(|t| t.sdk_platform.as_str()).collect();
    let elsewhere = if shipped.is_empty() { "no platform".to_string() } else { shipped.join(", ") };
    let source = if channel == Channel::Pypi { " (uv would build the sdist)" } else { "" };
    Some(format!(
        "the targets manifest ({shown}) ships no {channel} artifact for {} (this machine); {channel} ships for {elsewhere}:          smoke it on one of those, an install here would not be what users get{source}",
        platform.sdk_name()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_the_manifest_ships_nothing_of_here_is_skipped() {
        let manifest = crate::testing::plasmite_manifest();
        let linux = Platform { os: Os::Linux, arch: Arch::Amd64 };
        let mac = Platform { os: Os::Darwin, arch: Arch::Arm64 };
        let why = not_shipped_for(&manifest, "release/targets.json", Channel::Pypi, linux).unwrap();
        assert!(why.contains("ships no pypi artifact for linux_amd64"), "{why}");
        assert!(why.contains("darwin_amd64, darwin_arm64, windows_amd64") && why.contains("sdist"), "{why}");
        assert_eq!(not_shipped_for(&manifest, "m", Channel::Pypi, mac), None);
        assert_eq!(not_shipped_for(&manifest, "m", Channel::Npm, linux), None);
        assert_eq!(not_shipped_for(&manifest, "m", Channel::Crates, linux), None, "crates builds from source anywhere");
        let arm_linux = Platform { os: Os::Linux, arch: Arch::Arm64 };
        assert!(not_shipped_for(&manifest, "m", Channel::Npm, arm_linux).unwrap().contains("linux_arm64"));
    }
}
