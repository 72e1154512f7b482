//! Account use cases shared by the API and the command line: sign-up, authentication by
//! token, password checks and token rotation.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::audit::Context;
use crate::authz::Caller;
use crate::credentials::{Busy, PasswordHasher, PresentedToken, TokenHasher, Verified};
use crate::domain::{
    Account, ApiToken, Item, NewApiToken, NewUser, TokenOwner, User, UserWithToken, now_utc,
    now_utc_seconds,
};
use crate::email;
use crate::idempotency::{Answer, Completion, Record};
use crate::store::{FirstAdmin, LAST_WRITE_GRANULARITY, ReadFrom, Store, StoreError};
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
    #[error("not a todo-api token (tdo_<24 hex digits>_<secret>)")]
    NotAToken,
    #[error(transparent)]
    Busy(#[from] Busy),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a caller whose last write was at `last_write` reads from at `now`: the primary
/// within `window` of it (never with a window of 0) (plus the granularity of the record, which may be that much older
/// than the write; and also when the write seems to lie ahead, as another instance's clock
/// may put it), else a replica.
fn reads_for(
    last_write: Option<time::PrimitiveDateTime>,
    now: time::PrimitiveDateTime,
    window: Duration,
) -> ReadFrom {
    let Some(at) = last_write.filter(|_| !window.is_zero()) else {
        return ReadFrom::Replica;
    };
    let since = now - at;
    let within = time::Duration::try_from(window.saturating_add(LAST_WRITE_GRANULARITY))
        .unwrap_or(time::Duration::MAX);
    if since < within {
        ReadFrom::Primary
    } else {
        ReadFrom::Replica
    }
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
    read_after_write: Duration,
}

/// `READ_AFTER_WRITE_WINDOW`'s default.
pub const DEFAULT_READ_AFTER_WRITE: Duration = Duration::from_secs(5);

impl Accounts {
    pub fn new(store: Arc<dyn Store>, tokens: TokenHasher, passwords: PasswordHasher) -> Self {
        Self {
            store,
            tokens,
            passwords,
            read_after_write: DEFAULT_READ_AFTER_WRITE,
        }
    }

    /// For how long after its last write a caller reads from the primary
    /// (`READ_AFTER_WRITE_WINDOW`).
    pub fn with_read_after_write(mut self, window: Duration) -> Self {
        self.read_after_write = window;
        self
    }

    /// Creates a user with a fresh token. The API has already validated its input in
    /// FastAPI's terms; the checks here speak for the command line.
    pub async fn register(
        &self,
        email: String,
        password: SecretString,
        is_admin: bool,
        idempotency: Option<&Record>,
        context: &Context,
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
        let token = issued.token.expose_secret().to_owned();
        let created = |account: &Account| UserWithToken {
            user: User {
                email: account.email.clone(),
                id: account.id,
                is_active: true,
                items: Vec::new(),
            },
            token: token.clone(),
        };
        let respond = |account: &Account| {
            let record = idempotency.expect("a completion only with a record");
            record.seal(&Answer {
                status: 200,
                etag: None,
                body: Some(serde_json::to_value(created(account)).expect("serializes")),
                token: None,
            })
        };
        let completion = idempotency.map(|record| Completion {
            key_hash: &record.key_hash,
            response: &respond,
        });
        let account = self
            .store
            .create_user(new, completion.as_ref(), context)
            .await?
            .ok_or(AccountError::EmailTaken)?;
        metrics::counter!(names::USERS_CREATED).increment(1);
        Ok(created(&account))
    }

    /// Makes the user with `email` the first admin, holding `token` (generated by the
    /// deployment and kept in its secret store), unless an active admin exists already: so a
    /// token rotated later is never adopted again. The account gets a random password
    /// nobody knows.
    pub async fn adopt_first_admin(
        &self,
        email: &str,
        token: &SecretString,
    ) -> Result<FirstAdmin, AccountError> {
        email::check(email).map_err(AccountError::InvalidEmail)?;
        let presented =
            PresentedToken::parse(token.expose_secret()).ok_or(AccountError::NotAToken)?;
        let (token_selector, token_hash) = self.tokens.stored_form(&presented);
        let unknown_password = self.tokens.issue().token;
        let password_hash = self.passwords.hash(unknown_password).await?;
        let user = NewUser {
            email: email.to_owned(),
            password_hash,
            is_admin: true,
            token_selector,
            token_hash,
        };
        Ok(self.store.adopt_first_admin(user).await?)
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
        Ok(self.admit(&presented, &owner).await)
    }

    /// `authenticate`, and the item `item_id` of `owner_id` (`None` inside: no such item),
    /// read in the same round trip where the store can fold them. The item is the caller's
    /// to authorize: it is read whoever the token names.
    pub async fn authenticate_with_item(
        &self,
        token: &str,
        owner_id: i64,
        item_id: i64,
    ) -> Result<Option<(Caller, Option<Item>)>, StoreError> {
        if self.store.replica_status().is_some() {
            // Where the item is read from depends on the caller's last write: no folding.
            let Some(caller) = self.authenticate(token).await? else {
                return Ok(None);
            };
            let item = crate::store::reads(&self.store, caller.reads)
                .item(owner_id, item_id)
                .await?;
            return Ok(Some((caller, item)));
        }
        let Some(presented) = PresentedToken::parse(token) else {
            return Ok(None);
        };
        let found = self
            .store
            .token_owner_and_item(presented.selector, owner_id, item_id)
            .await?;
        let Some((owner, item)) = found else {
            return Ok(None);
        };
        Ok(self
            .admit(&presented, &owner)
            .await
            .map(|caller| (caller, item)))
    }

    /// The caller, if `presented` is the token `owner` holds.
    async fn admit(&self, presented: &PresentedToken<'_>, owner: &TokenOwner) -> Option<Caller> {
        match self.tokens.verify(presented, &owner.token_hash) {
            Verified::No => return None,
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
        Some(Caller {
            id: owner.user_id,
            is_admin: owner.is_admin,
            read_only: owner.read_only,
            reads: reads_for(owner.last_write_at, now_utc(), self.read_after_write),
        })
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
    pub async fn rotate_token(
        &self,
        user_id: i64,
        idempotency: Option<&Record>,
        context: &Context,
    ) -> Result<Rotated, AccountError> {
        let issued = self.tokens.issue();
        let respond = |_: &i64| {
            let record = idempotency.expect("a completion only with a record");
            record.seal(&Answer {
                status: 200,
                etag: None,
                body: None,
                token: Some(issued.token.expose_secret().to_owned()),
            })
        };
        let completion = idempotency.map(|record| Completion {
            key_hash: &record.key_hash,
            response: &respond,
        });
        if !self
            .store
            .set_token(
                user_id,
                &issued.selector,
                &issued.hash,
                completion.as_ref(),
                context,
            )
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

    /// Issues a named token for `user_id` (besides its primary one), optionally read-only;
    /// the token is shown only this once.
    pub async fn issue_named_token(
        &self,
        user_id: i64,
        name: String,
        read_only: bool,
        context: &Context,
    ) -> Result<(ApiToken, SecretString), AccountError> {
        let issued = self.tokens.issue();
        let new = NewApiToken {
            name,
            read_only,
            selector: issued.selector,
            token_hash: issued.hash,
            created_at: now_utc_seconds(),
        };
        let token = self
            .store
            .create_api_token(user_id, new, context)
            .await?
            .ok_or(AccountError::NotFound)?;
        Ok((token, issued.token))
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    #[test]
    fn a_caller_reads_from_the_primary_within_the_window_of_its_last_write() {
        let now = datetime!(2026-01-01 12:00:10);
        let window = Duration::from_secs(5);
        assert_eq!(reads_for(None, now, window), ReadFrom::Replica);
        // The record may be up to a second older than the write: the window is 5 + 1 s.
        for (at, reads) in [
            (datetime!(2026-01-01 12:00:10), ReadFrom::Primary),
            (datetime!(2026-01-01 12:00:04.001), ReadFrom::Primary),
            (datetime!(2026-01-01 12:00:04), ReadFrom::Replica),
            (datetime!(2026-01-01 11:00:00), ReadFrom::Replica),
            // Ahead of this instance's clock: another instance's clock runs fast.
            (datetime!(2026-01-01 12:00:11), ReadFrom::Primary),
        ] {
            assert_eq!(reads_for(Some(at), now, window), reads, "{at}");
        }
        assert_eq!(
            reads_for(Some(now), now, Duration::MAX),
            ReadFrom::Primary,
            "no overflow"
        );
        assert_eq!(
            reads_for(Some(now), now, Duration::ZERO),
            ReadFrom::Replica,
            "a window of 0 turns read-your-writes off"
        );
    }
}
