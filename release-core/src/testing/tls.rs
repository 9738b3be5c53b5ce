//! [`TlsTerminator`]: an HTTPS listener on 127.0.0.1 that forwards the plain bytes to a plain
//! listener (a [`FakeRegistry`](super::FakeRegistry)), with a certificate for `127.0.0.1` and
//! `localhost` signed by a private test CA ([`TEST_CA_PEM`]) that no system store holds.
//!
//! A client trusts it only when told to (`SSL_CERT_FILE` pointing at the CA), which is how the
//! tests show that the HTTP client honours the trust a TLS-inspecting proxy needs. The
//! certificates are fixtures made once with the `openssl` CLI (`tls/make.sh`), valid 100 years.

use std::{
    io::{self, Read as _, Write as _},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use anyhow::Context as _;
use camino::{Utf8Path, Utf8PathBuf};

/// The private test CA (PEM) that signed [`TlsTerminator`]'s certificate.
pub const TEST_CA_PEM: &str = include_str!("tls/ca.pem");
const SERVER_PEM: &str = include_str!("tls/server.pem");
const SERVER_KEY: &str = include_str!("tls/server.key");

/// Writes [`TEST_CA_PEM`] to `dir/test-ca.pem` and returns its path (for `SSL_CERT_FILE`).
pub fn write_test_ca(dir: &Utf8Path) -> anyhow::Result<Utf8PathBuf> {
    let path = dir.join("test-ca.pem");
    std::fs::write(&path, TEST_CA_PEM).with_context(|| format!("writing {path}"))?;
    Ok(path)
}

/// The running HTTPS front; stops accepting when dropped.
pub struct TlsTerminator {
    origin: String,
    backend_origin: String,
    stop: Arc<AtomicBool>,
    addr: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for TlsTerminator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTerminator").field("origin", &self.origin).field("backend", &self.backend_origin).finish()
    }
}

impl TlsTerminator {
    /// An HTTPS listener on 127.0.0.1 (ephemeral port) in front of `backend`, any URL of a
    /// plain `http://127.0.0.1:PORT` listener (its path is ignored).
    pub fn start(backend: &str) -> anyhow::Result<TlsTerminator> {
        let backend_origin = origin(backend).with_context(|| format!("`{backend}` is not an http://host:port URL"))?;
        let backend_addr: SocketAddr = backend_origin
            .trim_start_matches("http://")
            .parse()
            .with_context(|| format!("`{backend}`: the backend must be an IP:port"))?;
        let config = Arc::new(server_config()?);
        let listener = TcpListener::bind("127.0.0.1:0").context("cannot start the TLS terminator")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            for client in listener.incoming() {
                if stopping.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let config = config.clone();
                // One thread per connection; it ends when either side closes.
                std::thread::spawn(move || {
                    let _ = relay(client, config, backend_addr);
                });
            }
        });
        Ok(TlsTerminator { origin: format!("https://{addr}"), backend_origin, stop, addr, thread: Some(thread) })
    }

    /// `https://127.0.0.1:PORT`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// `plain` (a URL of the backend) as reached through this front: same path, https origin.
    pub fn url_of(&self, plain: &str) -> String {
        match plain.strip_prefix(&self.backend_origin) {
            Some(rest) => format!("{}{rest}", self.origin),
            None => plain.to_string(),
        }
    }
}

impl Drop for TlsTerminator {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `scheme://host:port` of `url`.
fn origin(url: &str) -> Option<String> {
    let rest = url.strip_prefix("http://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    Some(format!("http://{authority}"))
}

fn server_config() -> anyhow::Result<rustls::ServerConfig> {
    let certs = ureq::tls::parse_pem(SERVER_PEM.as_bytes())
        .filter_map(|item| match item {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(rustls::pki_types::CertificateDer::from(c.der().to_vec())),
            _ => None,
        })
        .collect::<Vec<_>>();
    let key = ureq::tls::PrivateKey::from_pem(SERVER_KEY.as_bytes()).context("the fixture key")?;
    let key = rustls::pki_types::PrivateKeyDer::try_from(key.der().to_vec())
        .map_err(|e| anyhow::anyhow!("the fixture key: {e}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS versions")?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the fixture certificate")
}

fn is_wait(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

/// Moves bytes between a TLS client and the plain backend until either side is done. Both
/// sockets poll with a short read timeout, so one thread serves both directions.
fn relay(mut client: TcpStream, config: Arc<rustls::ServerConfig>, backend: SocketAddr) -> io::Result<()> {
    let mut tls = rustls::ServerConnection::new(config).map_err(io::Error::other)?;
    let mut plain = TcpStream::connect(backend)?;
    let tick = Some(Duration::from_millis(2));
    client.set_read_timeout(tick)?;
    plain.set_read_timeout(tick)?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match tls.read_tls(&mut client) {
            Ok(0) => return Ok(()),
            Ok(_) => {
                // A client that does not trust the certificate aborts here: nothing to relay.
                tls.process_new_packets().map_err(io::Error::other)?;
            }
            Err(e) if is_wait(&e) => {}
            Err(e) => return Err(e),
        }
        loop {
            match tls.reader().read(&mut buf) {
                Ok(0) => return Ok(()),
                Ok(n) => plain.write_all(&buf[..n])?,
                Err(e) if is_wait(&e) => break,
                Err(e) => return Err(e),
            }
        }
        let backend_done = match plain.read(&mut buf) {
            Ok(0) => true,
            Ok(n) => {
                tls.writer().write_all(&buf[..n])?;
                false
            }
            Err(e) if is_wait(&e) => false,
            Err(e) => return Err(e),
        };
        if backend_done {
            tls.send_close_notify();
        }
        while tls.wants_write() {
            tls.write_tls(&mut client)?;
        }
        if backend_done {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_move_to_the_https_origin() {
        assert_eq!(origin("http://127.0.0.1:5/index/x").as_deref(), Some("http://127.0.0.1:5"));
        let front = TlsTerminator::start("http://127.0.0.1:9/whatever").unwrap();
        assert!(front.origin().starts_with("https://127.0.0.1:"));
        assert_eq!(front.url_of("http://127.0.0.1:9/index"), format!("{}/index", front.origin()));
        assert_eq!(front.url_of("http://10.0.0.1:9/x"), "http://10.0.0.1:9/x", "other origins unchanged");
    }
}
