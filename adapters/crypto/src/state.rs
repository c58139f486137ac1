//! Signed `state` parameters for login links ([`StateSigner`]): `{workspace}.{nonce}.{mac}`,
//! the MAC an HMAC-SHA256 over both with a key derived from the newest encryption key (so every
//! replica with the same `ENCRYPTION_KEY` checks every other's). PKCE verifiers and their S256
//! challenges come with each state.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::OsRng;
use chacha20poly1305::aead::rand_core::RngCore;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::{Digest, Sha256};
use storyline_domain::WorkspaceId;
use storyline_domain::login::IssuedState;
use storyline_domain::ports::StateSigner;

use crate::Keyring;

const LABEL: &str = "storyline login state v1";
/// A state is short; anything longer is refused before any MAC is computed.
const MAX_STATE_LEN: usize = 200;

/// Signs and checks login states. `Debug` never shows the key.
pub struct LoginStates {
    key: SecretBox<[u8; 32]>,
}

impl std::fmt::Debug for LoginStates {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginStates").finish_non_exhaustive()
    }
}

fn random_text() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl LoginStates {
    /// Keyed from `keyring`'s newest key.
    #[must_use]
    pub fn new(keyring: &Keyring) -> Self {
        Self { key: keyring.derive(LABEL) }
    }

    fn mac(&self, workspace: &str, nonce: &str) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.expose_secret())
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(b"login v1\n");
        mac.update(workspace.as_bytes());
        mac.update(b"\n");
        mac.update(nonce.as_bytes());
        mac
    }
}

impl StateSigner for LoginStates {
    fn issue(&self, workspace: WorkspaceId) -> IssuedState {
        let workspace = workspace.to_string();
        let nonce = random_text();
        let tag = URL_SAFE_NO_PAD.encode(self.mac(&workspace, &nonce).finalize().into_bytes());
        let verifier = random_text();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        IssuedState {
            state: format!("{workspace}.{nonce}.{tag}"),
            nonce,
            verifier: SecretString::from(verifier),
            challenge,
        }
    }

    fn open(&self, state: &str) -> Option<(WorkspaceId, String)> {
        if state.len() > MAX_STATE_LEN {
            return None;
        }
        let mut parts = state.split('.');
        let (Some(workspace), Some(nonce), Some(tag), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return None;
        };
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        // `verify_slice` compares in constant time.
        self.mac(workspace, nonce).verify_slice(&tag).ok()?;
        Some((WorkspaceId::parse(workspace)?, nonce.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_opens_to_its_workspace_and_nonce_and_nothing_else_opens() {
        let states = LoginStates::new(&Keyring::ephemeral());
        let workspace = WorkspaceId::new();
        let issued = states.issue(workspace);
        assert_eq!(states.open(&issued.state), Some((workspace, issued.nonce.clone())));
        // Another workspace's id with the same nonce and MAC: refused.
        let (_, rest) = issued.state.split_once('.').unwrap_or_default();
        let forged = format!("{}.{rest}", WorkspaceId::new());
        assert_eq!(states.open(&forged), None);
        // Another key (another deployment): refused.
        assert_eq!(LoginStates::new(&Keyring::ephemeral()).open(&issued.state), None);
        for junk in ["", "a.b", "a.b.c.d", &format!("{}x", issued.state), &"a".repeat(500)] {
            assert_eq!(states.open(junk), None, "{junk}");
        }
        // Two states are never alike.
        assert_ne!(states.issue(workspace).nonce, issued.nonce);
    }

    #[test]
    fn the_challenge_is_the_s256_of_the_verifier() {
        let issued = LoginStates::new(&Keyring::ephemeral()).issue(WorkspaceId::new());
        let expected = URL_SAFE_NO_PAD.encode(Sha256::digest(issued.verifier.expose_secret().as_bytes()));
        assert_eq!(issued.challenge, expected);
        assert!(issued.verifier.expose_secret().len() >= 43);
        assert!(!format!("{issued:?}").contains(issued.verifier.expose_secret()));
    }
}
