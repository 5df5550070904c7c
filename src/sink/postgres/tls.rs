//! TLS for `postgres://` outputs: libpq's `sslmode` and `sslrootcert` URL
//! parameters, over rustls with the ring provider reqwest already uses.
//!
//! tokio-postgres knows only `disable`, `prefer` and `require`, and only as
//! "whether to ask for TLS": what the certificate must prove is the TLS
//! connector's business. So both parameters are taken out of the URL here,
//! the driver is told whether to ask for TLS, and the connector gets a
//! [`Verifier`] that checks what the mode promises:
//!
//! | sslmode | asks for TLS | chain checked | host name checked |
//! |---|---|---|---|
//! | `disable` | no | — | — |
//! | `prefer` (default) | yes, plain text if the server declines | only with `sslrootcert` | no |
//! | `require` | yes | only with `sslrootcert` | no |
//! | `verify-ca` | yes | yes | no |
//! | `verify-full` | yes | yes | yes |
//!
//! A chain is checked against the PEM file `sslrootcert` names, or, without
//! one (or with `sslrootcert=system`), against the Mozilla roots built into
//! trawl (webpki-roots). As in libpq, `require` with a root file checks the
//! chain like `verify-ca`; so does `prefer`, where libpq would retry in plain
//! text on a bad certificate and trawl fails instead (tokio-postgres falls
//! back only when the server itself declines TLS). Over a Unix socket TLS
//! is never asked for: PostgreSQL does not offer it there, and libpq ignores
//! `sslmode` for sockets.

use std::path::PathBuf;
use std::sync::Arc;

use percent_encoding::percent_decode_str;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::Config;
use tokio_postgres_rustls::MakeRustlsConnect;

/// The `sslmode` values accepted, as the error messages list them.
const MODES: &str = "disable, prefer, require, verify-ca or verify-full";

/// libpq's `sslmode`, less `allow` (plain text first, TLS if the server
/// insists), which tokio-postgres cannot do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

/// Where the roots a chain is checked against come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Roots {
    /// Mozilla's roots, built in (no `sslrootcert`, or `sslrootcert=system`).
    BuiltIn,
    /// A PEM file of certificates to trust.
    File(PathBuf),
}

/// What a URL asks of TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Tls {
    mode: Mode,
    /// `None`: no `sslrootcert` given.
    roots: Option<Roots>,
}

impl Tls {
    /// Takes `sslmode` and `sslrootcert` out of `url`: returns the URL
    /// tokio-postgres may parse, and the TLS settings. The last value of a
    /// parameter given twice wins, as in libpq.
    pub(super) fn from_url(url: &str) -> Result<(String, Tls), String> {
        let Some((base, query)) = url.split_once('?') else {
            return Ok((url.to_string(), Tls::new(None, None)?));
        };
        let (mut mode, mut root_cert, mut kept) = (None, None, Vec::new());
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match decode(key).as_str() {
                "sslmode" => mode = Some(decode(value)),
                "sslrootcert" => root_cert = Some(decode(value)).filter(|v| !v.is_empty()),
                _ => kept.push(pair),
            }
        }
        let url = match kept.is_empty() {
            true => base.to_string(),
            false => format!("{base}?{}", kept.join("&")),
        };
        Ok((url, Tls::new(mode.as_deref(), root_cert.as_deref())?))
    }

    fn new(mode: Option<&str>, root_cert: Option<&str>) -> Result<Tls, String> {
        let roots = root_cert.map(|v| match v {
            "system" => Roots::BuiltIn,
            path => Roots::File(PathBuf::from(path)),
        });
        let mode = match mode {
            Some(text) => Mode::parse(text)?,
            // libpq: `system` roots are for checking names, so that is the default.
            None if roots == Some(Roots::BuiltIn) => Mode::VerifyFull,
            None => Mode::Prefer,
        };
        if roots == Some(Roots::BuiltIn) && mode != Mode::VerifyFull {
            return Err(format!(
                "sslmode={} with sslrootcert=system: expected sslmode=verify-full \
                 (the system roots vouch for names, so anything less is a mistake, as libpq says)",
                mode.as_str()
            ));
        }
        Ok(Tls { mode, roots })
    }

    /// Whether tokio-postgres asks the server for TLS, and insists.
    ///
    /// Not over Unix sockets: PostgreSQL never offers TLS there, and libpq
    /// ignores `sslmode` for them, so `require` must not fail on one.
    pub(super) fn ssl_mode(&self, config: &Config) -> SslMode {
        let hosts = config.get_hosts();
        if !hosts.is_empty() && hosts.iter().all(|h| matches!(h, Host::Unix(_))) {
            return SslMode::Disable;
        }
        match self.mode {
            Mode::Disable => SslMode::Disable,
            Mode::Prefer => SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => SslMode::Require,
        }
    }

    /// The connector for the pool; reads the `sslrootcert` file, if used.
    pub(super) fn connector(&self) -> Result<MakeRustlsConnect, String> {
        let check = match (self.mode, &self.roots) {
            (Mode::Disable, _) | (Mode::Prefer | Mode::Require, None) => Check::Nothing,
            (Mode::VerifyFull, roots) => Check::ChainAndName(load(roots)?),
            (_, roots) => Check::Chain(load(roots)?),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier = Verifier {
            check,
            provider: Arc::clone(&provider),
        };
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS ({e})"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        // As libpq 17 does: PostgreSQL 17 insists on it for
        // `sslnegotiation=direct`, and older servers ignore it.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok(MakeRustlsConnect::new(config))
    }
}

impl Mode {
    fn parse(text: &str) -> Result<Mode, String> {
        match text {
            "disable" => Ok(Mode::Disable),
            "prefer" => Ok(Mode::Prefer),
            "require" => Ok(Mode::Require),
            "verify-ca" => Ok(Mode::VerifyCa),
            "verify-full" => Ok(Mode::VerifyFull),
            "allow" => Err(format!(
                "sslmode=allow is not supported (plain text first, TLS only if the server \
                 insists); expected {MODES}"
            )),
            other => Err(format!("sslmode={other}: expected {MODES}")),
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }
}

/// tokio-postgres percent-decodes URL parameters, and so must we: a path
/// with a space arrives as `%20`.
fn decode(text: &str) -> String {
    percent_decode_str(text).decode_utf8_lossy().into_owned()
}

/// The roots to check a chain against: the built-in ones, or a PEM file's.
fn load(roots: &Option<Roots>) -> Result<Arc<RootCertStore>, String> {
    let Some(Roots::File(path)) = roots else {
        return Ok(Arc::new(RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        }));
    };
    let shown = path.display();
    let expected = "expected a PEM file of the certificates to trust, or `system`";
    let bytes = std::fs::read(path)
        .map_err(|e| format!("sslrootcert={shown}: cannot read it ({e}); {expected}"))?;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<_, _>>()
        .map_err(|e| format!("sslrootcert={shown}: not PEM ({e}); {expected}"))?;
    let mut store = RootCertStore::empty();
    let (usable, _unusable) = store.add_parsable_certificates(certs);
    if usable == 0 {
        return Err(format!(
            "sslrootcert={shown}: holds no usable certificate; {expected}"
        ));
    }
    Ok(Arc::new(store))
}

/// What the server's certificate must prove.
#[derive(Debug)]
enum Check {
    /// Nothing (`prefer`, `require`): encrypted, but to whoever answered.
    Nothing,
    /// A chain to one of the roots (`verify-ca`).
    Chain(Arc<RootCertStore>),
    /// A chain to one of the roots, and the URL's host name (`verify-full`).
    ChainAndName(Arc<RootCertStore>),
}

/// Checks the certificate as the `sslmode` asks. The handshake's signatures
/// are checked in every mode: they prove the server holds the key of the
/// certificate it showed, whether or not that certificate is trusted.
#[derive(Debug)]
struct Verifier {
    check: Check,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let (roots, name) = match &self.check {
            Check::Nothing => return Ok(ServerCertVerified::assertion()),
            Check::Chain(roots) => (roots, None),
            Check::ChainAndName(roots) => (roots, Some(server_name)),
        };
        let cert = ParsedCertificate::try_from(end_entity)?;
        let algorithms = self.provider.signature_verification_algorithms.all;
        verify_server_cert_signed_by_trust_anchor(&cert, roots, intermediates, now, algorithms)?;
        if let Some(name) = name {
            verify_server_name(&cert, name)?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// What to tell a user whose connection failed on the server's certificate;
/// `None` for any other failure.
pub(super) fn certificate_problem(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let rustls::Error::InvalidCertificate(problem) = error.downcast_ref::<rustls::Error>()? else {
        return None;
    };
    let why = match problem {
        CertificateError::UnknownIssuer => "no root trusted here signed it (the roots \
             are the PEM file sslrootcert names, else the built-in Mozilla roots)"
            .to_string(),
        other => other.to_string(),
    };
    Some(format!("the server's certificate was rejected: {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls(mode: Mode, roots: Option<Roots>) -> Tls {
        Tls { mode, roots }
    }

    #[test]
    fn ssl_parameters_are_taken_out_of_the_url() {
        let file = || Some(Roots::File(PathBuf::from("/a b/root.crt")));
        let cases = [
            ("postgres://h/db", "postgres://h/db", tls(Mode::Prefer, None)),
            (
                "postgres://h/db?sslmode=disable",
                "postgres://h/db",
                tls(Mode::Disable, None),
            ),
            (
                "postgres://h/db?application_name=x&sslmode=verify-ca&sslrootcert=/a%20b/root.crt&connect_timeout=3",
                "postgres://h/db?application_name=x&connect_timeout=3",
                tls(Mode::VerifyCa, file()),
            ),
            (
                "postgres://h/db?sslmode=disable&sslmode=verify-full",
                "postgres://h/db",
                tls(Mode::VerifyFull, None),
            ),
            (
                "postgres://h/db?ssl%6Dode=require&sslrootcert=",
                "postgres://h/db",
                tls(Mode::Require, None),
            ),
            (
                "postgres://h/db?sslrootcert=system",
                "postgres://h/db",
                tls(Mode::VerifyFull, Some(Roots::BuiltIn)),
            ),
        ];
        for (url, rest, expected) in cases {
            assert_eq!(
                Tls::from_url(url),
                Ok((rest.to_string(), expected)),
                "{url}"
            );
        }
    }

    #[test]
    fn modes_that_cannot_work_name_the_parameter_and_the_accepted_values() {
        let cases = [
            (
                "postgres://h/db?sslmode=verify",
                "sslmode=verify: expected disable, prefer, require, verify-ca or verify-full",
            ),
            ("postgres://h/db?sslmode=", "sslmode=: expected disable"),
            (
                "postgres://h/db?sslmode=allow",
                "sslmode=allow is not supported",
            ),
            (
                "postgres://h/db?sslmode=REQUIRE",
                "sslmode=REQUIRE: expected",
            ),
            (
                "postgres://h/db?sslmode=require&sslrootcert=system",
                "sslmode=require with sslrootcert=system: expected sslmode=verify-full",
            ),
        ];
        for (url, message) in cases {
            let error = Tls::from_url(url).unwrap_err();
            assert!(error.starts_with(message), "{url}: {error}");
        }
    }

    #[test]
    fn the_driver_insists_on_tls_unless_disabled_preferred_or_over_a_unix_socket() {
        let cases = [
            (Mode::Disable, SslMode::Disable),
            (Mode::Prefer, SslMode::Prefer),
            (Mode::Require, SslMode::Require),
            (Mode::VerifyCa, SslMode::Require),
            (Mode::VerifyFull, SslMode::Require),
        ];
        let tcp: Config = "postgres://h1,h2/db".parse().unwrap();
        let socket: Config = "postgres://%2Fvar%2Frun%2Fpostgresql/db".parse().unwrap();
        let both: Config = "postgres://%2Ftmp,h/db".parse().unwrap();
        for (mode, wire) in cases {
            assert_eq!(tls(mode, None).ssl_mode(&tcp), wire, "{mode:?}");
            assert_eq!(tls(mode, None).ssl_mode(&both), wire, "{mode:?}");
            let over_socket = tls(mode, None).ssl_mode(&socket);
            assert_eq!(over_socket, SslMode::Disable, "{mode:?} over a Unix socket");
        }
    }

    #[test]
    fn root_files_that_cannot_be_used_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let missing = dir.path().join("missing.pem");
        let cases = [
            (&missing, "cannot read it"),
            (&empty, "holds no usable certificate"),
            (&garbage, "holds no usable certificate"),
        ];
        for (path, problem) in cases {
            let settings = tls(Mode::VerifyCa, Some(Roots::File(path.clone())));
            let error = settings.connector().err().expect("the file was refused");
            let named = format!("sslrootcert={}: {problem}", path.display());
            assert!(error.starts_with(&named), "{error}");
            assert!(error.contains("expected a PEM file"), "{error}");
        }
    }

    #[test]
    fn root_files_are_read_only_when_the_mode_checks_a_chain() {
        let missing = Some(Roots::File(PathBuf::from("/nonexistent/root.crt")));
        assert!(tls(Mode::Disable, missing.clone()).connector().is_ok());
        for mode in [
            Mode::Prefer,
            Mode::Require,
            Mode::VerifyCa,
            Mode::VerifyFull,
        ] {
            assert!(
                tls(mode, missing.clone()).connector().is_err(),
                "{mode:?} did not read sslrootcert"
            );
        }
    }
}
