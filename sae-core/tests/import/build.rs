//! Writes PSKC files for the tests: plaintext, or encrypted the way RFC 6030 §6.1 describes
//! (AES-CBC with the IV in front and PKCS #7 padding, or AES key wrap; the MAC key
//! encrypted with the same key; HMAC over IV ‖ ciphertext), optionally password-based.
//! The encryption here is written independently of the reader, with the RustCrypto
//! primitives directly.

use aes::cipher::array::Array;
use aes::cipher::{BlockCipherEncrypt, BlockModeEncrypt, KeyInit, KeyIvInit};
use data_encoding::BASE64;
use hmac::{Hmac, Mac};

/// An encryption method of the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    Cbc(usize),
    Kw(usize),
    Kwp(usize),
}

impl Cipher {
    pub fn uri(self) -> String {
        match self {
            Self::Cbc(bits) => format!("http://www.w3.org/2001/04/xmlenc#aes{bits}-cbc"),
            Self::Kw(bits) => format!("http://www.w3.org/2001/04/xmlenc#kw-aes{bits}"),
            Self::Kwp(bits) => format!("http://www.w3.org/2009/xmlenc11#kw-aes-{bits}-pad"),
        }
    }

    pub const fn key_len(self) -> usize {
        match self {
            Self::Cbc(bits) | Self::Kw(bits) | Self::Kwp(bits) => bits / 8,
        }
    }
}

fn cbc_encrypt<C: BlockCipherEncrypt<BlockSize = aes::cipher::consts::U16> + KeyInit>(
    key: &[u8],
    iv: &[u8; 16],
    plain: &[u8],
) -> Vec<u8> {
    let pad = 16 - plain.len() % 16;
    let mut buf = plain.to_vec();
    buf.extend(std::iter::repeat_n(pad as u8, pad));
    let mut enc = cbc::Encryptor::<C>::new_from_slices(key, iv).unwrap();
    let (blocks, _) = Array::slice_as_chunks_mut(&mut buf);
    enc.encrypt_blocks(blocks);
    let mut out = iv.to_vec();
    out.extend(buf);
    out
}

/// Encrypts `plain` (for CBC: returns IV ‖ ciphertext).
pub fn encrypt(cipher: Cipher, key: &[u8], plain: &[u8], iv: &[u8; 16]) -> Vec<u8> {
    let mut out = vec![0u8; plain.len() + 16];
    let len = match cipher {
        Cipher::Cbc(128) => return cbc_encrypt::<aes::Aes128>(key, iv, plain),
        Cipher::Cbc(192) => return cbc_encrypt::<aes::Aes192>(key, iv, plain),
        Cipher::Cbc(_) => return cbc_encrypt::<aes::Aes256>(key, iv, plain),
        Cipher::Kw(128) => aes_kw::KwAes128::new_from_slice(key)
            .unwrap()
            .wrap_key(plain, &mut out)
            .unwrap()
            .len(),
        Cipher::Kw(192) => aes_kw::KwAes192::new_from_slice(key)
            .unwrap()
            .wrap_key(plain, &mut out)
            .unwrap()
            .len(),
        Cipher::Kw(_) => aes_kw::KwAes256::new_from_slice(key)
            .unwrap()
            .wrap_key(plain, &mut out)
            .unwrap()
            .len(),
        Cipher::Kwp(128) => aes_kw::KwpAes128::new_from_slice(key)
            .unwrap()
            .wrap_key(plain, &mut out)
            .unwrap()
            .len(),
        Cipher::Kwp(192) => aes_kw::KwpAes192::new_from_slice(key)
            .unwrap()
            .wrap_key(plain, &mut out)
            .unwrap()
            .len(),
        Cipher::Kwp(_) => aes_kw::KwpAes256::new_from_slice(key)
            .unwrap()
            .wrap_key(plain, &mut out)
            .unwrap()
            .len(),
    };
    out.truncate(len);
    out
}

pub fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = <Hmac<sha1::Sha1> as hmac::KeyInit>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// One key package to write.
#[derive(Debug, Clone)]
pub struct Package {
    pub serial: Option<String>,
    pub algorithm: String,
    pub secret: Vec<u8>,
    /// Extra elements inside `AlgorithmParameters` (`<ResponseFormat …/>`, `<Suite>`).
    pub parameters: String,
    /// Extra elements inside `Data`, after `Secret` (`<Counter>…`).
    pub data: String,
    /// Extra elements inside `Key`, after `Data` (`<Policy>…`).
    pub key_extra: String,
}

impl Package {
    pub fn hotp(serial: &str, secret: &[u8]) -> Self {
        Self {
            serial: Some(serial.into()),
            algorithm: "urn:ietf:params:xml:ns:keyprov:pskc:hotp".into(),
            secret: secret.to_vec(),
            parameters: r#"<ResponseFormat Length="6" Encoding="DECIMAL"/>"#.into(),
            data: "<Counter><PlainValue>0</PlainValue></Counter>".into(),
            key_extra: String::new(),
        }
    }
}

/// How the written file protects its secrets.
#[derive(Debug, Clone)]
pub enum Protection {
    Plain,
    /// Pre-shared key; `mac` = None writes no MACMethod.
    Psk {
        key: Vec<u8>,
        cipher: Cipher,
        mac: Option<Vec<u8>>,
    },
    /// PBKDF2-SHA1 from `password`.
    Pbkdf2 {
        password: String,
        salt: Vec<u8>,
        iterations: u32,
        cipher: Cipher,
        mac: Vec<u8>,
    },
}

/// The PSKC document for `packages`.
pub fn container(protection: &Protection, packages: &[Package]) -> String {
    let mut xml = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<KeyContainer Version="1.0" xmlns="urn:ietf:params:xml:ns:keyprov:pskc"
  xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"
  xmlns:xenc11="http://www.w3.org/2009/xmlenc11#"
  xmlns:pkcs5="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#">
"#,
    );
    let mut iv = [7u8; 16];
    let (key, cipher, mac_key) = match protection {
        Protection::Plain => (Vec::new(), None, None),
        Protection::Psk { key, cipher, mac } => {
            xml.push_str(
                "<EncryptionKey><ds:KeyName>Pre-shared-key</ds:KeyName></EncryptionKey>\n",
            );
            (key.clone(), Some(*cipher), mac.clone())
        }
        Protection::Pbkdf2 {
            password,
            salt,
            iterations,
            cipher,
            mac,
        } => {
            xml.push_str(&format!(
                r#"<EncryptionKey><xenc11:DerivedKey><xenc11:KeyDerivationMethod
  Algorithm="http://www.rsasecurity.com/rsalabs/pkcs/schemas/pkcs-5v2-0#pbkdf2">
  <pkcs5:PBKDF2-params><Salt><Specified>{}</Specified></Salt>
  <IterationCount>{iterations}</IterationCount><KeyLength>{}</KeyLength></pkcs5:PBKDF2-params>
</xenc11:KeyDerivationMethod></xenc11:DerivedKey></EncryptionKey>
"#,
                BASE64.encode(salt),
                cipher.key_len()
            ));
            let mut key = vec![0u8; cipher.key_len()];
            pbkdf2::pbkdf2_hmac::<sha1::Sha1>(password.as_bytes(), salt, *iterations, &mut key);
            (key, Some(*cipher), Some(mac.clone()))
        }
    };
    if let (Some(cipher), Some(mac_key)) = (cipher, &mac_key) {
        let wrapped_cipher = if matches!(cipher, Cipher::Kw(_)) && !mac_key.len().is_multiple_of(8)
        {
            Cipher::Kwp(cipher.key_len() * 8)
        } else {
            cipher
        };
        let encrypted = encrypt(wrapped_cipher, &key, mac_key, &iv);
        xml.push_str(&format!(
            r#"<MACMethod Algorithm="http://www.w3.org/2000/09/xmldsig#hmac-sha1"><MACKey>
  <xenc:EncryptionMethod Algorithm="{}"/>
  <xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData>
</MACKey></MACMethod>
"#,
            wrapped_cipher.uri(),
            BASE64.encode(&encrypted)
        ));
    }
    for package in packages {
        iv[0] = iv[0].wrapping_add(1);
        let secret = match cipher {
            None => format!(
                "<PlainValue>{}</PlainValue>",
                BASE64.encode(&package.secret)
            ),
            Some(cipher) => {
                let encrypted = encrypt(cipher, &key, &package.secret, &iv);
                let mac = mac_key.as_ref().map_or(String::new(), |mac_key| {
                    format!(
                        "<ValueMAC>{}</ValueMAC>",
                        BASE64.encode(&hmac_sha1(mac_key, &encrypted))
                    )
                });
                format!(
                    r#"<EncryptedValue><xenc:EncryptionMethod Algorithm="{}"/>
  <xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData></EncryptedValue>{mac}"#,
                    cipher.uri(),
                    BASE64.encode(&encrypted)
                )
            }
        };
        let device = package.serial.as_ref().map_or(String::new(), |serial| {
            format!("<DeviceInfo><Manufacturer>Test</Manufacturer><SerialNo>{serial}</SerialNo></DeviceInfo>")
        });
        let id = package
            .serial
            .as_ref()
            .map_or(String::new(), |serial| format!(r#" Id="{serial}""#));
        xml.push_str(&format!(
            r#"<KeyPackage>{device}<Key{id} Algorithm="{}">
  <AlgorithmParameters>{}</AlgorithmParameters>
  <Data><Secret>{secret}</Secret>{}</Data>{}</Key></KeyPackage>
"#,
            package.algorithm, package.parameters, package.data, package.key_extra
        ));
    }
    xml.push_str("</KeyContainer>\n");
    xml
}
