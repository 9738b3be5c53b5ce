//! Which certificate authorities HTTPS trusts: the ones cargo, pip, uv and gh trust on the
//! same machine, so a TLS-inspecting proxy whose CA is in the OS store (or in `SSL_CERT_FILE`)
//! is trusted here too.
//!
//! Order ([`load`]):
//! 1. `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR` (directories of PEM files, `:`
//!    separated), from the [`Env`]: when either is set, it is all that is trusted, and one
//!    that cannot be read or yields no certificate is an error naming it (never a silent
//!    fallback to another store);
//! 2. on macOS and Windows, the platform verifier (Keychain, CryptoAPI);
//! 3. elsewhere, the first system bundle of [`SYSTEM_BUNDLES`] that exists, else the first
//!    system directory of [`SYSTEM_DIRS`] (the paths OpenSSL distributions use);
//! 4. else ureq's bundled web-PKI roots.
//!
//! The [`TrustSource`] used is kept, so a refused certificate names the store it was checked
//! against and how to add a CA ([`TlsError`]).

use std::{collections::BTreeSet, fmt};

use anyhow::{Context as _, bail};
use camino::{Utf8Path, Utf8PathBuf};

use crate::env::Env;

/// System CA bundles, in the order they are tried: the well-known paths of Debian/Ubuntu,
/// Fedora/RHEL, openSUSE, CentOS, Alpine/BSD, FreeBSD and a few more.
pub const SYSTEM_BUNDLES: [&str; 10] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/usr/local/etc/ssl/cert.pem",
    "/usr/local/share/certs/ca-root-nss.crt",
    "/etc/pki/tls/cacert.pem",
    "/etc/certs/ca-certificates.crt",
    "/opt/etc/ssl/certs/ca-certificates.crt",
];

/// System directories of PEM files, tried when no bundle exists.
pub const SYSTEM_DIRS: [&str; 3] = ["/etc/ssl/certs", "/etc/pki/tls/certs", "/etc/certs"];

/// Where the trusted certificates came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustSource {
    /// `SSL_CERT_FILE`.
    CertFile(Utf8PathBuf),
    /// `SSL_CERT_DIR` (its directories as given).
    CertDir(String),
    /// Both `SSL_CERT_FILE` and `SSL_CERT_DIR`: the certificates of both.
    CertFileAndDir(Utf8PathBuf, String),
    /// The system bundle (or directory) at this path.
    System(Utf8PathBuf),
    /// The platform verifier (macOS Keychain, Windows CryptoAPI).
    Platform,
    /// ureq's bundled web-PKI roots: no system store was found.
    WebPki,
}

impl fmt::Display for TrustSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrustSource::CertFile(p) => write!(f, "SSL_CERT_FILE={p}"),
            TrustSource::CertDir(d) => write!(f, "SSL_CERT_DIR={d}"),
            TrustSource::CertFileAndDir(p, d) => write!(f, "SSL_CERT_FILE={p} and SSL_CERT_DIR={d}"),
            TrustSource::System(p) => write!(f, "the system store {p}"),
            TrustSource::Platform => f.write_str("the platform verifier (the OS trust store)"),
            TrustSource::WebPki => f.write_str("the bundled web-PKI roots (no system store found)"),
        }
    }
}

/// The roots to hand to ureq, and where they came from.
#[derive(Debug, Clone)]
pub struct Trust {
    /// Where they came from.
    pub source: TrustSource,
    /// What ureq verifies against.
    pub roots: ureq::tls::RootCerts,
}

/// HTTPS that could not be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TlsError {
    /// The trust store could not be loaded (an unreadable or empty `SSL_CERT_FILE`).
    Store {
        /// What is wrong, naming the file.
        why: String,
    },
    /// The server's certificate was refused (unknown issuer, expired, not valid for the name).
    Rejected {
        /// The URL asked.
        url: String,
        /// What the TLS library said.
        why: String,
        /// The store it was checked against.
        trust: TrustSource,
    },
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::Store { why } => write!(f, "no trust store: {why}"),
            TlsError::Rejected { url, why, trust } => write!(f, "{url}: {why} (trusted: {trust})"),
        }
    }
}

impl std::error::Error for TlsError {}

/// The trust of this environment: `SSL_CERT_FILE`/`SSL_CERT_DIR`, else the OS store.
pub fn load(env: &Env) -> anyhow::Result<Trust> {
    load_with(env, &SYSTEM_BUNDLES.map(Utf8Path::new), &SYSTEM_DIRS.map(Utf8Path::new))
}

/// [`load`], with the system paths given (tests point them at temporary files).
pub fn load_with(env: &Env, bundles: &[&Utf8Path], dirs: &[&Utf8Path]) -> anyhow::Result<Trust> {
    let file = env.get("SSL_CERT_FILE").filter(|v| !v.is_empty()).map(Utf8PathBuf::from);
    let dir = env.get("SSL_CERT_DIR").filter(|v| !v.is_empty()).map(str::to_string);
    if file.is_some() || dir.is_some() {
        let mut certs = Vec::new();
        if let Some(file) = &file {
            certs.extend(read_bundle(file).with_context(|| format!("SSL_CERT_FILE={file}"))?);
        }
        if let Some(dir) = &dir {
            for d in dir.split(':').filter(|d| !d.is_empty()) {
                certs.extend(read_dir(Utf8Path::new(d)).with_context(|| format!("SSL_CERT_DIR={dir}"))?);
            }
        }
        let source = match (file, dir) {
            (Some(f), Some(d)) => TrustSource::CertFileAndDir(f, d),
            (Some(f), None) => TrustSource::CertFile(f),
            (None, Some(d)) => TrustSource::CertDir(d),
            // invariant: one of the two is set (checked above).
            (None, None) => unreachable!("SSL_CERT_FILE or SSL_CERT_DIR is set"),
        };
        return Ok(Trust { source, roots: specific(certs) });
    }
    if cfg!(any(target_os = "macos", windows)) {
        return Ok(Trust { source: TrustSource::Platform, roots: ureq::tls::RootCerts::PlatformVerifier });
    }
    // A system path that exists but yields nothing usable is passed over, as OpenSSL does.
    for bundle in bundles {
        if bundle.is_file()
            && let Ok(certs) = read_bundle(bundle)
        {
            return Ok(Trust { source: TrustSource::System(bundle.to_path_buf()), roots: specific(certs) });
        }
    }
    for dir in dirs {
        if dir.is_dir()
            && let Ok(certs) = read_dir(dir)
        {
            return Ok(Trust { source: TrustSource::System(dir.to_path_buf()), roots: specific(certs) });
        }
    }
    Ok(Trust { source: TrustSource::WebPki, roots: ureq::tls::RootCerts::WebPki })
}

fn specific(certs: Vec<ureq::tls::Certificate<'static>>) -> ureq::tls::RootCerts {
    // The same CA in a bundle and in a directory (a hashed symlink of it) counts once.
    let mut seen = BTreeSet::new();
    let unique: Vec<_> = certs.into_iter().filter(|c| seen.insert(c.der().to_vec())).collect();
    ureq::tls::RootCerts::Specific(std::sync::Arc::new(unique))
}

/// The certificates of a PEM bundle; an error when it cannot be read, holds a broken PEM
/// section, or yields no certificate a TLS client can use as a root.
pub fn read_bundle(path: &Utf8Path) -> anyhow::Result<Vec<ureq::tls::Certificate<'static>>> {
    let bytes = std::fs::read(path).context("cannot read it")?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&bytes) {
        match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => certs.push(c),
            Ok(_) => {}
            Err(e) => bail!("not a readable PEM file: {e}"),
        }
    }
    usable(certs)
}

/// The certificates of every readable PEM file in `dir` (files that are not PEM are passed
/// over, as OpenSSL does); an error when the directory cannot be read or yields none.
pub fn read_dir(dir: &Utf8Path) -> anyhow::Result<Vec<ureq::tls::Certificate<'static>>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read the directory {dir}"))?;
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_file()).collect();
    paths.sort();
    let mut certs = Vec::new();
    for path in paths {
        let Ok(bytes) = std::fs::read(&path) else { continue };
        certs.extend(ureq::tls::parse_pem(&bytes).filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        }));
    }
    usable(certs).with_context(|| format!("the directory {dir}"))
}

/// `certs`, when at least one is a root a TLS client can use (rustls passes over the ones it
/// cannot parse, so a PEM-shaped file of garbage would otherwise trust nothing, silently).
fn usable(certs: Vec<ureq::tls::Certificate<'static>>) -> anyhow::Result<Vec<ureq::tls::Certificate<'static>>> {
    let ders = certs.iter().map(|c| rustls::pki_types::CertificateDer::from(c.der().to_vec()));
    let (added, ignored) = rustls::RootCertStore::empty().add_parsable_certificates(ders);
    if added == 0 {
        bail!(
            "no usable CA certificate in it ({ignored} unparsable; a PEM file of `-----BEGIN CERTIFICATE-----` blocks is expected)"
        );
    }
    Ok(certs)
}

/// What a failed request says about the server's certificate, when that is why it failed.
pub fn rejected_certificate(e: &ureq::Error) -> Option<String> {
    let rustls_error = match e {
        ureq::Error::Rustls(inner) => Some(inner),
        ureq::Error::Io(io) => io.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()),
        _ => None,
    }?;
    match rustls_error {
        rustls::Error::InvalidCertificate(_) => Some(rustls_error.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CA: &str = include_str!("testing/tls/ca.pem");

    fn temp_file(dir: &tempfile::TempDir, name: &str, text: &str) -> Utf8PathBuf {
        let path = Utf8PathBuf::from_path_buf(dir.path().join(name)).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    fn count(trust: &Trust) -> usize {
        match &trust.roots {
            ureq::tls::RootCerts::Specific(c) => c.len(),
            _ => 0,
        }
    }

    #[test]
    fn ssl_cert_file_and_dir_come_first() {
        let tmp = tempfile::tempdir().unwrap();
        let ca = temp_file(&tmp, "ca.pem", CA);
        let system = temp_file(&tmp, "system.pem", CA);
        let env = Env::empty().with("SSL_CERT_FILE", ca.as_str());
        let trust = load_with(&env, &[&system], &[]).unwrap();
        assert_eq!((trust.source.clone(), count(&trust)), (TrustSource::CertFile(ca.clone()), 1));
        let dir = Utf8PathBuf::from_path_buf(tmp.path().to_path_buf()).unwrap();
        let trust = load_with(&Env::empty().with("SSL_CERT_DIR", dir.as_str()), &[], &[]).unwrap();
        assert_eq!(trust.source, TrustSource::CertDir(dir.to_string()));
        assert_eq!(count(&trust), 1, "the same CA in two files counts once");
        let both = Env::empty().with("SSL_CERT_FILE", ca.as_str()).with("SSL_CERT_DIR", dir.as_str());
        assert_eq!(load_with(&both, &[], &[]).unwrap().source, TrustSource::CertFileAndDir(ca, dir.to_string()));
    }

    #[test]
    fn an_unusable_ssl_cert_file_is_an_error_naming_it() {
        let tmp = tempfile::tempdir().unwrap();
        let system = temp_file(&tmp, "system.pem", CA);
        let garbage = temp_file(&tmp, "garbage.pem", "not a certificate\n");
        let fake_pem = temp_file(&tmp, "fake.pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        for (path, says) in [
            (garbage.as_str(), "no usable CA certificate"),
            (fake_pem.as_str(), "no usable CA certificate"),
            ("/nonexistent/ca.pem", "cannot read it"),
        ] {
            let err = load_with(&Env::empty().with("SSL_CERT_FILE", path), &[&system], &[]).unwrap_err();
            let err = format!("{err:#}");
            assert!(err.contains(&format!("SSL_CERT_FILE={path}")) && err.contains(says), "{err}");
        }
        let err = load_with(&Env::empty().with("SSL_CERT_DIR", "/nonexistent"), &[&system], &[]).unwrap_err();
        assert!(format!("{err:#}").contains("SSL_CERT_DIR=/nonexistent"), "{err:#}");
    }

    #[test]
    #[cfg(not(any(target_os = "macos", windows)))]
    fn otherwise_the_first_system_bundle_then_directory_then_webpki() {
        let tmp = tempfile::tempdir().unwrap();
        let empty = temp_file(&tmp, "empty.pem", "");
        let system = temp_file(&tmp, "system.pem", CA);
        let missing = Utf8Path::new("/nonexistent/bundle.pem");
        let trust = load_with(&Env::empty(), &[missing, &empty, &system], &[]).unwrap();
        assert_eq!(trust.source, TrustSource::System(system.clone()), "missing and empty bundles are passed over");
        let dir = Utf8PathBuf::from_path_buf(tmp.path().to_path_buf()).unwrap();
        assert_eq!(load_with(&Env::empty(), &[missing], &[&dir]).unwrap().source, TrustSource::System(dir));
        assert_eq!(load_with(&Env::empty(), &[missing], &[]).unwrap().source, TrustSource::WebPki);
    }
}
