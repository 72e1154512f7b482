//! Personal data: everything the service holds about a user, as one document (the right of
//! access and portability), shared by `GET /users/{id}/export` and `todo-api user export`.
//! Erasure is the store's (`Store::erase_user`), since it must be one transaction.

use serde::Serialize;
use utoipa::ToSchema;

use crate::audit;
use crate::domain::{Account, ApiToken, Item};
use crate::store::{Store, StoreResult};

/// Records fetched per round trip while assembling an export.
const CHUNK: i64 = 1000;

/// A user's data: the account, every item it owns, its named tokens (never a secret) and
/// every audit record it made or that concerns it, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct Export {
    pub user: AccountView,
    pub items: Vec<Item>,
    pub tokens: Vec<ApiToken>,
    pub audit: Vec<audit::Record>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AccountView {
    pub id: i64,
    pub email: String,
    pub is_active: bool,
    /// `user` or `admin`.
    pub role: &'static str,
}

impl From<&Account> for AccountView {
    fn from(account: &Account) -> Self {
        Self {
            id: account.id,
            email: account.email.clone(),
            is_active: account.is_active,
            role: role_name(account.is_admin),
        }
    }
}

pub fn role_name(is_admin: bool) -> &'static str {
    if is_admin { "admin" } else { "user" }
}

/// `None` when there is no such user.
pub async fn export(store: &dyn Store, user_id: i64) -> StoreResult<Option<Export>> {
    let Some(account) = store.account(user_id).await? else {
        return Ok(None);
    };
    let mut items = Vec::new();
    let mut after = None;
    loop {
        let chunk = store.items_of_owners(&[user_id], after, CHUNK).await?;
        after = chunk.last().map(|item| (item.owner_id, item.id));
        let done = (chunk.len() as i64) < CHUNK;
        items.extend(chunk);
        if done {
            break;
        }
    }
    let tokens = store.api_tokens(user_id).await?;
    let audit = all_audit(
        store,
        audit::Filter {
            about: Some(user_id),
            ..Default::default()
        },
    )
    .await?;
    Ok(Some(Export {
        user: AccountView::from(&account),
        items,
        tokens,
        audit,
    }))
}

/// Every audit record the filter selects, newest first, fetched in keyset pages.
pub async fn all_audit(
    store: &dyn Store,
    filter: audit::Filter,
) -> StoreResult<Vec<audit::Record>> {
    let mut records = Vec::new();
    each_audit_page(store, filter, |page| {
        records.extend_from_slice(page);
        Ok::<_, crate::store::StoreError>(())
    })
    .await?;
    Ok(records)
}

/// Hands the audit records the filter selects to `take`, a keyset page at a time, newest
/// first.
pub async fn each_audit_page<E: From<crate::store::StoreError>>(
    store: &dyn Store,
    filter: audit::Filter,
    mut take: impl FnMut(&[audit::Record]) -> Result<(), E>,
) -> Result<(), E> {
    let mut filter = audit::Filter {
        limit: CHUNK,
        ..filter
    };
    loop {
        let page = store.audit_records(&filter).await?;
        take(&page)?;
        if (page.len() as i64) < CHUNK {
            return Ok(());
        }
        filter.before = page.last().map(|record| record.id);
    }
}
