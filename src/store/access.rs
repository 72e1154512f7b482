//! The portable store, continued: named tokens, the audit trail, the admin's user listing
//! and erasure. Included by `portable.rs` (so once per backend, like it).

use sqlx::{AssertSqlSafe, Row as _};
use time::PrimitiveDateTime;

use super::{Args, Db, SqlStore};
use crate::audit::{self, Action, Context, Event};
use crate::domain::{Account, AccountFilter, ApiToken, ErasedItems, NewApiToken};
use crate::store::dialect::Dialect;
use crate::store::sql::{INSERT_AUDIT_EVENT, INSERT_AUDIT_IP, account_columns, sql};
use crate::store::{Erasure, StoreError};

type Conn = <Db as sqlx::Database>::Connection;

/// Writes the audit record of `event` on `conn`, which is inside the change's transaction.
/// The client address goes to `audit_client_ips` under the user it belongs to: the actor,
/// or for an anonymous sign-up the new user.
pub(super) async fn record(conn: &mut Conn, context: &Context, event: Event) -> sqlx::Result<()> {
    let at = <Db as Dialect>::timestamp(crate::domain::now_utc_seconds());
    let (actor, request_id) = (context.actor_id, context.request_id.clone());
    let id = <Db as Dialect>::insert_id(conn, sql!(Db, INSERT_AUDIT_EVENT), move |query| {
        query
            .bind(at)
            .bind(actor)
            .bind(event.action.as_str())
            .bind(event.action.object_type())
            .bind(event.object_id)
            .bind(event.subject_id)
            .bind(request_id)
    })
    .await?;
    if let Some(ip) = context.client_ip {
        sqlx::query(sql!(Db, INSERT_AUDIT_IP))
            .bind(id)
            .bind(actor.unwrap_or(event.subject_id))
            .bind(ip.to_string())
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Locks user `id` for a change of its account, unless it was erased (`None`).
async fn lock_unerased(conn: &mut Conn, id: i64) -> sqlx::Result<Option<Account>> {
    sqlx::query_as::<Db, Account>(sql!(
        Db,
        concat!(
            "SELECT ",
            account_columns!(),
            " FROM users WHERE id = ? AND NOT EXISTS \
             (SELECT 1 FROM erasures WHERE erasures.user_id = users.id)"
        ),
        <Db as Dialect>::FOR_UPDATE
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The address an erased user's email is replaced with: unique, and never a real address.
fn erased_email(id: i64) -> String {
    format!("erased-{id}@erased.invalid")
}

impl SqlStore {
    pub(super) async fn try_create_api_token(
        &self,
        user_id: i64,
        token: &NewApiToken,
        context: &Context,
    ) -> sqlx::Result<Option<Option<ApiToken>>> {
        let mut tx = self.begin_change(context).await?;
        if !Self::share_active_user(&mut tx, user_id).await? {
            return Ok(Some(None));
        }
        let new = token.clone();
        let id = <Db as Dialect>::insert_id(
            &mut tx,
            sql!(
                Db,
                "INSERT INTO api_tokens \
                 (user_id, name, selector, token_hash, read_only, created_at) \
                 VALUES (?, ?, ?, ?, ?, ?)"
            ),
            move |query| {
                query
                    .bind(user_id)
                    .bind(new.name)
                    .bind(new.selector)
                    .bind(new.token_hash)
                    .bind(new.read_only)
                    .bind(<Db as Dialect>::timestamp(new.created_at))
            },
        )
        .await?;
        record(
            &mut tx,
            context,
            Event::new(Action::TokenIssue, id, user_id),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(Some(ApiToken {
            id,
            user_id,
            name: token.name.clone(),
            read_only: token.read_only,
            created_at: token.created_at,
        })))
    }

    pub(super) async fn try_revoke_api_token(
        &self,
        user_id: i64,
        token_id: i64,
        context: &Context,
    ) -> sqlx::Result<Option<bool>> {
        let mut tx = self.begin_change(context).await?;
        let deleted = sqlx::query(sql!(
            Db,
            "DELETE FROM api_tokens WHERE id = ? AND user_id = ?"
        ))
        .bind(token_id)
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
        if deleted.rows_affected() == 0 {
            return Ok(Some(false));
        }
        record(
            &mut tx,
            context,
            Event::new(Action::TokenRevoke, token_id, user_id),
        )
        .await?;
        tx.commit().await?;
        Ok(Some(true))
    }

    pub(super) async fn list_api_tokens(&self, user_id: i64) -> sqlx::Result<Vec<ApiToken>> {
        sqlx::query_as::<Db, ApiToken>(sql!(
            Db,
            "SELECT id, user_id, name, read_only, created_at FROM api_tokens \
             WHERE user_id = ? ORDER BY id"
        ))
        .bind(user_id)
        .fetch_all(&mut *self.conn().await?)
        .await
    }

    pub(super) async fn try_set_admin(
        &self,
        id: i64,
        admin: bool,
        context: &Context,
    ) -> sqlx::Result<Option<Option<Account>>> {
        let mut tx = self.begin_change(context).await?;
        let account = lock_unerased(&mut tx, id).await?;
        let Some(mut account) = account else {
            return Ok(Some(None));
        };
        if account.is_admin != admin {
            sqlx::query(sql!(Db, "UPDATE users SET is_admin = ? WHERE id = ?"))
                .bind(admin)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            record(&mut tx, context, Event::new(Action::UserRole, id, id)).await?;
            account.is_admin = admin;
        }
        tx.commit().await?;
        Ok(Some(Some(account)))
    }

    pub(super) async fn try_activate(
        &self,
        id: i64,
        context: &Context,
    ) -> sqlx::Result<Option<Option<Account>>> {
        let mut tx = self.begin_change(context).await?;
        let account = lock_unerased(&mut tx, id).await?;
        let Some(mut account) = account else {
            return Ok(Some(None));
        };
        if !account.is_active {
            sqlx::query(sql!(Db, "UPDATE users SET is_active = ? WHERE id = ?"))
                .bind(true)
                .bind(id)
                .execute(&mut *tx)
                .await?;
            record(&mut tx, context, Event::new(Action::UserActivate, id, id)).await?;
            account.is_active = true;
        }
        tx.commit().await?;
        Ok(Some(Some(account)))
    }

    pub(super) async fn list_accounts(&self, filter: &AccountFilter) -> sqlx::Result<Vec<Account>> {
        let mut text = format!("SELECT {} FROM users WHERE id > ?", account_columns!());
        if !filter.include_inactive {
            text.push_str(" AND is_active = ?");
        }
        if filter.email_contains.is_some() {
            text.push_str(" AND LOWER(email) LIKE ? ESCAPE '!'");
        }
        text.push_str(" ORDER BY id LIMIT ?");
        let mut query =
            sqlx::query_as::<Db, Account>(AssertSqlSafe(<Db as Dialect>::rewrite(&text)))
                .bind(filter.after.unwrap_or(0));
        if !filter.include_inactive {
            query = query.bind(true);
        }
        if let Some(fragment) = &filter.email_contains {
            let escaped = fragment
                .to_lowercase()
                .replace('!', "!!")
                .replace('%', "!%")
                .replace('_', "!_");
            query = query.bind(format!("%{escaped}%"));
        }
        query
            .bind(filter.limit)
            .fetch_all(&mut *self.conn().await?)
            .await
    }

    /// Erases `id`; `None` when its items are to be handed over but it is active (the caller
    /// deactivates it first, which hands them over).
    pub(super) async fn try_erase(
        &self,
        id: i64,
        items: ErasedItems,
        context: &Context,
    ) -> sqlx::Result<Option<Erasure>> {
        let mut tx = self.begin_change(context).await?;
        let account = lock_unerased(&mut tx, id).await?;
        let Some(account) = account else {
            return Ok(Some(Erasure::NotFound));
        };
        if account.is_active && items == ErasedItems::HandOver {
            return Ok(None);
        }
        if items == ErasedItems::Delete {
            sqlx::query(sql!(Db, "DELETE FROM items WHERE owner_id = ?"))
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query(sql!(
            Db,
            "UPDATE users SET email = ?, hashed_password = ?, is_active = ?, is_admin = ?, \
             token_selector = NULL, token_hash = NULL WHERE id = ?"
        ))
        .bind(erased_email(id))
        .bind(String::new())
        .bind(false)
        .bind(false)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        for statement in [
            sql!(Db, "DELETE FROM api_tokens WHERE user_id = ?"),
            sql!(Db, "DELETE FROM audit_client_ips WHERE user_id = ?"),
        ] {
            sqlx::query(statement).bind(id).execute(&mut *tx).await?;
        }
        sqlx::query(sql!(
            Db,
            "INSERT INTO erasures (user_id, erased_at) VALUES (?, ?)"
        ))
        .bind(id)
        .bind(<Db as Dialect>::timestamp(crate::domain::now_utc_seconds()))
        .execute(&mut *tx)
        .await?;
        // A user erasing itself leaves no address behind with the record of it.
        let context = match context.actor_id {
            Some(actor) if actor == id => Context {
                client_ip: None,
                ..context.clone()
            },
            _ => context.clone(),
        };
        record(&mut tx, &context, Event::new(Action::UserErase, id, id)).await?;
        tx.commit().await?;
        Ok(Some(Erasure::Done))
    }

    pub(super) async fn list_audit(
        &self,
        filter: &audit::Filter,
    ) -> Result<Vec<audit::Record>, StoreError> {
        let mut text = String::from(
            "SELECT e.id, e.at, e.actor_id, e.action, e.object_type, e.object_id, \
             e.subject_id, e.request_id, c.ip FROM audit_events e \
             LEFT JOIN audit_client_ips c ON c.event_id = e.id WHERE 1 = 1",
        );
        let mut binds: Vec<Bind> = Vec::new();
        if let Some(actor) = filter.actor_id {
            text.push_str(" AND e.actor_id = ?");
            binds.push(Bind::Int(actor));
        }
        if let Some(user) = filter.about {
            text.push_str(" AND (e.actor_id = ? OR e.subject_id = ?)");
            binds.extend([Bind::Int(user), Bind::Int(user)]);
        }
        if let Some((object_type, object_id)) = &filter.object {
            text.push_str(" AND e.object_type = ? AND e.object_id = ?");
            binds.extend([Bind::Text(object_type.clone()), Bind::Int(*object_id)]);
        }
        if let Some(action) = filter.action {
            text.push_str(" AND e.action = ?");
            binds.push(Bind::Text(action.as_str().to_owned()));
        }
        if let Some(since) = filter.since {
            text.push_str(" AND e.at >= ?");
            binds.push(Bind::Time(since));
        }
        if let Some(until) = filter.until {
            text.push_str(" AND e.at < ?");
            binds.push(Bind::Time(until));
        }
        if let Some(before) = filter.before {
            text.push_str(" AND e.id < ?");
            binds.push(Bind::Int(before));
        }
        text.push_str(" ORDER BY e.id DESC LIMIT ?");
        binds.push(Bind::Int(filter.limit));
        let mut query = sqlx::query(AssertSqlSafe(<Db as Dialect>::rewrite(&text)));
        for bind in binds {
            query = bind.onto(query);
        }
        let rows = query.fetch_all(&mut *self.conn().await?).await?;
        rows.iter()
            .map(|row| {
                Ok(audit::Record {
                    id: row.try_get("id")?,
                    at: row.try_get("at")?,
                    actor_id: row.try_get("actor_id")?,
                    action: row.try_get("action")?,
                    object_type: row.try_get("object_type")?,
                    object_id: row.try_get("object_id")?,
                    subject_id: row.try_get("subject_id")?,
                    request_id: row.try_get("request_id")?,
                    client_ip: row.try_get("ip")?,
                })
            })
            .collect::<sqlx::Result<_>>()
            .map_err(StoreError::from)
    }

    pub(super) async fn delete_audit_before(&self, before: PrimitiveDateTime) -> sqlx::Result<u64> {
        let mut tx = self.begin().await?;
        let at = <Db as Dialect>::timestamp(before);
        sqlx::query(sql!(
            Db,
            "DELETE FROM audit_client_ips WHERE event_id IN \
             (SELECT id FROM audit_events WHERE at < ?)"
        ))
        .bind(<Db as Dialect>::timestamp(before))
        .execute(&mut *tx)
        .await?;
        let purged = sqlx::query(sql!(Db, "DELETE FROM audit_events WHERE at < ?"))
            .bind(at)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(purged)
    }
}

/// A bind value of a query assembled at run time.
enum Bind {
    Int(i64),
    Text(String),
    Time(PrimitiveDateTime),
}

impl Bind {
    fn onto<'q>(self, query: sqlx::query::Query<'q, Db, Args>) -> sqlx::query::Query<'q, Db, Args> {
        match self {
            Bind::Int(value) => query.bind(value),
            Bind::Text(value) => query.bind(value),
            Bind::Time(value) => query.bind(<Db as Dialect>::timestamp(value)),
        }
    }
}
