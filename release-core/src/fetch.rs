//! Reading from a service ([`get`], [`get_json`], [`download`]) with a typed [`FetchError`],
//! and the one place a failed fetch becomes a [`Finding`] ([`FetchError::finding`]).
//!
//! A fetch error is never a finding by itself: only the check that asked knows what absence
//! means (a missing version is the answer, `Fail`; a repository GitHub hides is unknown,
//! `Incomplete`), so it says so with [`Absent`] when it maps the error. Everything else a
//! fetch can end in (refused, unexpected status, no answer, an unreadable body, a listing cut
//! short) leaves the question open and is `Incomplete`.

use crate::{
    http::{Download, Http, Response},
    report::CheckId,
    report::{Evidence, Finding, Outcome},
    tls::TlsError,
};

/// Why a fetch gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// 404, 410 or 451: the service says the thing is not there (`url` is the URL that
    /// answered, after redirects).
    NotFound {
        /// The URL that answered.
        url: String,
        /// Its status (410 is "gone", e.g. an expired artifact).
        status: u16,
    },
    /// 401, 403 or 429: refused or rate-limited.
    Refused {
        /// The URL that answered.
        url: String,
        /// Its status.
        status: u16,
    },
    /// Any other status outside 2xx.
    Status {
        /// The URL that answered.
        url: String,
        /// Its status.
        status: u16,
    },
    /// No answer: transport error, timeout, retries exhausted, body over the size cap,
    /// redirect loop, a URL that is not https.
    Transport {
        /// The URL asked.
        url: String,
        /// What the client said (the token already redacted).
        why: String,
    },
    /// The server's certificate was refused (unknown issuer, expired, not valid for the name):
    /// behind a TLS-inspecting proxy, its CA is missing from the store used.
    Untrusted {
        /// The URL asked.
        url: String,
        /// What the TLS library said.
        why: String,
        /// The store the certificate was checked against (`SSL_CERT_FILE=...`, the system
        /// store ...).
        trust: String,
    },
    /// HTTPS had no trust store: `SSL_CERT_FILE`/`SSL_CERT_DIR` unreadable or without a
    /// certificate.
    TrustStore {
        /// The URL asked.
        url: String,
        /// What is wrong, naming the file.
        why: String,
    },
    /// An answer whose body is not what was asked for (JSON that does not parse, an index
    /// file with a bad line).
    Malformed {
        /// The URL that answered.
        url: String,
        /// Its status.
        status: u16,
        /// What is wrong with it.
        why: String,
    },
    /// An HTML page came where a file was expected (GitHub has served error pages with 200).
    Html {
        /// The URL that answered.
        url: String,
        /// Its status.
        status: u16,
    },
    /// A listing's `next` page was already read.
    PageLoop {
        /// The listing's first page.
        first: String,
        /// The page seen twice.
        next: String,
    },
    /// A listing has more pages than are read.
    TooManyPages {
        /// The listing's first page.
        first: String,
        /// The first page not read.
        next: String,
        /// How many pages were read.
        max: usize,
    },
    /// A listing's `next` page is outside the API it came from, so it is not followed.
    ForeignPage {
        /// The page that named it.
        url: String,
        /// That page's status.
        status: u16,
        /// The `next` URL.
        next: String,
        /// The API base it should be under.
        api: String,
    },
}

/// What a [`FetchError::NotFound`] means to the check that asked.
#[derive(Debug, Clone, Copy)]
pub enum Absent<'a> {
    /// Absence is the answer: `Fail`, with this detail.
    Fail(&'a str),
    /// Absence leaves the question open: `Incomplete`, with this detail.
    Incomplete(&'a str),
    /// GitHub answers 404 for what the token may not see (a private repository): `Incomplete`,
    /// saying so with the status.
    NotVisible,
}

impl FetchError {
    /// The outcome of the check that asked.
    pub fn outcome(&self, absent: Absent<'_>) -> Outcome {
        match (self, absent) {
            (FetchError::NotFound { .. }, Absent::Fail(_)) => Outcome::Fail,
            _ => Outcome::Incomplete,
        }
    }

    /// One sentence saying what happened.
    pub fn detail(&self, absent: Absent<'_>) -> String {
        match self {
            FetchError::NotFound { status, .. } => match absent {
                Absent::Fail(d) | Absent::Incomplete(d) => d.to_string(),
                Absent::NotVisible => format!(
                    "HTTP {status}: not found, or not visible to the token (GitHub answers 404 for private repositories without access); check `[project] github` and the token's repository access"
                ),
            },
            FetchError::Refused { status, .. } => {
                format!("HTTP {status}: rate-limited or refused by the service (a GitHub token raises the limit)")
            }
            FetchError::Status { status, .. } => format!("unexpected HTTP {status} from the service"),
            FetchError::Transport { why, .. } => format!("service unreachable: {why}"),
            FetchError::Untrusted { why, trust, .. } => format!(
                "the server's certificate is not trusted ({why}); checked against {trust}. Behind a TLS-inspecting proxy, trust its CA as cargo and pip do: SSL_CERT_FILE=/path/ca.pem (a PEM bundle) or SSL_CERT_DIR=/path/certs"
            ),
            FetchError::TrustStore { why, .. } => {
                format!("HTTPS has no trust store: {why}; fix or unset SSL_CERT_FILE/SSL_CERT_DIR")
            }
            FetchError::Malformed { why, .. } => format!("response unreadable: {why}"),
            FetchError::Html { .. } => "an HTML page came instead of the file; try again later".to_string(),
            FetchError::PageLoop { next, .. } => {
                format!("the listing's next page ({next}) was already read: a pagination loop")
            }
            FetchError::TooManyPages { next, max, .. } => {
                format!("more than {max} pages to read; stopped before {next} rather than decide on part of the list")
            }
            FetchError::ForeignPage { next, api, .. } => {
                format!("the next page ({next}) is not under the GitHub API ({api}); not followed")
            }
        }
    }

    /// The URL asked or answered, with its status when there was one.
    pub fn evidence(&self) -> Evidence {
        match self {
            FetchError::NotFound { url, status }
            | FetchError::Refused { url, status }
            | FetchError::Status { url, status }
            | FetchError::Malformed { url, status, .. }
            | FetchError::Html { url, status }
            | FetchError::ForeignPage { url, status, .. } => url_evidence(url, Some(*status)),
            FetchError::Transport { url, .. }
            | FetchError::Untrusted { url, .. }
            | FetchError::TrustStore { url, .. } => url_evidence(url, None),
            FetchError::PageLoop { first, .. } | FetchError::TooManyPages { first, .. } => url_evidence(first, None),
        }
    }

    /// The finding of `check` about `subject` when this fetch failed; `absent` says what a
    /// [`FetchError::NotFound`] means there.
    pub fn finding(&self, check: &CheckId, subject: &str, absent: Absent<'_>) -> Finding {
        Finding::new(check, subject, self.outcome(absent), self.detail(absent)).with(self.evidence())
    }

    /// The status of a [`FetchError::NotFound`] (410 is "gone"), else `None`.
    pub fn absent_status(&self) -> Option<u16> {
        match self {
            FetchError::NotFound { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Evidence for a URL asked.
pub fn url_evidence(url: &str, status: Option<u16>) -> Evidence {
    Evidence::Url { url: url.to_string(), status }
}

/// The [`FetchError`] of a request to `url` that got no answer.
fn no_answer(url: &str, e: &anyhow::Error) -> FetchError {
    let url = url.to_string();
    match e.downcast_ref::<TlsError>() {
        Some(TlsError::Rejected { why, trust, .. }) => {
            FetchError::Untrusted { url, why: why.clone(), trust: trust.to_string() }
        }
        Some(TlsError::Store { why }) => FetchError::TrustStore { url, why: why.clone() },
        None => FetchError::Transport { url, why: format!("{e:#}") },
    }
}

/// GETs `url`: a 2xx answer, or the [`FetchError`] saying why not.
pub fn get(http: &Http, url: &str, accept: &str) -> Result<Response, FetchError> {
    let r = http.get(url, accept).map_err(|e| no_answer(url, &e))?;
    let (url, status) = (r.url.clone(), r.status);
    match status {
        _ if r.ok() => Ok(r),
        _ if r.absent() => Err(FetchError::NotFound { url, status }),
        401 | 403 | 429 => Err(FetchError::Refused { url, status }),
        _ => Err(FetchError::Status { url, status }),
    }
}

/// A JSON document fetched by [`get_json`], with the URL it finally came from.
#[derive(Debug, Clone)]
pub struct Fetched<T> {
    /// The document.
    pub doc: T,
    /// The URL that answered, after redirects.
    pub url: String,
    /// Its status.
    pub status: u16,
}

impl<T> Fetched<T> {
    /// Evidence of the URL asked.
    pub fn evidence(&self) -> Evidence {
        url_evidence(&self.url, Some(self.status))
    }
}

/// GETs a JSON document and parses it; a body that does not parse is [`FetchError::Malformed`].
pub fn get_json<T: serde::de::DeserializeOwned>(
    http: &Http,
    url: &str,
    accept: &str,
) -> Result<Fetched<T>, FetchError> {
    let r = get(http, url, accept)?;
    let doc = parse_json(&r)?;
    Ok(Fetched { doc, url: r.url, status: r.status })
}

/// The body of `r` parsed as JSON, or [`FetchError::Malformed`].
pub fn parse_json<T: serde::de::DeserializeOwned>(r: &Response) -> Result<T, FetchError> {
    r.json().map_err(|e| malformed(r, &e))
}

/// A [`FetchError::Malformed`] for the answer `r`.
pub fn malformed(r: &Response, why: &anyhow::Error) -> FetchError {
    FetchError::Malformed { url: r.url.clone(), status: r.status, why: format!("{why:#}") }
}

/// Downloads a file to hash, streaming it through the digests (and into a temporary file when
/// `keep`, for a caller that reads its content): a 2xx answer, or the [`FetchError`] saying
/// why not. An HTML page where a file was expected is [`FetchError::Html`], not a checksum
/// mismatch; a body over the download cap (decoded) is [`FetchError::Transport`].
pub fn download(http: &Http, url: &str, keep: bool) -> Result<Download, FetchError> {
    let d = http.download(url, "application/octet-stream", keep).map_err(|e| no_answer(url, &e))?;
    let (url, status) = (d.url.clone(), d.status);
    match status {
        _ if d.ok() && d.is_html() => Err(FetchError::Html { url, status }),
        _ if d.ok() => Ok(d),
        _ if d.absent() => Err(FetchError::NotFound { url, status }),
        401 | 403 | 429 => Err(FetchError::Refused { url, status }),
        _ => Err(FetchError::Status { url, status }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absence_means_what_the_check_says() {
        let gone = FetchError::NotFound { url: "http://127.0.0.1/x".into(), status: 404 };
        let fail = gone.finding(&"c".into(), "s", Absent::Fail("not there"));
        assert_eq!((fail.outcome, fail.detail.as_str()), (Outcome::Fail, "not there"));
        assert_eq!(fail.evidence, [url_evidence("http://127.0.0.1/x", Some(404))]);
        assert_eq!(gone.outcome(Absent::Incomplete("unknown")), Outcome::Incomplete);
        assert!(gone.detail(Absent::NotVisible).starts_with("HTTP 404: not found, or not visible"));
        let refused = FetchError::Refused { url: "u".into(), status: 403 };
        assert_eq!(refused.outcome(Absent::Fail("x")), Outcome::Incomplete, "only absence can fail");
    }

    #[test]
    fn https_trusts_ssl_cert_file_and_a_refused_certificate_names_the_store() {
        use crate::{env::Env, http::HttpConfig, http::TokenSource, testing};
        let fake = testing::FakeRegistry::start(
            testing::PublishedRelease::coherent(&testing::plasmite_manifest(), "0.8.0").unwrap(),
        )
        .unwrap();
        let front = testing::TlsTerminator::start(&fake.url(testing::Service::CratesIndex)).unwrap();
        let url = format!("{}/pl/as/plasmite", front.url_of(&fake.url(testing::Service::CratesIndex)));
        let tmp = tempfile::tempdir().unwrap();
        let dir = camino::Utf8Path::from_path(tmp.path()).unwrap();
        let ca = testing::write_test_ca(dir).unwrap();
        let client = |env: Env| {
            Http::new(HttpConfig::fast(), "https://127.0.0.1:1/gh-api", TokenSource::Fixed(None)).with_env(&env)
        };

        let trusted = client(Env::empty().with("SSL_CERT_FILE", ca.as_str()));
        let r = get(&trusted, &url, "text/plain").unwrap();
        assert!(r.ok() && String::from_utf8_lossy(&r.body).contains("\"plasmite\""), "{r:?}");
        let by_dir = client(Env::empty().with("SSL_CERT_DIR", dir.as_str()));
        assert!(get(&by_dir, &url, "text/plain").is_ok(), "SSL_CERT_DIR is a directory of PEM files");

        // Without it, the system store (or the web-PKI roots) knows nothing of the test CA.
        let untrusted = client(Env::empty());
        let e = get(&untrusted, &url, "text/plain").unwrap_err();
        let FetchError::Untrusted { why, trust, .. } = &e else { panic!("{e:?}") };
        assert!(why.contains("UnknownIssuer"), "{why}");
        assert_eq!(trust, &untrusted.trust().unwrap().to_string());
        let f = e.finding(&"c".into(), "s", Absent::Fail("absent"));
        assert_eq!(f.outcome, Outcome::Incomplete);
        assert!(f.detail.contains(trust.as_str()) && f.detail.contains("SSL_CERT_FILE=/path/ca.pem"), "{}", f.detail);
        assert_eq!(f.evidence, [url_evidence(&url, None)]);
        let before = fake.requests().len();
        assert!(get(&untrusted, &url, "text/plain").is_err());
        assert_eq!(fake.requests().len(), before, "a refused certificate is not retried (nothing reaches the fake)");

        // A file that is not a CA bundle is an error naming it, not a fallback.
        let garbage = dir.join("garbage.pem");
        std::fs::write(&garbage, "hello").unwrap();
        let e = get(&client(Env::empty().with("SSL_CERT_FILE", garbage.as_str())), &url, "text/plain").unwrap_err();
        let f = e.finding(&"c".into(), "s", Absent::Fail("absent"));
        assert!(matches!(e, FetchError::TrustStore { .. }), "{e:?}");
        assert!(f.detail.contains(&format!("SSL_CERT_FILE={garbage}")), "{}", f.detail);
        // Plain http (loopback) needs no trust store, so it works whatever SSL_CERT_FILE says.
        let plain = format!("{}/pl/as/plasmite", fake.url(testing::Service::CratesIndex));
        assert!(get(&client(Env::empty().with("SSL_CERT_FILE", garbage.as_str())), &plain, "text/plain").is_ok());
    }
}
