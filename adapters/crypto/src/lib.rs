//! The token vault's cipher (FEATURES A5): XChaCha20-Poly1305 (RustCrypto) with a key ring.
//!
//! - Keys come from `ENCRYPTION_KEY`, or `ENCRYPTION_KEYS` (comma-separated, newest first) while
//!   rotating; each is 32 random bytes in base64 (`storyline generate-key` prints one).
//! - A sealed token is `version (1) ‖ key id (4) ‖ nonce (24) ‖ ciphertext+tag`. The key id is
//!   the first 4 bytes of a SHA-256 over the key, so the ring knows which key opens it and a
//!   token sealed with a key no longer configured is named, not guessed at.
//! - The caller's binding (workspace and account) is authenticated as associated data: a
//!   ciphertext copied to another row does not open.
//! - Keys live in memory only inside the AEAD state and a [`SecretBox`]; `Debug` shows key ids.

mod state;

pub use state::LoginStates;

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use storyline_domain::ports::{CipherError, TokenCipher};

const VERSION: u8 = 1;
const KEY_ID_LEN: usize = 4;
const NONCE_LEN: usize = 24;
const HEADER_LEN: usize = 1 + KEY_ID_LEN + NONCE_LEN;

/// A configured key could not be read. Never carries key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no encryption key given")]
    Empty,
    #[error("encryption key {position} is not valid base64 of 32 bytes (generate one with `storyline generate-key`)")]
    Malformed { position: usize },
    #[error("encryption keys {first} and {second} are the same key")]
    Duplicate { first: usize, second: usize },
}

struct Key {
    id: [u8; KEY_ID_LEN],
    aead: XChaCha20Poly1305,
    raw: SecretBox<[u8; 32]>,
}

impl Key {
    fn new(raw: [u8; 32]) -> Self {
        Self { id: key_id(&raw), aead: XChaCha20Poly1305::new((&raw).into()), raw: SecretBox::new(Box::new(raw)) }
    }
}

/// The configured keys, newest first. Seals with the newest, opens with whichever a ciphertext
/// names.
pub struct Keyring {
    keys: Vec<Key>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("key_ids", &self.key_ids()).finish()
    }
}

fn key_id(key: &[u8; 32]) -> [u8; KEY_ID_LEN] {
    let digest = Sha256::new().chain_update(b"storyline key id v1").chain_update(key).finalize();
    let mut id = [0; KEY_ID_LEN];
    id.copy_from_slice(&digest[..KEY_ID_LEN]);
    id
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Keyring {
    /// Reads comma-separated base64 keys, newest first.
    ///
    /// # Errors
    /// [`KeyError`] naming the position (1-based) of a key that is not base64 of 32 bytes.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut keys: Vec<Key> = Vec::new();
        for (index, part) in text.split(',').map(str::trim).filter(|p| !p.is_empty()).enumerate() {
            let position = index + 1;
            let bytes = STANDARD.decode(part).map_err(|_| KeyError::Malformed { position })?;
            let raw: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed { position })?;
            let key = Key::new(raw);
            if let Some(first) = keys.iter().position(|k| k.id == key.id) {
                return Err(KeyError::Duplicate { first: first + 1, second: position });
            }
            keys.push(key);
        }
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self { keys })
    }

    /// A ring of one random key that lives as long as this process (to sign media URLs when no
    /// `ENCRYPTION_KEY` is configured; nothing it seals outlives the process).
    #[must_use]
    pub fn ephemeral() -> Self {
        Self { keys: vec![Key::new(XChaCha20Poly1305::generate_key(&mut OsRng).into())] }
    }

    /// A new random key, base64, for `ENCRYPTION_KEY`.
    #[must_use]
    pub fn generate() -> String {
        STANDARD.encode(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    /// A new random webhook secret token: 256 bits in URL-safe base64 (43 characters of
    /// `A-Z a-z 0-9 _ -`, the alphabet Telegram allows for `secret_token`).
    #[must_use]
    pub fn webhook_secret() -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    /// The key ids, newest first, as 8 hex digits (safe to log).
    #[must_use]
    pub fn key_ids(&self) -> Vec<String> {
        self.keys.iter().map(|k| hex(&k.id)).collect()
    }

    /// A 32-byte key for another purpose (signing media URLs), derived from the newest key with
    /// HMAC-SHA256 over `label`, so it changes when the newest key does.
    #[must_use]
    pub fn derive(&self, label: &str) -> SecretBox<[u8; 32]> {
        let newest = &self.keys[0];
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(newest.raw.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(label.as_bytes());
        SecretBox::new(Box::new(mac.finalize().into_bytes().into()))
    }
}

impl TokenCipher for Keyring {
    fn seal(&self, plaintext: &SecretString, binding: &[u8]) -> Result<Vec<u8>, CipherError> {
        let key = &self.keys[0];
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = key
            .aead
            .encrypt(&nonce, Payload { msg: plaintext.expose_secret().as_bytes(), aad: binding })
            .map_err(|_| CipherError::Malformed)?;
        let mut out = Vec::with_capacity(HEADER_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&key.id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    fn open(&self, sealed: &[u8], binding: &[u8]) -> Result<SecretString, CipherError> {
        if sealed.len() < HEADER_LEN + 16 || sealed[0] != VERSION {
            return Err(CipherError::Malformed);
        }
        let id = &sealed[1..=KEY_ID_LEN];
        let key = self.keys.iter().find(|k| k.id == id).ok_or_else(|| CipherError::UnknownKey(hex(id)))?;
        let nonce = XNonce::from_slice(&sealed[1 + KEY_ID_LEN..HEADER_LEN]);
        let plain = key
            .aead
            .decrypt(nonce, Payload { msg: &sealed[HEADER_LEN..], aad: binding })
            .map_err(|_| CipherError::Forged)?;
        String::from_utf8(plain).map(SecretString::from).map_err(|_| CipherError::Malformed)
    }

    fn is_current(&self, sealed: &[u8]) -> bool {
        sealed.len() > KEY_ID_LEN && sealed[0] == VERSION && sealed[1..=KEY_ID_LEN] == self.keys[0].id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token() -> SecretString {
        SecretString::from("IGAAB-a-long-lived-token-value".to_owned())
    }

    #[test]
    fn a_sealed_token_opens_with_its_binding_only() -> Result<(), Box<dyn std::error::Error>> {
        let ring = Keyring::parse(&Keyring::generate())?;
        let sealed = ring.seal(&token(), b"ws-a:acct-1")?;
        assert!(!sealed.windows(10).any(|w| w == &b"long-lived"[..]), "the plaintext is not in the ciphertext");
        assert_eq!(ring.open(&sealed, b"ws-a:acct-1")?.expose_secret(), token().expose_secret());
        assert_eq!(ring.open(&sealed, b"ws-a:acct-2").err(), Some(CipherError::Forged));
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert_eq!(ring.open(&tampered, b"ws-a:acct-1").err(), Some(CipherError::Forged));
        assert_eq!(ring.open(&sealed[..10], b"ws-a:acct-1").err(), Some(CipherError::Malformed));
        Ok(())
    }

    #[test]
    fn a_webhook_secret_is_long_random_and_in_telegrams_alphabet() {
        let (one, two) = (Keyring::webhook_secret(), Keyring::webhook_secret());
        assert_eq!(one.len(), 43);
        assert_ne!(one, two);
        assert!(one.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'), "{one}");
    }

    #[test]
    fn rotation_opens_old_tokens_and_seals_with_the_newest_key() -> Result<(), Box<dyn std::error::Error>> {
        let (old, new) = (Keyring::generate(), Keyring::generate());
        let before = Keyring::parse(&old)?;
        let sealed = before.seal(&token(), b"b")?;
        let rotating = Keyring::parse(&format!("{new}, {old}"))?;
        assert!(!rotating.is_current(&sealed));
        assert_eq!(rotating.open(&sealed, b"b")?.expose_secret(), token().expose_secret());
        let resealed = rotating.seal(&token(), b"b")?;
        assert!(rotating.is_current(&resealed));
        let after = Keyring::parse(&new)?;
        assert_eq!(after.open(&resealed, b"b")?.expose_secret(), token().expose_secret());
        let unknown = after.open(&sealed, b"b").err();
        assert_eq!(unknown, Some(CipherError::UnknownKey(before.key_ids()[0].clone())));
        Ok(())
    }

    #[test]
    fn bad_keys_are_refused_by_position_without_showing_them() {
        let good = Keyring::generate();
        assert_eq!(Keyring::parse("").err(), Some(KeyError::Empty));
        assert_eq!(Keyring::parse(" , ").err(), Some(KeyError::Empty));
        assert_eq!(Keyring::parse("not-base64!").err(), Some(KeyError::Malformed { position: 1 }));
        let short = STANDARD.encode([7u8; 16]);
        let error = Keyring::parse(&format!("{good},{short}")).err();
        assert_eq!(error, Some(KeyError::Malformed { position: 2 }));
        assert!(!error.map(|e| e.to_string()).unwrap_or_default().contains(&short));
        assert_eq!(Keyring::parse(&format!("{good},{good}")).err(), Some(KeyError::Duplicate { first: 1, second: 2 }));
    }

    #[test]
    fn debug_shows_key_ids_only() -> Result<(), KeyError> {
        let key = Keyring::generate();
        let ring = Keyring::parse(&key)?;
        let shown = format!("{ring:?}");
        assert!(!shown.contains(&key) && shown.contains(&ring.key_ids()[0]));
        Ok(())
    }

    #[test]
    fn derived_keys_depend_on_label_and_newest_key() -> Result<(), KeyError> {
        let (a, b) = (Keyring::generate(), Keyring::generate());
        let ring = Keyring::parse(&a)?;
        let urls = ring.derive("media urls");
        assert_ne!(urls.expose_secret(), ring.derive("other").expose_secret());
        assert_eq!(urls.expose_secret(), Keyring::parse(&format!("{a},{b}"))?.derive("media urls").expose_secret());
        assert_ne!(urls.expose_secret(), Keyring::parse(&format!("{b},{a}"))?.derive("media urls").expose_secret());
        Ok(())
    }
}
