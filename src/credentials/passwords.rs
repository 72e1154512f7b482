//! Password hashing on a fixed set of worker threads.
//!
//! argon2id with the crate's defaults (OWASP's m=19 MiB, t=2, p=1) needs 19 MiB of memory
//! per hash. Hashing on `spawn_blocking` let a burst of anonymous sign-ups run up to 512
//! hashes at once (gigabytes of RSS). Here a fixed number of workers (one per core by
//! default) each own one argon2 memory block, reused for every hash, and take jobs from a
//! bounded queue: memory is `workers x 19 MiB` whatever the load, and a job that finds the
//! queue full is refused at once ([`Busy`], which the API answers `429`) instead of waiting
//! without bound.
//!
//! bcrypt hashes adopted from the FastAPI app's database are still verified (on the same
//! workers) and are replaced by argon2id at their next successful use.

use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::oneshot;

use super::Verified;

/// The hashing queue is full: try again shortly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("password hashing is at capacity")]
pub struct Busy;

/// How many hashes run at once and how many may wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashingLimits {
    pub workers: usize,
    pub queue: usize,
}

impl HashingLimits {
    /// One worker per core.
    pub fn for_this_machine() -> Self {
        Self::for_workers(std::thread::available_parallelism().map_or(1, |n| n.get()))
    }

    /// A queue of eight jobs per worker: a few hundred milliseconds of waiting at argon2id's
    /// default cost before callers are told to come back later.
    pub fn for_workers(workers: usize) -> Self {
        Self {
            workers,
            queue: workers * 8,
        }
    }
}

enum Job {
    Hash(SecretString, oneshot::Sender<String>),
    Verify(SecretString, String, oneshot::Sender<Verified>),
}

/// The handle the accounts use; cheap to clone, the workers stop when the last one is dropped.
#[derive(Clone)]
pub struct PasswordHasher {
    jobs: SyncSender<Job>,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher").finish_non_exhaustive()
    }
}

impl PasswordHasher {
    pub fn start(limits: HashingLimits) -> Self {
        let (jobs, queue) = sync_channel::<Job>(limits.queue);
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..limits.workers.max(1) {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("password-hash-{n}"))
                .spawn(move || work(&queue))
                .expect("spawning a password hashing thread");
        }
        Self { jobs }
    }

    /// An argon2id hash of `password` in PHC string form. The job is queued (or refused)
    /// when this is called, not when the future is first polled.
    pub fn hash(
        &self,
        password: SecretString,
    ) -> impl Future<Output = Result<String, Busy>> + Send + use<> {
        let queued = self.submit(|done| Job::Hash(password, done));
        async move { queued?.await.map_err(|_| Busy) }
    }

    /// Checks `password` against a stored argon2 or bcrypt hash (queued like `hash`).
    pub fn verify(
        &self,
        password: SecretString,
        stored: String,
    ) -> impl Future<Output = Result<Verified, Busy>> + Send + use<> {
        let queued = self.submit(|done| Job::Verify(password, stored, done));
        async move { queued?.await.map_err(|_| Busy) }
    }

    fn submit<T>(
        &self,
        job: impl FnOnce(oneshot::Sender<T>) -> Job,
    ) -> Result<oneshot::Receiver<T>, Busy> {
        let (done, result) = oneshot::channel();
        match self.jobs.try_send(job(done)) {
            Ok(()) => Ok(result),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                metrics::counter!(crate::telemetry::names::PASSWORD_HASH_REFUSED).increment(1);
                Err(Busy)
            }
        }
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    let mut memory = Memory::default();
    loop {
        // The lock is held only while waiting for the next job; std's mutex cannot be
        // poisoned by a panic here because nothing panics while holding it.
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        match job {
            Ok(Job::Hash(password, done)) => {
                let _ = done.send(memory.hash(password.expose_secret()));
            }
            Ok(Job::Verify(password, stored, done)) => {
                let _ = done.send(memory.verify(password.expose_secret(), &stored));
            }
            Err(_) => return,
        }
    }
}

/// One worker's argon2 memory, allocated once and reused.
#[derive(Default)]
struct Memory {
    blocks: Vec<Block>,
}

impl Memory {
    fn blocks_for(&mut self, params: &Params) -> &mut [Block] {
        let needed = params.block_count();
        if self.blocks.len() < needed {
            self.blocks.resize(needed, Block::default());
        }
        &mut self.blocks[..needed]
    }

    /// Runs argon2 with the parameters of `like` (for a new hash: the current defaults).
    fn argon2(
        &mut self,
        algorithm: Algorithm,
        version: Version,
        params: Params,
        password: &str,
        salt: &[u8],
        output_len: usize,
    ) -> Option<Output> {
        let argon2 = Argon2::new(algorithm, version, params.clone());
        let blocks = self.blocks_for(&params);
        Output::init_with(output_len, |out| {
            argon2
                .hash_password_into_with_memory(password.as_bytes(), salt, out, &mut *blocks)
                .map_err(|_| argon2::password_hash::Error::Crypto)
        })
        .ok()
    }

    fn hash(&mut self, password: &str) -> String {
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let raw_salt = salt
            .decode_b64(&mut salt_bytes)
            .expect("a generated salt decodes");
        let params = Params::default();
        let output = self
            .argon2(
                Algorithm::Argon2id,
                Version::V0x13,
                params.clone(),
                password,
                raw_salt,
                Params::DEFAULT_OUTPUT_LEN,
            )
            .expect("argon2id with default parameters cannot fail on a byte string");
        PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: ParamsString::try_from(&params).expect("default parameters encode"),
            salt: Some(salt.as_salt()),
            hash: Some(output),
        }
        .to_string()
    }

    /// Checks `password` against an argon2 or bcrypt hash; a bcrypt match, or an argon2
    /// hash with outdated parameters, comes back with a fresh argon2id hash to store.
    fn verify(&mut self, password: &str, stored: &str) -> Verified {
        if stored.starts_with("$2") {
            return match bcrypt::verify(password, stored) {
                Ok(true) => Verified::YesRehash(self.hash(password)),
                _ => Verified::No,
            };
        }
        let Some((parsed, params, algorithm, version)) = parse_argon2(stored) else {
            return Verified::No;
        };
        let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Verified::No;
        };
        let mut salt_bytes = [0u8; 64];
        let Ok(raw_salt) = salt.decode_b64(&mut salt_bytes) else {
            return Verified::No;
        };
        let computed = self.argon2(
            algorithm,
            version,
            params.clone(),
            password,
            raw_salt,
            expected.len(),
        );
        // `Output`'s equality is constant time.
        if computed.as_ref() != Some(&expected) {
            return Verified::No;
        }
        let current = Params::default();
        let outdated = algorithm != Algorithm::Argon2id
            || params.m_cost() != current.m_cost()
            || params.t_cost() != current.t_cost()
            || params.p_cost() != current.p_cost();
        if outdated {
            Verified::YesRehash(self.hash(password))
        } else {
            Verified::Yes
        }
    }
}

/// The most memory a stored hash may ask for (a larger one is refused, not allocated).
const MAX_STORED_M_COST: u32 = 256 * 1024;

fn parse_argon2(stored: &str) -> Option<(PasswordHash<'_>, Params, Algorithm, Version)> {
    let parsed = PasswordHash::new(stored).ok()?;
    let algorithm = Algorithm::try_from(parsed.algorithm).ok()?;
    let version = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from)
        .ok()?;
    let params = Params::try_from(&parsed).ok()?;
    (params.m_cost() <= MAX_STORED_M_COST).then_some((parsed, params, algorithm, version))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn argon2_roundtrip_and_wrong_password() {
        let mut memory = Memory::default();
        let hash = memory.hash("correct horse");
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert_eq!(memory.verify("correct horse", &hash), Verified::Yes);
        assert_eq!(memory.verify("wrong horse", &hash), Verified::No);
        assert_eq!(memory.verify("x", "not a hash"), Verified::No);
    }

    #[test]
    fn hashes_agree_with_the_argon2_crates_own_encoder_and_verifier() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let mut memory = Memory::default();
        let ours = memory.hash("chimichangas4life");
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"chimichangas4life", &parsed)
                .is_ok()
        );
        let salt = SaltString::generate(&mut OsRng);
        let theirs = Argon2::default()
            .hash_password(b"chimichangas4life", &salt)
            .unwrap()
            .to_string();
        assert_eq!(memory.verify("chimichangas4life", &theirs), Verified::Yes);
    }

    #[test]
    fn outdated_parameters_and_bcrypt_ask_for_a_new_argon2id_hash() {
        let mut memory = Memory::default();
        let weak = Argon2::new(
            Algorithm::Argon2i,
            Version::V0x13,
            Params::new(8, 1, 1, None).unwrap(),
        );
        let salt = SaltString::generate(&mut OsRng);
        let old = argon2::PasswordHasher::hash_password(&weak, b"pw-pw-pw", &salt)
            .unwrap()
            .to_string();
        assert!(
            matches!(memory.verify("pw-pw-pw", &old), Verified::YesRehash(new) if new.starts_with("$argon2id$"))
        );
        let legacy = bcrypt::hash("chimichangas4life", 4).unwrap();
        assert!(matches!(
            memory.verify("chimichangas4life", &legacy),
            Verified::YesRehash(new) if new.starts_with("$argon2id$")
        ));
        assert_eq!(memory.verify("nope", &legacy), Verified::No);
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        // One worker, one queue slot: the third concurrent job cannot be accepted.
        let hasher = PasswordHasher::start(HashingLimits {
            workers: 1,
            queue: 1,
        });
        let jobs: Vec<_> = (0..6).map(|_| hasher.hash(secret("p4ssword"))).collect();
        let mut results = Vec::new();
        for job in jobs {
            results.push(job.await);
        }
        let busy = results.iter().filter(|r| r.is_err()).count();
        let done = results.iter().filter(|r| r.is_ok()).count();
        assert!(
            busy >= 4,
            "jobs beyond the worker and the queue slot are refused: {results:?}"
        );
        assert!(done >= 1, "some jobs must be done: {results:?}");
        // After the burst the hasher works again.
        assert!(hasher.hash(secret("again-again")).await.is_ok());
    }
}
