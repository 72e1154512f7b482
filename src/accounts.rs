//! Account use cases shared by the API and the command line: sign-up, authentication by
//! token, password checks and token rotation.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};

use crate::authz::Caller;
use crate::credentials::{Busy, PasswordHasher, PresentedToken, TokenHasher, Verified};
use crate::domain::{Account, NewUser, User, UserWithToken};
use crate::email;
use crate::store::{Store, StoreError};
use crate::telemetry::names;

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("Email already registered")]
    EmailTaken,
    #[error("User not found")]
    NotFound,
    #[error("Incorrect password")]
    WrongPassword,
    #[error("not a valid email address: {0}")]
    InvalidEmail(String),
    #[error("the password must have at least {MIN_PASSWORD} characters")]
    PasswordTooShort,
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A new token and whose it is.
pub struct Rotated {
    pub account: Account,
    pub token: SecretString,
}

/// Accounts over a store, with the token and password hashers.
#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    tokens: TokenHasher,
    passwords: PasswordHasher,
}

impl Accounts {
    pub fn new(store: Arc<dyn Store>, tokens: TokenHasher, passwords: PasswordHasher) -> Self {
        Self {
            store,
            tokens,
            passwords,
        }
    }

    /// Creates a user with a fresh token. The API has already validated its input in
    /// FastAPI's terms; the checks here speak for the command line.
    pub async fn register(
        &self,
        email: String,
        password: SecretString,
        is_admin: bool,
    ) -> Result<UserWithToken, AccountError> {
        email::check(&email).map_err(AccountError::InvalidEmail)?;
        if password.expose_secret().chars().count() < MIN_PASSWORD {
            return Err(AccountError::PasswordTooShort);
        }
        let password_hash = self.passwords.hash(password).await?;
        let issued = self.tokens.issue();
        let new = NewUser {
            email,
            password_hash,
            is_admin,
            token_selector: issued.selector,
            token_hash: issued.hash,
        };
        let account = self
            .store
            .create_user(new)
            .await?
            .ok_or(AccountError::EmailTaken)?;
        metrics::counter!(names::USERS_CREATED).increment(1);
        let user = User {
            email: account.email,
            id: account.id,
            is_active: true,
            items: Vec::new(),
        };
        Ok(UserWithToken {
            user,
            token: issued.token.expose_secret().to_owned(),
        })
    }

    /// The caller a token names; `None` for a value that is malformed, unknown, rotated
    /// away, or whose user is inactive.
    pub async fn authenticate(&self, token: &str) -> Result<Option<Caller>, StoreError> {
        let Some(presented) = PresentedToken::parse(token) else {
            return Ok(None);
        };
        let Some(owner) = self.store.token_owner(presented.selector).await? else {
            return Ok(None);
        };
        match self.tokens.verify(&presented, &owner.token_hash) {
            Verified::No => return Ok(None),
            Verified::Yes => {}
            Verified::YesRehash(new_hash) => {
                // A pepper was added or rotated: store the hash made with the current key.
                // A failure only means the upgrade happens on a later request.
                if let Err(err) = self
                    .store
                    .upgrade_token_hash(presented.selector, &owner.token_hash, &new_hash)
                    .await
                {
                    tracing::warn!(error = %err, "could not re-hash a token with the current pepper");
                }
            }
        }
        Ok(Some(Caller {
            id: owner.user_id,
            is_admin: owner.is_admin,
        }))
    }

    /// Verifies a user's password; a hash in an outdated scheme (bcrypt from the FastAPI
    /// app) is replaced by argon2id on success.
    pub async fn check_password(
        &self,
        user_id: i64,
        password: SecretString,
    ) -> Result<(), AccountError> {
        let stored = self
            .store
            .password_hash(user_id)
            .await?
            .ok_or(AccountError::NotFound)?;
        match self.passwords.verify(password, stored).await? {
            Verified::No => Err(AccountError::WrongPassword),
            Verified::Yes => Ok(()),
            Verified::YesRehash(new_hash) => {
                Ok(self.store.set_password_hash(user_id, &new_hash).await?)
            }
        }
    }

    /// Replaces a user's token (the old one stops working at once) and returns the user's
    /// account with the new token, shown only this once.
    pub async fn rotate_token(&self, user_id: i64) -> Result<Rotated, AccountError> {
        let issued = self.tokens.issue();
        if !self
            .store
            .set_token(user_id, &issued.selector, &issued.hash)
            .await?
        {
            return Err(AccountError::NotFound);
        }
        let account = self
            .store
            .account(user_id)
            .await?
            .filter(|a| a.is_active)
            .ok_or(AccountError::NotFound)?;
        Ok(Rotated {
            account,
            token: issued.token,
        })
    }
}
