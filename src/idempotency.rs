//! `Idempotency-Key`: a client that retries a `POST` with the same key and the same request
//! within 24 hours gets the first answer back, and nothing is created twice.
//!
//! The first request with a key claims a record (a row of its own, so two servers racing
//! on one key cannot both proceed: the second sees the claim and is told to retry); the
//! creation and the completion of the record commit in one transaction, so a crash leaves
//! either both or neither. A record still pending after `STALE_PENDING` (its request died)
//! may be taken over.
//!
//! The answers of `POST /users` and token rotation contain a token, and tokens are stored
//! only as hashes. So the record is found by a keyed hash of the caller's scope and the key
//! (HMAC with `TOKEN_PEPPER` when set), and the answer is sealed (ChaCha20-Poly1305) with a
//! key derived from the Idempotency-Key itself, which is never stored: the database alone
//! cannot yield the answer.

use std::time::Duration;

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// How long a key is remembered.
pub const KEEP: Duration = Duration::from_secs(24 * 3600);
/// A claim older than this whose request never completed (the server died) may be taken
/// over: longer than any request may run.
pub const STALE_PENDING: Duration = Duration::from_secs(120);
/// The longest accepted key.
pub const MAX_KEY_LENGTH: usize = 255;

const NONCE_BYTES: usize = 12;

/// Who the key belongs to: keys are scoped per caller (anonymous sign-up: per email).
#[derive(Debug, Clone)]
pub enum Scope {
    User(i64),
    SignUp(String),
}

impl Scope {
    fn label(&self) -> String {
        match self {
            Scope::User(id) => format!("user:{id}"),
            Scope::SignUp(email) => format!("signup:{email}"),
        }
    }
}

/// Computes records from keys, with the deployment's pepper.
#[derive(Clone, Default)]
pub struct Keys {
    pepper: Option<SecretString>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").finish_non_exhaustive()
    }
}

/// A request's record: where it is stored, what the request was, how its answer is sealed.
pub struct Record {
    pub key_hash: String,
    pub fingerprint: String,
    pub sealer: Sealer,
}

impl Keys {
    pub fn new(pepper: Option<SecretString>) -> Self {
        Self { pepper }
    }

    /// The record of `key` in `scope` for a request whose identity is `fingerprint`.
    pub fn record(&self, key: &str, scope: &Scope, fingerprint: String) -> Record {
        let secret = self
            .pepper
            .as_ref()
            .map_or(b"todo-api idempotency record".as_slice(), |p| {
                p.expose_secret().as_bytes()
            });
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("HMAC takes any key");
        mac.update(scope.label().as_bytes());
        mac.update(&[0]);
        mac.update(key.as_bytes());
        Record {
            key_hash: hex::encode(mac.finalize().into_bytes()),
            fingerprint,
            sealer: Sealer::for_key(key),
        }
    }
}

/// A request's identity: method, route, path values and body bytes.
pub fn fingerprint(method: &str, route: &str, path: &[(&str, i64)], body: &[u8]) -> String {
    let mut hash = Sha256::new();
    hash.update(method.as_bytes());
    hash.update([0]);
    hash.update(route.as_bytes());
    for (name, value) in path {
        hash.update([0]);
        hash.update(name.as_bytes());
        hash.update(value.to_le_bytes());
    }
    hash.update([0]);
    hash.update(body);
    hex::encode(hash.finalize())
}

/// Seals and opens an answer with a key derived from the Idempotency-Key.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
}

impl Sealer {
    fn for_key(key: &str) -> Self {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"todo-api idempotency seal v1")
            .expect("HMAC takes any key");
        mac.update(key.as_bytes());
        Self {
            key: mac.finalize().into_bytes().into(),
        }
    }

    /// Nonce, then ciphertext and tag.
    pub fn seal(&self, plaintext: &[u8]) -> Vec<u8> {
        let cipher = ChaCha20Poly1305::new(&self.key.into());
        let mut nonce = [0u8; NONCE_BYTES];
        OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext)
            .expect("sealing in memory cannot fail");
        [nonce.as_slice(), &sealed].concat()
    }

    /// `None` when the bytes were not sealed with this key (or were altered).
    pub fn open(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        ChaCha20Poly1305::new(&self.key.into())
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .ok()
    }
}

/// What claiming a key found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// This request has the key: go ahead, and complete the record with the change.
    Claimed,
    /// An earlier request with this key completed: its fingerprint and sealed answer.
    Completed {
        fingerprint: String,
        response: Vec<u8>,
    },
    /// An earlier request with this key is still running.
    InProgress { fingerprint: String },
}

/// The answer a record keeps (sealed): status, ETag and body, or for a token rotation the
/// token alone (its body, the user with every item, is rebuilt from the current items).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Answer {
    pub status: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl Record {
    /// `answer`, sealed for this record.
    pub fn seal(&self, answer: &Answer) -> Vec<u8> {
        self.sealer
            .seal(&serde_json::to_vec(answer).expect("an answer always serializes"))
    }

    /// The answer of an earlier request with this key; `None` if it does not open.
    pub fn open(&self, sealed: &[u8]) -> Option<Answer> {
        serde_json::from_slice(&self.sealer.open(sealed)?).ok()
    }
}

/// The sealed answer a creation stores with its record, made from what it created.
pub struct Completion<'a, T> {
    pub key_hash: &'a str,
    pub response: &'a (dyn Fn(&T) -> Vec<u8> + Send + Sync),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_per_scope_and_answers_open_only_with_their_key() {
        let keys = Keys::new(Some(SecretString::from("pepper".to_owned())));
        let a = keys.record("k1", &Scope::User(1), "f".into());
        let b = keys.record("k1", &Scope::User(2), "f".into());
        let c = keys.record("k1", &Scope::User(1), "f".into());
        assert_ne!(a.key_hash, b.key_hash, "per caller");
        assert_eq!(a.key_hash, c.key_hash, "stable");
        assert!(!a.key_hash.contains("k1"));
        let sealed = a.sealer.seal(b"{\"token\":\"tdo_secret\"}");
        assert!(!String::from_utf8_lossy(&sealed).contains("tdo_secret"));
        assert_eq!(
            c.sealer.open(&sealed).unwrap(),
            b"{\"token\":\"tdo_secret\"}"
        );
        let other = keys.record("k2", &Scope::User(1), "f".into());
        assert_eq!(
            other.sealer.open(&sealed),
            None,
            "another key cannot open it"
        );
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert_eq!(c.sealer.open(&altered), None);
    }

    #[test]
    fn fingerprints_tell_requests_apart() {
        let one = fingerprint("POST", "/users/{user_id}/items", &[("user_id", 1)], b"{}");
        assert_eq!(
            one,
            fingerprint("POST", "/users/{user_id}/items", &[("user_id", 1)], b"{}")
        );
        assert_ne!(
            one,
            fingerprint("POST", "/users/{user_id}/items", &[("user_id", 2)], b"{}")
        );
        assert_ne!(
            one,
            fingerprint("POST", "/users/{user_id}/items", &[("user_id", 1)], b"{ }")
        );
    }
}
