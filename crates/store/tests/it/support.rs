//! One suite, two backends: every test is written once against `Arc<dyn Store>` and
//! instantiated for SQLite (a fresh temporary file) and PostgreSQL (a fresh database on
//! `TEST_DATABASE_URL`; skipped with a note when it is unset).

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;

use scim::members::{delta_of_whole, put_members};
use scim::query::SortOrder;
use scim::{AttrPath, Filter, ResourceKind, ResourceSchema, SchemaRegistry};
use serde_json::{Map, Value, json};
use sqlx::{Connection, Executor};
use store::{
    Change, ListQuery, NewJournalEntry, Page, PagingStats, PgStore, SqliteStore, Store, StoreError,
    StoredResource,
};

pub const CONNECTOR: &str = "acme";

#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where a test's database lives; it can be opened again, as after a restart.
#[derive(Debug, Clone)]
pub enum Location {
    Sqlite(PathBuf),
    Postgres {
        admin_url: String,
        url: String,
        name: String,
    },
}

impl Location {
    /// The URL `open_store` takes.
    pub fn url(&self) -> String {
        match self {
            Location::Sqlite(path) => format!("sqlite://{}", path.display()),
            Location::Postgres { url, .. } => url.clone(),
        }
    }

    pub async fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            Location::Sqlite(path) => Arc::new(SqliteStore::open(path).await?),
            Location::Postgres { url, .. } => Arc::new(PgStore::connect(url).await?),
        })
    }

    /// A store of its own on this location, as another gateway replica would open.
    pub async fn replica(&self) -> Replica {
        match self {
            Location::Sqlite(path) => Replica::Sqlite(Arc::new(
                SqliteStore::open(path).await.expect("open the store"),
            )),
            Location::Postgres { url, .. } => Replica::Postgres(Arc::new(
                PgStore::connect(url).await.expect("open the store"),
            )),
        }
    }

    async fn create(backend: Backend) -> Option<Location> {
        let name = format!("scim_test_{}", uuid::Uuid::new_v4().simple());
        match backend {
            Backend::Sqlite => Some(Location::Sqlite(
                std::env::temp_dir().join(format!("{name}.db")),
            )),
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
                    eprintln!("skipped: TEST_DATABASE_URL is not set, PostgreSQL not tested");
                    return None;
                };
                let mut admin = sqlx::PgConnection::connect(&admin_url)
                    .await
                    .expect("connect to TEST_DATABASE_URL");
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await
                    .expect("create the test database");
                admin.close().await.expect("close");
                let url = with_database(&admin_url, &name);
                Some(Location::Postgres {
                    admin_url,
                    url,
                    name,
                })
            }
        }
    }

    async fn remove(&self) {
        match self {
            Location::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Location::Postgres {
                admin_url, name, ..
            } => {
                if let Ok(mut admin) = sqlx::PgConnection::connect(admin_url).await {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(e) = admin.execute(sqlx::AssertSqlSafe(drop)).await {
                        eprintln!("could not drop test database {name}: {e}");
                    }
                    let _ = admin.close().await;
                }
            }
        }
    }
}

/// A store opened as its concrete type, for what only that tells: paging statistics, loads.
pub enum Replica {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl Replica {
    pub fn store(&self) -> &dyn Store {
        match self {
            Replica::Sqlite(store) => store.as_ref(),
            Replica::Postgres(store) => store.as_ref(),
        }
    }

    pub fn stats(&self) -> PagingStats {
        match self {
            Replica::Sqlite(store) => store.paging_stats(),
            Replica::Postgres(store) => store.paging_stats(),
        }
    }

    pub async fn load(&self, resources: &[StoredResource]) -> Result<(), StoreError> {
        match self {
            Replica::Sqlite(store) => store.load(CONNECTOR, resources).await,
            Replica::Postgres(store) => store.load(CONNECTOR, resources).await,
        }
    }

    pub async fn close(&self) {
        self.store().close().await;
    }
}

/// `(state, attempts, last_error)` of a journal row, read behind the store's back: no method
/// returns settled entries.
pub async fn journal_row(location: &Location, seq: i64) -> (String, i32, Option<String>) {
    const SQLITE: &str = "SELECT state, attempts, last_error FROM journal WHERE seq = ?1";
    const POSTGRES: &str = "SELECT state, attempts, last_error FROM journal WHERE seq = $1";
    match location {
        Location::Sqlite(path) => {
            let options = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
            let mut conn = sqlx::SqliteConnection::connect_with(&options)
                .await
                .expect("connect");
            sqlx::query_as(SQLITE)
                .bind(seq)
                .fetch_one(&mut conn)
                .await
                .expect("journal row")
        }
        Location::Postgres { url, .. } => {
            let mut conn = sqlx::PgConnection::connect(url).await.expect("connect");
            sqlx::query_as(POSTGRES)
                .bind(seq)
                .fetch_one(&mut conn)
                .await
                .expect("journal row")
        }
    }
}

/// The same server URL with another database name.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let server = match base.split_once("://") {
        Some((scheme, rest)) => format!(
            "{scheme}://{}",
            rest.split_once('/').map_or(rest, |(host, _)| host)
        ),
        None => base.to_owned(),
    };
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// What a test gets: an open store on a fresh database, and where it lives.
pub struct Env {
    pub store: Arc<dyn Store>,
    pub location: Location,
}

/// Runs `test` on a fresh location of `backend`, then removes it, also when the test panics.
pub async fn run_at<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Location) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let Some(location) = Location::create(backend).await else {
        return;
    };
    let outcome = tokio::spawn(test(location.clone())).await;
    location.remove().await;
    if let Err(error) = outcome {
        match error.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(error) => panic!("test task failed: {error}"),
        }
    }
}

/// Runs `test` with a store opened on a fresh location of `backend`.
pub async fn run<F, Fut>(backend: Backend, test: F)
where
    F: FnOnce(Env) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_at(backend, |location| async move {
        let store = location.open().await.expect("open the store");
        test(Env {
            store: store.clone(),
            location,
        })
        .await;
        store.close().await;
    })
    .await;
}

/// Instantiates each listed `async fn(Env)` for both backends, as `name::sqlite` and
/// `name::postgres`.
macro_rules! on_both {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                crate::support::run(crate::support::Backend::Sqlite, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                crate::support::run(crate::support::Backend::Postgres, super::$name).await;
            }
        }
    )*};
}

/// Like [`on_both`], for `async fn(Location)`: the database exists but no store has opened it.
macro_rules! on_both_unopened {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                crate::support::run_at(crate::support::Backend::Sqlite, super::$name).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                crate::support::run_at(crate::support::Backend::Postgres, super::$name).await;
            }
        }
    )*};
}

// ---- fixtures ----

pub fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

pub fn user(user_name: &str) -> Map<String, Value> {
    object(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
    }))
}

pub fn group(display_name: &str, members: &[&str]) -> Map<String, Value> {
    let mut group = object(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": display_name,
    }));
    if !members.is_empty() {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        group.insert("members".into(), Value::Array(members));
    }
    group
}

pub fn schema(kind: ResourceKind) -> ResourceSchema {
    SchemaRegistry::standard()
        .resource_schema(kind.as_str())
        .expect("standard schema")
}

pub fn entry(kind: ResourceKind, change: Change) -> NewJournalEntry {
    NewJournalEntry {
        connector: CONNECTOR.into(),
        kind,
        change,
        before: None,
        request_id: Some("req-1".into()),
    }
}

/// Journals and commits a change; the commit's outcome.
pub async fn apply(
    store: &dyn Store,
    kind: ResourceKind,
    change: Change,
) -> Result<Option<StoredResource>, StoreError> {
    let seq = store
        .journal_append(entry(kind, change))
        .await
        .expect("journal append");
    store.commit(seq, json!({"vendorId": seq})).await
}

/// The members a Group holds now, as the whole list a client would have written.
async fn stored_members(store: &dyn Store, kind: ResourceKind, id: &str) -> Map<String, Value> {
    let mut before = Map::new();
    if kind == ResourceKind::Group {
        let members = store.members(CONNECTOR, id, None).await.expect("members");
        put_members(&mut before, &members);
    }
    before
}

/// Creates a resource; a Group's `members` in `attributes` become the change's delta, as the
/// gateway makes it.
pub async fn create(
    store: &dyn Store,
    kind: ResourceKind,
    id: &str,
    mut attributes: Map<String, Value>,
) -> StoredResource {
    let members = delta_of_whole(None, Some(&mut attributes));
    apply(
        store,
        kind,
        Change::Create {
            id: id.into(),
            attributes,
            members,
        },
    )
    .await
    .unwrap_or_else(|e| panic!("create {kind} {id}: {e}"))
    .expect("a created resource")
}

/// Replaces a resource whole; a Group's `members` become the delta from the stored ones.
pub async fn replace(
    store: &dyn Store,
    kind: ResourceKind,
    id: &str,
    expected_version: i64,
    mut attributes: Map<String, Value>,
) -> Result<StoredResource, StoreError> {
    let mut before = stored_members(store, kind, id).await;
    let members = delta_of_whole(Some(&mut before), Some(&mut attributes));
    apply(
        store,
        kind,
        Change::Replace {
            id: id.into(),
            expected_version,
            attributes,
            members,
        },
    )
    .await
    .map(|r| r.expect("a replaced resource"))
}

pub async fn delete(
    store: &dyn Store,
    kind: ResourceKind,
    id: &str,
    expected_version: i64,
) -> Result<(), StoreError> {
    let mut before = stored_members(store, kind, id).await;
    let members = delta_of_whole(Some(&mut before), None);
    apply(
        store,
        kind,
        Change::Delete {
            id: id.into(),
            expected_version,
            members,
        },
    )
    .await
    .map(|r| assert!(r.is_none(), "a delete returns no resource"))
}

/// A list query, with the filter and sort path given as text.
pub async fn list(
    store: &dyn Store,
    kind: ResourceKind,
    filter: Option<&str>,
    sort: Option<(&str, SortOrder)>,
    offset: usize,
    limit: usize,
) -> Page {
    let schema = schema(kind);
    let filter = filter.map(|f| Filter::parse(f).unwrap_or_else(|e| panic!("{f}: {e}")));
    let sort_path = sort.map(|(p, _)| AttrPath::parse(p).unwrap_or_else(|e| panic!("{p}: {e}")));
    let query = ListQuery {
        filter: filter.as_ref(),
        schema: &schema,
        sort: sort_path.as_ref().zip(sort.map(|(_, order)| order)),
        offset,
        limit,
    };
    store
        .list(CONNECTOR, kind, query)
        .await
        .unwrap_or_else(|e| panic!("list {filter:?}: {e}"))
}

pub fn ids(page: &Page) -> Vec<&str> {
    page.resources.iter().map(|r| r.id.as_str()).collect()
}

#[test]
fn database_urls_keep_server_and_options() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
}
