//! TLS for PostgreSQL connections (rustls), following libpq's `sslmode` semantics.
//!
//! | sslmode | TLS | certificate check |
//! |---|---|---|
//! | `disable` | never | — |
//! | `allow`, `prefer` (default) | if the server offers it | chain only if `sslrootcert` is given |
//! | `require` | always | chain only if `sslrootcert` is given (or `~/.postgresql/root.crt` exists) |
//! | `verify-ca` | always | chain against `sslrootcert` |
//! | `verify-full` | always | chain and host name against `sslrootcert` |
//!
//! `sslrootcert=system` uses the operating system's trust store. `sslcert` / `sslkey` add a client
//! certificate. Unix-socket connections never use TLS.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::SslMode;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::url::DatabaseUrl;
use crate::error::{Error, Result};

/// Installs rustls' ring provider as the process's default when none is installed yet. The HTTPS
/// clients of the cloud stores and the alerts (reqwest) take the process default and panic without
/// one; an application that installed its own provider keeps it.
#[cfg(feature = "cloud-http")]
pub(crate) fn ensure_default_crypto_provider() {
    if CryptoProvider::get_default().is_none() {
        // Err: another thread installed one in between, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// How strictly the server certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Check {
    None,
    Chain,
    ChainAndHost,
}

/// The driver's TLS mode and the connector for `url`'s `sslmode`, `sslrootcert`, `sslcert`, `sslkey`.
pub(crate) fn connector(url: &DatabaseUrl) -> Result<(SslMode, PgTls)> {
    let mode = url.param("sslmode").unwrap_or("prefer");
    let root = url.param("sslrootcert").map(expand_home).or_else(|| {
        let default = home()?.join(".postgresql/root.crt");
        (mode != "prefer" && mode != "allow" && default.exists()).then_some(default)
    });
    let (ssl_mode, check) = ssl_mode_and_check(mode, root.is_some())?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::config("sslmode", format!("cannot set up TLS: {e}")))?;
    let verifier = server_verifier(check, mode, root.as_deref(), &provider)?;
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = with_client_cert(builder, url)?;
    Ok((ssl_mode, PgTls(MakeRustlsConnect::new(config))))
}

/// The connector of a cancel request to the server of `url` (its own TLS settings), or, for a
/// connection of a pool whose settings are not at hand, TLS when the server offers it without a
/// certificate check (a cancel request carries only the session's cancel key).
#[cfg(feature = "migrate")]
pub(crate) fn cancel_connector(url: Option<&DatabaseUrl>) -> Option<PgTls> {
    let any_server = DatabaseUrl::unix_socket("/tmp", 5432, "postgres", "postgres");
    connector(url.unwrap_or(&any_server))
        .ok()
        .map(|(_, tls)| tls)
}

/// The driver's TLS mode and the certificate check of libpq's `sslmode` (`has_root`: whether a root
/// certificate is given or found).
fn ssl_mode_and_check(mode: &str, has_root: bool) -> Result<(SslMode, Check)> {
    Ok(match mode {
        "disable" => (SslMode::Disable, Check::None),
        "allow" | "prefer" => (
            SslMode::Prefer,
            if has_root { Check::Chain } else { Check::None },
        ),
        "require" => (
            SslMode::Require,
            if has_root { Check::Chain } else { Check::None },
        ),
        "verify-ca" => (SslMode::Require, Check::Chain),
        "verify-full" => (SslMode::Require, Check::ChainAndHost),
        other => {
            return Err(Error::config(
                "sslmode",
                format!(
                    "`{other}` is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ),
            ));
        }
    })
}

/// The server certificate verifier for `check`: none, the chain against the root certificates
/// `root` (or the system's), or the chain and the host name.
fn server_verifier(
    check: Check,
    mode: &str,
    root: Option<&Path>,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>> {
    Ok(match check {
        Check::None => Arc::new(NoCheck(provider.clone())),
        Check::Chain | Check::ChainAndHost => {
            let roots = load_roots(mode, root)?;
            let webpki =
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| {
                        Error::config(
                            "sslrootcert",
                            format!("cannot use the root certificates: {e}"),
                        )
                    })?;
            if check == Check::Chain {
                Arc::new(ChainOnly(webpki))
            } else {
                webpki
            }
        }
    })
}

/// The client configuration with `url`'s client certificate (`sslcert` and `sslkey`, both or
/// neither).
fn with_client_cert(
    builder: rustls::ConfigBuilder<ClientConfig, rustls::client::WantsClientCert>,
    url: &DatabaseUrl,
) -> Result<ClientConfig> {
    Ok(match (url.param("sslcert"), url.param("sslkey")) {
        (Some(cert), Some(key)) => {
            let (cert, key) = (expand_home(cert), expand_home(key));
            let chain = read_certs(&cert, "sslcert")?;
            let key = PrivateKeyDer::from_pem_file(&key).map_err(|e| {
                Error::config(
                    "sslkey",
                    format!("cannot read a private key from `{}`: {e}", key.display()),
                )
            })?;
            builder.with_client_auth_cert(chain, key).map_err(|e| {
                Error::config(
                    "sslcert",
                    format!("the client certificate and key do not fit: {e}"),
                )
            })?
        }
        (None, None) => builder.with_no_client_auth(),
        _ => {
            return Err(Error::config(
                "sslcert",
                "sslcert and sslkey must be given together",
            ));
        }
    })
}

/// The rustls connector, tolerant of unix-socket "host names" (TLS is never used over a socket, but
/// the driver asks for a connector for every host).
#[derive(Clone)]
pub(crate) struct PgTls(MakeRustlsConnect);

impl<S> MakeTlsConnect<S> for PgTls
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    type Stream = <MakeRustlsConnect as MakeTlsConnect<S>>::Stream;
    type TlsConnect = <MakeRustlsConnect as MakeTlsConnect<S>>::TlsConnect;
    type Error = <MakeRustlsConnect as MakeTlsConnect<S>>::Error;

    fn make_tls_connect(
        &mut self,
        hostname: &str,
    ) -> std::result::Result<Self::TlsConnect, Self::Error> {
        let name = if hostname.is_empty() || hostname.starts_with('/') || hostname.starts_with('@')
        {
            "localhost"
        } else {
            hostname
        };
        <MakeRustlsConnect as MakeTlsConnect<S>>::make_tls_connect(&mut self.0, name)
    }
}

fn home() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from)
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), home()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(path),
    }
}

fn read_certs(path: &Path, field: &str) -> Result<Vec<CertificateDer<'static>>> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .and_then(|iter| iter.collect::<std::result::Result<Vec<_>, _>>())
        .map_err(|e| {
            Error::config(
                field,
                format!(
                    "cannot read PEM certificates from `{}`: {e}",
                    path.display()
                ),
            )
        })?;
    if certs.is_empty() {
        return Err(Error::config(
            field,
            format!("`{}` holds no PEM certificate", path.display()),
        ));
    }
    Ok(certs)
}

fn load_roots(mode: &str, root: Option<&Path>) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match root {
        Some(path) if path == Path::new("system") => {
            let found = rustls_native_certs::load_native_certs();
            store.add_parsable_certificates(found.certs);
        }
        Some(path) => {
            for cert in read_certs(path, "sslrootcert")? {
                store.add(cert).map_err(|e| {
                    Error::config("sslrootcert", format!("`{}`: {e}", path.display()))
                })?;
            }
        }
        None => {
            return Err(Error::config(
                "sslrootcert",
                format!(
                    "sslmode={mode} checks the server certificate and needs a root certificate: add \
                     sslrootcert=/path/to/ca.pem (or sslrootcert=system) to the URL, or put it in ~/.postgresql/root.crt"
                ),
            ));
        }
    }
    if store.is_empty() {
        return Err(Error::config(
            "sslrootcert",
            "no usable root certificate found".to_string(),
        ));
    }
    Ok(store)
}

/// `sslmode=prefer/require` without a root certificate: encrypted, server not authenticated (as libpq).
#[derive(Debug)]
struct NoCheck(Arc<CryptoProvider>);

impl ServerCertVerifier for NoCheck {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// `sslmode=verify-ca`: the chain must lead to a trusted root; the host name is not checked.
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}
