//! The group commit on a real SQLite file with the migrated schema, beside the sqlx store.

use std::sync::Arc;

use super::*;
use crate::domain::{ItemChanges, NewUser};
use crate::store::{DbSettings, Store};

struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    store: Arc<dyn Store>,
    owner: i64,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("todo.db");
    let url = format!("sqlite://{}", path.display());
    let store = crate::store::connect(&DbSettings::new(url.into())).unwrap();
    store.migrate().await.unwrap();
    let user = NewUser {
        email: "group@example.com".into(),
        password_hash: "x".into(),
        is_admin: false,
        token_selector: "groupselector".into(),
        token_hash: "sha256:abc".into(),
    };
    let owner = store
        .create_user(user, None, &Context::command_line())
        .await
        .unwrap()
        .unwrap()
        .id;
    Fixture {
        _dir: dir,
        path,
        store,
        owner,
    }
}

fn new_item(title: &str) -> NewItem {
    NewItem {
        title: title.into(),
        description: Some("d".into()),
        created_at: time::macros::datetime!(2023-01-03 12:00:00),
    }
}

fn context(owner: i64) -> Context {
    Context {
        actor_id: Some(owner),
        request_id: Some("req-1".into()),
        client_ip: Some("192.0.2.7".parse().unwrap()),
    }
}

/// A connection of the test's own, as another process would open the file.
fn observer(path: &std::path::Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(10)).unwrap();
    conn
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |row| row.get(0)).unwrap()
}

#[tokio::test]
async fn the_writers_connection_commits_with_synchronous_full() {
    let fx = fixture().await;
    let group = GroupCommit::start(fx.path.clone(), Duration::from_secs(5)).unwrap();
    assert_eq!(group.pragma("synchronous").await, Some(2), "FULL");
    assert_eq!(group.pragma("foreign_keys").await, Some(1));
    assert_eq!(group.pragma("secure_delete").await, Some(1));
}

/// Creations queued while the write lock is taken elsewhere form one group: one commit for
/// all of them, each answered after it (another connection sees the item by then), a
/// failing one rolled back alone and left to sqlx, and the audit trail exactly as the sqlx
/// path writes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn queued_creations_share_one_commit_and_a_failure_stays_its_own() {
    let fx = fixture().await;
    let group = Arc::new(GroupCommit::start(fx.path.clone(), Duration::from_secs(10)).unwrap());
    let setup = observer(&fx.path);
    // A real failure for one creation only, the way a constraint would fail it.
    setup
        .execute_batch(
            "CREATE TRIGGER poison BEFORE INSERT ON items WHEN NEW.title = 'poison' \
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
        )
        .unwrap();
    let lock = observer(&fx.path);
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();

    let mut creations = Vec::new();
    for n in 0..20 {
        let (group, path, owner) = (group.clone(), fx.path.clone(), fx.owner);
        let title = if n == 7 {
            "poison".to_owned()
        } else {
            format!("item {n}")
        };
        creations.push(tokio::spawn(async move {
            let answer = group
                .create_item(owner, &new_item(&title), &context(owner))
                .await;
            // Answered: the item must already be committed, visible to anyone.
            let visible = match &answer {
                Some(Ok(Some(item))) => {
                    let seen = observer(&path);
                    count(
                        &seen,
                        &format!("SELECT COUNT(*) FROM items WHERE id = {}", item.id),
                    )
                }
                _ => -1,
            };
            (title, answer, visible)
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let commits_before = group.commits();
    lock.execute_batch("COMMIT").unwrap();

    let mut created = Vec::new();
    for creation in creations {
        let (title, answer, visible) = creation.await.unwrap();
        if title == "poison" {
            assert!(answer.is_none(), "left to sqlx: {answer:?}");
            continue;
        }
        let item = answer
            .expect("grouped")
            .expect("committed")
            .expect("owner found");
        assert_eq!(visible, 1, "{title}: answered before its commit");
        assert_eq!(item.title, title);
        created.push(item);
    }
    assert_eq!(created.len(), 19);

    let check = observer(&fx.path);
    assert_eq!(count(&check, "SELECT COUNT(*) FROM items"), 19);
    assert_eq!(
        count(&check, "SELECT COUNT(*) FROM items WHERE title = 'poison'"),
        0
    );
    assert_eq!(
        group.commits() - commits_before,
        1,
        "one commit for the group"
    );
    let audit: Vec<(i64, String, i64, i64, String, String)> = check
        .prepare(
            "SELECT object_id, action, actor_id, subject_id, request_id, ip \
             FROM audit_events JOIN audit_client_ips ON event_id = audit_events.id \
             WHERE action = 'item.create' ORDER BY audit_events.id",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut ids: Vec<i64> = created.iter().map(|item| item.id).collect();
    ids.sort_unstable();
    assert_eq!(audit.iter().map(|a| a.0).collect::<Vec<_>>(), ids);
    for (_, action, actor, subject, request, ip) in &audit {
        assert_eq!(
            (
                action.as_str(),
                *actor,
                *subject,
                request.as_str(),
                ip.as_str()
            ),
            ("item.create", fx.owner, fx.owner, "req-1", "192.0.2.7")
        );
    }

    // What the store itself answers for the grouped items is what the group answered.
    for item in &created {
        let stored = fx.store.item(fx.owner, item.id).await.unwrap();
        assert_eq!(stored.as_ref(), Some(item));
    }
}

/// An owner that is gone gets `None`, and nothing of the attempt is kept (not even the
/// actor's last write), as the sqlx path drops such a transaction.
#[tokio::test]
async fn a_missing_owner_is_none_and_leaves_nothing() {
    let fx = fixture().await;
    let group = GroupCommit::start(fx.path.clone(), Duration::from_secs(5)).unwrap();
    let long_ago = "UPDATE users SET last_write_at = '2020-01-01 00:00:00'";
    observer(&fx.path).execute_batch(long_ago).unwrap();
    let answer = group
        .create_item(fx.owner + 100, &new_item("x"), &context(fx.owner))
        .await;
    assert!(matches!(answer, Some(Ok(None))), "{answer:?}");
    let check = observer(&fx.path);
    assert_eq!(count(&check, "SELECT COUNT(*) FROM items"), 0);
    assert_eq!(
        count(&check, "SELECT COUNT(*) FROM audit_events"),
        1,
        "the sign-up's"
    );
    let kept = "SELECT COUNT(*) FROM users WHERE last_write_at = '2020-01-01 00:00:00'";
    assert_eq!(count(&check, kept), 1, "the actor's last write as it was");

    // The same creation for the actor itself does record it.
    let answer = group
        .create_item(fx.owner, &new_item("x"), &context(fx.owner))
        .await;
    assert!(matches!(answer, Some(Ok(Some(_)))), "{answer:?}");
    assert_eq!(count(&check, kept), 0, "the actor's last write recorded");
}

/// An update through the group is the sqlx path's: applied with its audit record when the
/// version matches, `Stale` and untouched when it does not, `NotFound` for another owner's
/// item, and an empty change answered with the item as it is.
#[tokio::test]
async fn updates_check_the_version_and_record_what_they_change() {
    let fx = fixture().await;
    let group = GroupCommit::start(fx.path.clone(), Duration::from_secs(5)).unwrap();
    let created = fx
        .store
        .create_item(fx.owner, new_item("before"), None, &context(fx.owner))
        .await
        .unwrap()
        .unwrap();
    let changes = ItemChanges {
        title: Some("after".into()),
        description: None,
        done: Some(true),
    };
    let update = |changes: ItemChanges, owner: i64, if_version: Option<i64>| {
        let group = &group;
        async move {
            group
                .update_item(owner, created.id, &changes, if_version, &context(fx.owner))
                .await
                .expect("grouped")
                .expect("committed")
        }
    };

    let Change::Done(updated) = update(changes.clone(), fx.owner, Some(1)).await else {
        panic!("not applied");
    };
    assert_eq!(
        (updated.title.as_str(), updated.description.as_deref()),
        ("after", Some("d"))
    );
    assert_eq!((updated.done, updated.version), (true, 2));
    let stored = fx.store.item(fx.owner, created.id).await.unwrap();
    assert_eq!(stored.as_ref(), Some(&updated));

    assert_eq!(
        update(changes.clone(), fx.owner, Some(1)).await,
        Change::Stale
    );
    assert_eq!(
        update(changes.clone(), fx.owner + 1, None).await,
        Change::NotFound
    );
    let unchanged = update(ItemChanges::default(), fx.owner, None).await;
    assert_eq!(unchanged, Change::Done(updated.clone()));
    let stored = fx.store.item(fx.owner, created.id).await.unwrap();
    assert_eq!(stored.as_ref(), Some(&updated), "untouched since");

    let check = observer(&fx.path);
    let recorded = format!(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'item.update' AND object_id = {}",
        created.id
    );
    assert_eq!(count(&check, &recorded), 1, "one change, one record");
}

/// A deletion through the group: refused for a stale version and for another owner, then
/// done with its audit record, and the item gone for the store too.
#[tokio::test]
async fn deletions_check_the_version_and_record_what_they_remove() {
    let fx = fixture().await;
    let group = GroupCommit::start(fx.path.clone(), Duration::from_secs(5)).unwrap();
    let created = fx
        .store
        .create_item(fx.owner, new_item("doomed"), None, &context(fx.owner))
        .await
        .unwrap()
        .unwrap();
    let delete = |owner: i64, if_version: Option<i64>| {
        let group = &group;
        async move {
            group
                .delete_item(owner, created.id, if_version, &context(fx.owner))
                .await
                .expect("grouped")
                .expect("committed")
        }
    };
    assert_eq!(delete(fx.owner, Some(2)).await, Change::Stale);
    assert_eq!(delete(fx.owner + 1, None).await, Change::NotFound);
    assert!(fx.store.item(fx.owner, created.id).await.unwrap().is_some());

    assert_eq!(delete(fx.owner, Some(1)).await, Change::Done(()));
    assert_eq!(fx.store.item(fx.owner, created.id).await.unwrap(), None);
    assert_eq!(delete(fx.owner, None).await, Change::NotFound, "gone");
    let recorded = format!(
        "SELECT COUNT(*) FROM audit_events WHERE action = 'item.delete' AND object_id = {}",
        created.id
    );
    assert_eq!(count(&observer(&fx.path), &recorded), 1);
}

/// A caller that gave up while its write waited (a request timeout drops the future) gets
/// nothing written, as a dropped sqlx transaction writes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_whose_caller_gave_up_is_not_made() {
    let fx = fixture().await;
    let group = GroupCommit::start(fx.path.clone(), Duration::from_secs(10)).unwrap();
    let lock = observer(&fx.path);
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let (item, origin) = (new_item("abandoned"), context(fx.owner));
    let abandoned = group.create_item(fx.owner, &item, &origin);
    let waited = tokio::time::timeout(Duration::from_millis(200), abandoned).await;
    assert!(waited.is_err(), "it waited for the lock");
    lock.execute_batch("COMMIT").unwrap();

    let kept = group
        .create_item(fx.owner, &new_item("kept"), &context(fx.owner))
        .await;
    assert!(matches!(kept, Some(Ok(Some(_)))), "{kept:?}");
    let check = observer(&fx.path);
    assert_eq!(
        count(
            &check,
            "SELECT COUNT(*) FROM items WHERE title = 'abandoned'"
        ),
        0
    );
    assert_eq!(count(&check, "SELECT COUNT(*) FROM items"), 1);
}
