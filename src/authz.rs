//! Who may do what: the authenticated caller and the `AUTHZ` policy.

use crate::store::ReadFrom;

/// Who may do what (`AUTHZ`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Authz {
    /// The original app: a team's shared board. Any active user reads everything, assigns
    /// tasks to anyone, changes any item and deletes any user.
    #[default]
    Team,
    /// A user reads and changes only its own items, reads only itself, and deletes only
    /// itself; listings across users are for admins.
    Strict,
}

impl Authz {
    pub fn parse(value: &str) -> Option<Self> {
        match value.to_ascii_lowercase().as_str() {
            "team" => Some(Authz::Team),
            "strict" => Some(Authz::Strict),
            _ => None,
        }
    }
}

/// The authenticated user making the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub id: i64,
    pub is_admin: bool,
    /// A read-only named token: it may only read.
    pub read_only: bool,
    /// Where its reads go: the primary for a while after it wrote (so that it sees its own
    /// writes), else a read replica if there is one.
    pub reads: ReadFrom,
}

/// The policy refuses the call (the API answers `403 {"detail": "Not allowed"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Not allowed")]
pub struct NotAllowed;

impl Caller {
    /// Reading or changing what belongs to user `user_id`.
    pub fn require_access_to(&self, authz: Authz, user_id: i64) -> Result<(), NotAllowed> {
        match authz {
            Authz::Team => Ok(()),
            Authz::Strict if self.is_admin || self.id == user_id => Ok(()),
            Authz::Strict => Err(NotAllowed),
        }
    }

    /// Changing anything: not with a read-only token.
    pub fn require_write(&self) -> Result<(), ReadOnlyToken> {
        if self.read_only {
            Err(ReadOnlyToken)
        } else {
            Ok(())
        }
    }

    /// The admin API, erasure of others.
    pub fn require_admin(&self) -> Result<(), NotAllowed> {
        if self.is_admin {
            Ok(())
        } else {
            Err(NotAllowed)
        }
    }

    /// A user's credentials and personal data (tokens, export, erasure): itself or an
    /// admin, whatever `AUTHZ` says.
    pub fn require_self_or_admin(&self, user_id: i64) -> Result<(), NotAllowed> {
        if self.is_admin || self.id == user_id {
            Ok(())
        } else {
            Err(NotAllowed)
        }
    }

    /// Listings across all users.
    pub fn require_board_access(&self, authz: Authz) -> Result<(), NotAllowed> {
        match authz {
            Authz::Team => Ok(()),
            Authz::Strict if self.is_admin => Ok(()),
            Authz::Strict => Err(NotAllowed),
        }
    }
}

/// A read-only token tried to change something (`403`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("This token is read-only")]
pub struct ReadOnlyToken;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_lets_users_reach_only_themselves_and_admins_everything() {
        let user = Caller {
            id: 2,
            is_admin: false,
            read_only: false,
            reads: ReadFrom::Replica,
        };
        let admin = Caller {
            id: 1,
            is_admin: true,
            read_only: false,
            reads: ReadFrom::Primary,
        };
        assert_eq!(user.require_access_to(Authz::Team, 3), Ok(()));
        assert_eq!(user.require_access_to(Authz::Strict, 2), Ok(()));
        assert_eq!(user.require_access_to(Authz::Strict, 3), Err(NotAllowed));
        assert_eq!(user.require_board_access(Authz::Strict), Err(NotAllowed));
        assert_eq!(admin.require_access_to(Authz::Strict, 3), Ok(()));
        assert_eq!(admin.require_board_access(Authz::Strict), Ok(()));
        assert_eq!(Authz::parse("STRICT"), Some(Authz::Strict));
        assert_eq!(Authz::parse("loose"), None);
    }
}
