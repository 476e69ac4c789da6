//! QR code of an otpauth:// URI, as SVG, for enrolment in an authenticator app.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use thiserror::Error;
use zeroize::Zeroizing;

use super::uri::OtpAuthUri;

/// Smallest width and height of the rendered SVG, in pixels.
const MIN_SIZE_PX: u32 = 200;

/// Why a QR code could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum QrError {
    /// The URI does not fit in the largest QR code (about 2.3 KB at error-correction
    /// level M); use a shorter issuer or account name.
    #[error("URI is too long for a QR code; shorten the issuer or account name")]
    TooLong,
}

/// The QR code of `uri` as a standalone SVG document (black on white, with the quiet
/// zone, error correction M, at least 200 × 200 pixels).
///
/// The SVG encodes the secret, so it comes in a buffer wiped on drop; the QR encoder's
/// own intermediate buffers are not under this crate's control.
///
/// # Errors
/// [`QrError::TooLong`].
pub fn qr_svg(uri: &OtpAuthUri) -> Result<Zeroizing<String>, QrError> {
    let text = uri.to_uri();
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|_| QrError::TooLong)?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(MIN_SIZE_PX, MIN_SIZE_PX)
        .quiet_zone(true)
        .build();
    Ok(Zeroizing::new(image))
}

#[cfg(test)]
#[allow(
    clippy::expect_used,
    reason = "in a test a panic is the failure report"
)]
mod tests {
    use super::*;
    use crate::otp::TimeStep;
    use crate::otp::uri::OtpKind;
    use crate::secret::Secret;

    fn uri(account: &str) -> OtpAuthUri {
        OtpAuthUri::new(
            OtpKind::Totp {
                period: TimeStep::default(),
            },
            Secret::from_bytes(b"12345678901234567890").expect("non-empty"),
            Some("ACME"),
            account,
        )
        .expect("valid")
    }

    #[test]
    fn renders_an_svg_document() {
        let svg = qr_svg(&uri("john@example.com")).expect("fits");
        assert!(svg.starts_with("<?xml"), "not an XML document");
        assert!(svg.contains("<svg"), "no svg element");
        assert!(svg.trim_end().ends_with("</svg>"), "unterminated svg");
        assert!(svg.contains("<path"), "no dark modules drawn");
    }

    #[test]
    fn same_uri_same_picture_different_uri_different_picture() {
        let a = qr_svg(&uri("alice")).expect("fits");
        let b = qr_svg(&uri("alice")).expect("fits");
        let c = qr_svg(&uri("bob")).expect("fits");
        assert_eq!(a.as_str(), b.as_str());
        assert_ne!(a.as_str(), c.as_str());
    }

    #[test]
    fn oversized_uri_is_an_error_not_a_panic() {
        let huge = "x".repeat(3_000);
        assert_eq!(qr_svg(&uri(&huge)).map(|s| s.len()), Err(QrError::TooLong));
    }
}
