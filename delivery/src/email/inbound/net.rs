//! The connection under IMAP and POP3: TCP, implicit TLS or a STARTTLS upgrade (rustls
//! with the ring provider and the webpki root store, as lettre's SMTP client uses), and
//! the per-operation timeout.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::account::InboundAccount;
use super::error::InboundError;

/// A connection to the server, plain or TLS.
enum Stream {
    /// Plain TCP (security none, or before STARTTLS).
    Plain(TcpStream),
    /// TLS over TCP.
    Tls(Box<TlsStream<TcpStream>>),
}

/// Runs `future` within `limit`; `operation` names it in the timeout error.
pub(crate) async fn timed<T>(
    limit: Duration,
    operation: &'static str,
    future: impl Future<Output = Result<T, InboundError>>,
) -> Result<T, InboundError> {
    tokio::time::timeout(limit, future)
        .await
        .map_err(|_| InboundError::Timeout {
            operation,
            timeout_ms: limit.as_millis(),
        })?
}

/// Connects to the account's server; with implicit TLS the handshake is done too.
async fn connect(account: &InboundAccount) -> Result<Stream, InboundError> {
    let (host, port) = (account.host(), account.port());
    let tcp = timed(account.timeout(), "connecting", async {
        TcpStream::connect((host.trim_start_matches('[').trim_end_matches(']'), port))
            .await
            .map_err(|e| InboundError::Connect {
                host: host.to_owned(),
                port,
                text: e.to_string(),
            })
    })
    .await?;
    let stream = Stream::Plain(tcp);
    if account.security() == crate::email::Security::Tls {
        return upgrade(stream, account).await;
    }
    Ok(stream)
}

/// Wraps a plain connection in TLS (implicit TLS, or after the server accepted STARTTLS).
async fn upgrade(stream: Stream, account: &InboundAccount) -> Result<Stream, InboundError> {
    let Stream::Plain(tcp) = stream else {
        return Err(InboundError::Protocol {
            text: "TLS was started twice".into(),
        });
    };
    let host = account.host().trim_start_matches('[').trim_end_matches(']');
    let name = ServerName::try_from(host.to_owned()).map_err(|e| InboundError::Tls {
        text: format!("{host} is not a valid TLS server name: {e}"),
    })?;
    let connector = TlsConnector::from(tls_config(account.dangerous_ignore_cert_errors())?);
    let tls = timed(account.timeout(), "negotiating TLS", async {
        connector
            .connect(name, tcp)
            .await
            .map_err(|e| InboundError::Tls {
                text: tls_error_text(&e),
            })
    })
    .await?;
    Ok(Stream::Tls(Box::new(tls)))
}

/// A connection with its read buffer and the account's per-operation timeout: the
/// framing layer IMAP and POP3 read lines and responses from.
pub(crate) struct Conn {
    stream: Stream,
    /// Bytes received and not consumed yet.
    pub(crate) buf: Vec<u8>,
    limit: Duration,
}

impl Conn {
    /// Connects to the account's server (with the TLS handshake for implicit TLS).
    pub(crate) async fn open(account: &InboundAccount) -> Result<Self, InboundError> {
        Ok(Self {
            stream: connect(account).await?,
            buf: Vec::new(),
            limit: account.timeout(),
        })
    }

    /// Writes `bytes` and flushes, within the timeout.
    pub(crate) async fn send(
        &mut self,
        operation: &'static str,
        bytes: &[u8],
    ) -> Result<(), InboundError> {
        let stream = &mut self.stream;
        timed(self.limit, operation, async {
            stream
                .write_all(bytes)
                .await
                .map_err(|e| io_error(operation, &e))?;
            stream.flush().await.map_err(|e| io_error(operation, &e))
        })
        .await
    }

    /// Reads what the server sent next into the buffer (at least one byte), within the
    /// timeout; a closed connection is [`InboundError::Closed`].
    pub(crate) async fn read_more(&mut self, operation: &'static str) -> Result<(), InboundError> {
        let (stream, buf) = (&mut self.stream, &mut self.buf);
        let read = timed(self.limit, operation, async {
            stream
                .read_buf(buf)
                .await
                .map_err(|e| io_error(operation, &e))
        })
        .await?;
        if read == 0 {
            return Err(InboundError::Closed { operation });
        }
        Ok(())
    }

    /// The next line (without CR LF), at most `max` bytes long.
    pub(crate) async fn read_line(
        &mut self,
        operation: &'static str,
        max: usize,
    ) -> Result<Vec<u8>, InboundError> {
        let (line, cut) = self.read_line_capped(operation, max).await?;
        if cut {
            return Err(InboundError::Protocol {
                text: format!("a line longer than {max} bytes while {operation}"),
            });
        }
        Ok(line)
    }

    /// The next line (without CR LF), of which only the first `keep` bytes are kept: the
    /// rest is read and dropped, so a huge line costs time, not memory. The flag says
    /// whether the line was cut.
    pub(crate) async fn read_line_capped(
        &mut self,
        operation: &'static str,
        keep: usize,
    ) -> Result<(Vec<u8>, bool), InboundError> {
        let mut line = Vec::new();
        let mut cut = false;
        loop {
            let newline = self.buf.iter().position(|b| *b == b'\n');
            let content = newline.unwrap_or(self.buf.len());
            // One byte more than `keep`, for a CR that may end the line.
            let room = (keep + 1).saturating_sub(line.len()).min(content);
            line.extend_from_slice(&self.buf[..room]);
            cut |= room < content;
            self.buf.drain(..newline.map_or(content, |end| end + 1));
            if newline.is_some() {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                if line.len() > keep {
                    line.truncate(keep);
                    cut = true;
                }
                return Ok((line, cut));
            }
            self.read_more(operation).await?;
        }
    }

    /// Upgrades to TLS after the server accepted STARTTLS / STLS. Bytes the server sent
    /// after its answer would have been injected before the handshake: they are refused.
    pub(crate) async fn start_tls(self, account: &InboundAccount) -> Result<Self, InboundError> {
        if !self.buf.is_empty() {
            return Err(InboundError::Protocol {
                text: "the server sent data after accepting STARTTLS (possible injection)".into(),
            });
        }
        Ok(Self {
            stream: upgrade(self.stream, account).await?,
            buf: Vec::new(),
            limit: self.limit,
        })
    }
}

/// An I/O error as [`InboundError`]: a closed or reset connection is [`InboundError::Closed`].
fn io_error(operation: &'static str, error: &io::Error) -> InboundError {
    match error.kind() {
        io::ErrorKind::UnexpectedEof
        | io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => InboundError::Closed { operation },
        _ => InboundError::Io {
            operation,
            text: error.to_string(),
        },
    }
}

/// The rustls configuration: the webpki roots, or (dangerous, on request) any certificate.
fn tls_config(ignore_cert_errors: bool) -> Result<Arc<ClientConfig>, InboundError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| InboundError::Tls {
            text: e.to_string(),
        })?;
    let config = if ignore_cert_errors {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate { provider }))
            .with_no_client_auth()
    } else {
        let roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// The error and its causes (rustls's certificate error sits in the source).
fn tls_error_text(error: &io::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The "ignore certificate errors" verifier: any certificate and host name is accepted,
/// but the handshake signatures are still checked against the presented certificate (so
/// the connection is at least consistent, though not authenticated).
#[derive(Debug)]
struct AcceptAnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
        }
    }
}
