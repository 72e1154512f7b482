//! API tokens.
//!
//! A token is `tdo_<selector>_<secret>`: the selector (12 random bytes, hex) finds the user's
//! row through a unique index, and only a hash of the secret (32 random bytes from the OS) is
//! stored. The hash is HMAC-SHA-256 keyed by `TOKEN_PEPPER` when one is configured, so a
//! stolen database alone cannot confirm a token; plain SHA-256 otherwise. The stored form
//! names its algorithm (`hmac-sha256:` / `sha256:`) so that adding or rotating a pepper
//! upgrades hashes as tokens are used instead of locking everybody out.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Verified;

const TOKEN_PREFIX: &str = "tdo_";
const SELECTOR_BYTES: usize = 12;
const SECRET_BYTES: usize = 32;

/// A freshly issued token: the value shown once to its owner, and what the store keeps.
pub struct IssuedToken {
    pub token: SecretString,
    pub selector: String,
    pub hash: String,
}

/// A token split into its lookup selector and its secret part.
pub struct PresentedToken<'a> {
    pub selector: &'a str,
    secret: &'a str,
}

impl<'a> PresentedToken<'a> {
    /// `None` when the value cannot be one of our tokens (no database lookup is needed).
    pub fn parse(value: &'a str) -> Option<Self> {
        let rest = value.strip_prefix(TOKEN_PREFIX)?;
        let (selector, secret) = rest.split_at_checked(SELECTOR_BYTES * 2)?;
        let secret = secret.strip_prefix('_')?;
        let valid_selector = selector
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        (valid_selector && !secret.is_empty() && secret.len() <= 64)
            .then_some(Self { selector, secret })
    }
}

/// Hashes and verifies token secrets with the configured pepper(s).
#[derive(Clone, Default)]
pub struct TokenHasher {
    pepper: Option<SecretString>,
    previous_pepper: Option<SecretString>,
}

impl std::fmt::Debug for TokenHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenHasher")
            .field("pepper", &self.pepper.is_some())
            .field("previous_pepper", &self.previous_pepper.is_some())
            .finish()
    }
}

impl TokenHasher {
    pub fn new(pepper: Option<SecretString>, previous_pepper: Option<SecretString>) -> Self {
        Self {
            pepper,
            previous_pepper,
        }
    }

    pub fn issue(&self) -> IssuedToken {
        let mut selector = [0u8; SELECTOR_BYTES];
        let mut secret = [0u8; SECRET_BYTES];
        OsRng.fill_bytes(&mut selector);
        OsRng.fill_bytes(&mut secret);
        let selector = hex::encode(selector);
        let secret = URL_SAFE_NO_PAD.encode(secret);
        let hash = self.hash(&secret);
        let token = SecretString::from(format!("{TOKEN_PREFIX}{selector}_{secret}"));
        IssuedToken {
            token,
            selector,
            hash,
        }
    }

    fn hash(&self, secret: &str) -> String {
        match &self.pepper {
            Some(key) => hmac_hash(key, secret),
            None => sha256_hash(secret),
        }
    }

    /// Constant-time check of a presented token against the stored hash, trying the previous
    /// pepper during a rotation and asking for a rehash whenever the current key would store
    /// something else.
    pub fn verify(&self, token: &PresentedToken<'_>, stored: &str) -> Verified {
        let candidates = [
            Some(sha256_hash(token.secret)),
            self.pepper.as_ref().map(|key| hmac_hash(key, token.secret)),
            self.previous_pepper
                .as_ref()
                .map(|key| hmac_hash(key, token.secret)),
        ];
        let mut matched = false;
        for candidate in candidates.iter().flatten() {
            matched |= bool::from(candidate.as_bytes().ct_eq(stored.as_bytes()));
        }
        if !matched {
            return Verified::No;
        }
        let current = self.hash(token.secret);
        if bool::from(current.as_bytes().ct_eq(stored.as_bytes())) {
            Verified::Yes
        } else {
            Verified::YesRehash(current)
        }
    }
}

fn sha256_hash(secret: &str) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(secret.as_bytes())))
}

fn hmac_hash(key: &SecretString, secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose_secret().as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(secret.as_bytes());
    format!("hmac-sha256:{}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pepper(s: &str) -> Option<SecretString> {
        Some(SecretString::from(s.to_owned()))
    }

    #[test]
    fn issued_tokens_parse_and_verify() {
        let hasher = TokenHasher::new(pepper("k1"), None);
        let issued = hasher.issue();
        let value = issued.token.expose_secret();
        assert!(value.starts_with("tdo_"));
        let presented = PresentedToken::parse(value).unwrap();
        assert_eq!(presented.selector, issued.selector);
        assert!(issued.hash.starts_with("hmac-sha256:"));
        assert_eq!(hasher.verify(&presented, &issued.hash), Verified::Yes);
    }

    #[test]
    fn a_changed_secret_does_not_verify() {
        let hasher = TokenHasher::default();
        let issued = hasher.issue();
        let mut value = issued.token.expose_secret().to_owned();
        let last = value.pop().unwrap();
        value.push(if last == 'A' { 'B' } else { 'A' });
        let presented = PresentedToken::parse(&value).unwrap();
        assert_eq!(hasher.verify(&presented, &issued.hash), Verified::No);
    }

    #[test]
    fn garbage_is_not_a_token() {
        for value in [
            "",
            "tdo_",
            "abc",
            "tdo_zzzzzzzzzzzzzzzzzzzzzzzz_x",
            "tdo_0123456789abcdef01234567x",
        ] {
            assert!(PresentedToken::parse(value).is_none(), "{value}");
        }
    }

    #[test]
    fn pepper_rotation_accepts_the_previous_key_and_asks_for_a_rehash() {
        let old = TokenHasher::new(pepper("old"), None);
        let issued = old.issue();
        let value = issued.token.expose_secret().to_owned();
        let presented = PresentedToken::parse(&value).unwrap();

        let rotating = TokenHasher::new(pepper("new"), pepper("old"));
        let Verified::YesRehash(new_hash) = rotating.verify(&presented, &issued.hash) else {
            panic!("previous pepper must still verify during a rotation");
        };
        assert_eq!(rotating.verify(&presented, &new_hash), Verified::Yes);

        let rotated = TokenHasher::new(pepper("new"), None);
        assert_eq!(
            rotated.verify(&presented, &issued.hash),
            Verified::No,
            "old key retired"
        );
        assert_eq!(rotated.verify(&presented, &new_hash), Verified::Yes);
    }

    #[test]
    fn adding_a_pepper_upgrades_plain_sha256_hashes() {
        let plain = TokenHasher::default();
        let issued = plain.issue();
        assert!(issued.hash.starts_with("sha256:"));
        let value = issued.token.expose_secret().to_owned();
        let presented = PresentedToken::parse(&value).unwrap();
        let peppered = TokenHasher::new(pepper("k"), None);
        assert!(
            matches!(peppered.verify(&presented, &issued.hash), Verified::YesRehash(h) if h.starts_with("hmac-"))
        );
    }
}
