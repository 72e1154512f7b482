//! Passwords (argon2id on a bounded pool of workers) and API tokens (random, stored as
//! keyed hashes).

mod passwords;
mod tokens;

pub use passwords::{Busy, HashingLimits, PasswordHasher};
pub use tokens::{IssuedToken, PresentedToken, TokenHasher};

/// The outcome of checking a password or a token against its stored hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Matches and the stored hash is current.
    Yes,
    /// Matches, but the stored hash should be replaced by this one (algorithm or key upgrade).
    YesRehash(String),
    No,
}
