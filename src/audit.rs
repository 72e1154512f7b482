//! The audit trail: every change leaves one record (who, what, when, from which request and
//! address), written by the store in the transaction of the change itself, so there is no
//! change without its record and no record without its change.
//!
//! Records hold no personal data but ids; the client address, which is personal data, is
//! kept apart (`audit_client_ips`, keyed by the user it belongs to) so that an erasure can
//! delete it while the record of what happened stays.

use std::net::IpAddr;

use serde::Serialize;
use time::PrimitiveDateTime;
use utoipa::ToSchema;

/// Where a change comes from: the acting user (none for an anonymous sign-up or the command
/// line), the request id, the client address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    pub actor_id: Option<i64>,
    pub request_id: Option<String>,
    pub client_ip: Option<IpAddr>,
}

impl Context {
    /// A change made on the command line (or by a scheduled job): no actor, no request.
    pub fn command_line() -> Self {
        Self::default()
    }

    /// The same origin, acted on by `actor_id`.
    pub fn by(&self, actor_id: i64) -> Self {
        Self {
            actor_id: Some(actor_id),
            ..self.clone()
        }
    }
}

macro_rules! actions {
    ($($variant:ident => $name:literal, $object:literal;)*) => {
        /// What a record says happened.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Action { $($variant),* }

        impl Action {
            pub const ALL: &[Action] = &[$(Action::$variant),*];

            /// The name stored and shown (`item.create`).
            pub fn as_str(self) -> &'static str {
                match self { $(Action::$variant => $name),* }
            }

            /// The kind of object the action is on (`user`, `item`, `token`).
            pub fn object_type(self) -> &'static str {
                match self { $(Action::$variant => $object),* }
            }
        }
    };
}

actions! {
    UserCreate => "user.create", "user";
    UserDelete => "user.delete", "user";
    UserActivate => "user.activate", "user";
    UserRole => "user.role", "user";
    UserErase => "user.erase", "user";
    ItemCreate => "item.create", "item";
    ItemUpdate => "item.update", "item";
    ItemDelete => "item.delete", "item";
    TokenRotate => "token.rotate", "user";
    TokenIssue => "token.issue", "token";
    TokenRevoke => "token.revoke", "token";
}

impl Action {
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|a| a.as_str() == name)
    }
}

/// One change to record: the action, the object's id, and the user it concerns (the user
/// itself, an item's owner, a token's holder), by which export and erasure find it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Event {
    pub action: Action,
    pub object_id: i64,
    pub subject_id: i64,
}

impl Event {
    pub fn new(action: Action, object_id: i64, subject_id: i64) -> Self {
        Self {
            action,
            object_id,
            subject_id,
        }
    }
}

/// A stored record, as `GET /admin/audit`, the export and `todo-api audit export` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Record {
    pub id: i64,
    /// UTC, whole seconds.
    #[serde(serialize_with = "crate::domain::serialize_naive")]
    #[schema(value_type = String, example = "2026-12-02T12:00:00")]
    pub at: PrimitiveDateTime,
    /// The user who made the change; `null` for an anonymous sign-up or the command line.
    pub actor_id: Option<i64>,
    #[schema(example = "item.create")]
    pub action: String,
    #[schema(example = "item")]
    pub object_type: String,
    pub object_id: i64,
    /// The user the change concerns.
    pub subject_id: Option<i64>,
    pub request_id: Option<String>,
    /// The client address, until the user it belongs to is erased or the record purged.
    pub client_ip: Option<String>,
}

/// Which records to list: newest first, before the keyset position `before` (an id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub actor_id: Option<i64>,
    /// Records whose actor or subject is this user.
    pub about: Option<i64>,
    pub object: Option<(String, i64)>,
    pub action: Option<Action>,
    pub since: Option<PrimitiveDateTime>,
    pub until: Option<PrimitiveDateTime>,
    pub before: Option<i64>,
    pub limit: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_names_are_unique_and_parse_back() {
        for action in Action::ALL {
            assert_eq!(Action::parse(action.as_str()), Some(*action));
            let prefix = action.as_str().split('.').next().unwrap();
            assert!(["user", "item", "token"].contains(&prefix));
        }
        let mut names: Vec<_> = Action::ALL.iter().map(|a| a.as_str()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), Action::ALL.len());
        assert_eq!(Action::parse("item.explode"), None);
    }
}
