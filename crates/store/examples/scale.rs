//! How the store behaves with many users, on the paths identity providers use: match by
//! `userName` / `externalId` / work e-mail, GET by id, and walking every page. A measurement,
//! not a test.
//!
//! ```text
//! cargo run --release -p store --example scale -- --backend sqlite --users 1000000
//! cargo run --release -p store --example scale -- --backend postgres --users 1000000 \
//!     [--database-url postgres://postgres@127.0.0.1:5432/postgres]
//! ```
//!
//! The users are written with `load` (every row a commit of their creation would write, in
//! transactions of 10,000, without journal entries), into a fresh database that is removed at
//! the end: a temporary file for SQLite; for PostgreSQL a new database on the server of
//! `--database-url` (default `$TEST_DATABASE_URL`, else the local server), dropped at the end.

use std::error::Error;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use scim::query::SortOrder;
use scim::{Filter, ResourceKind, ResourceSchema, SchemaRegistry};
use serde_json::json;
use sqlx::{Connection, Executor};
use store::{ListQuery, PagingStats, PgStore, SqliteStore, Store, StoredResource};
use time::OffsetDateTime;
use tokio::task::JoinSet;

type Result<T, E = Box<dyn Error + Send + Sync>> = std::result::Result<T, E>;

const CONNECTOR: &str = "scale";
/// Users per load transaction.
const CHUNK: usize = 10_000;
/// Samples per lookup measurement.
const SAMPLES: usize = 300;
/// Page size of the walks (Okta's default `count`).
const PAGE: usize = 100;
/// Pages measured at the start, around the middle and at the end of a walk.
const PAGES_PER_PART: usize = 300;
/// Time allowed for the whole walk and for the cold jumps.
const WALK_BUDGET: Duration = Duration::from_secs(600);
const JUMP_BUDGET: Duration = Duration::from_secs(60);
const JUMPS: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

struct Args {
    backend: Backend,
    users: usize,
    database_url: String,
}

fn args() -> Result<Args> {
    let mut backend = None;
    let mut users = 100_000;
    let mut database_url = std::env::var("TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned());
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        match arg.as_str() {
            "--backend" => {
                backend = Some(match value()?.as_str() {
                    "sqlite" => Backend::Sqlite,
                    "postgres" => Backend::Postgres,
                    other => return Err(format!("unknown backend {other}").into()),
                })
            }
            "--users" => users = value()?.parse()?,
            "--database-url" => database_url = value()?,
            other => return Err(format!("unknown argument {other}").into()),
        }
    }
    Ok(Args {
        backend: backend.ok_or("--backend sqlite|postgres")?,
        users,
        database_url,
    })
}

/// The fresh database of a run, removed by [`Place::remove`].
enum Place {
    Sqlite(PathBuf),
    Postgres {
        admin_url: String,
        url: String,
        name: String,
    },
}

impl Place {
    async fn create(args: &Args) -> Result<Place> {
        let name = format!(
            "scim_scale_{}_{}",
            std::process::id(),
            OffsetDateTime::now_utc().unix_timestamp()
        );
        Ok(match args.backend {
            Backend::Sqlite => Place::Sqlite(std::env::temp_dir().join(format!("{name}.db"))),
            Backend::Postgres => {
                let mut admin = sqlx::PgConnection::connect(&args.database_url).await?;
                admin
                    .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await?;
                admin.close().await?;
                Place::Postgres {
                    admin_url: args.database_url.clone(),
                    url: with_database(&args.database_url, &name),
                    name,
                }
            }
        })
    }

    async fn remove(&self) {
        match self {
            Place::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut file = path.clone().into_os_string();
                    file.push(suffix);
                    let _ = std::fs::remove_file(file);
                }
            }
            Place::Postgres {
                admin_url, name, ..
            } => match sqlx::PgConnection::connect(admin_url).await {
                Ok(mut admin) => {
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    if let Err(e) = admin.execute(sqlx::AssertSqlSafe(drop)).await {
                        eprintln!("could not drop database {name}: {e}");
                    }
                    let _ = admin.close().await;
                }
                Err(e) => eprintln!("could not drop database {name}: {e}"),
            },
        }
    }
}

/// The same server URL with another database name.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
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

/// The store as its concrete type: `load` and the paging statistics are not on [`Store`].
#[derive(Clone)]
enum Opened {
    Sqlite(Arc<SqliteStore>),
    Postgres(Arc<PgStore>),
}

impl Opened {
    async fn open(place: &Place) -> Result<Opened> {
        Ok(match place {
            Place::Sqlite(path) => Opened::Sqlite(Arc::new(SqliteStore::open(path).await?)),
            Place::Postgres { url, .. } => Opened::Postgres(Arc::new(PgStore::connect(url).await?)),
        })
    }

    fn store(&self) -> &dyn Store {
        match self {
            Opened::Sqlite(s) => s.as_ref(),
            Opened::Postgres(s) => s.as_ref(),
        }
    }

    async fn load(&self, users: &[StoredResource]) -> Result<()> {
        match self {
            Opened::Sqlite(s) => s.load(CONNECTOR, users).await?,
            Opened::Postgres(s) => s.load(CONNECTOR, users).await?,
        }
        Ok(())
    }

    fn stats(&self) -> PagingStats {
        match self {
            Opened::Sqlite(s) => s.paging_stats(),
            Opened::Postgres(s) => s.paging_stats(),
        }
    }
}

/// The id of user `i`: random-looking and fixed, like the UUIDs the gateway gives.
fn user_id(i: usize) -> String {
    // SplitMix64: a bijection, so ids are distinct.
    let mut z = (i as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    let hi = z;
    let lo = (i as u64).rotate_left(17) ^ 0x5bd1_e995;
    let id = uuid::Uuid::from_u64_pair(hi, lo);
    id.hyphenated().to_string()
}

fn user(i: usize, now: OffsetDateTime) -> StoredResource {
    let attributes = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": format!("user{i}@example.com"),
        "externalId": format!("00u{i:017}"),
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{i}")},
        "displayName": format!("Given{i} Family{i}"),
        "active": true,
        "emails": [
            {"value": format!("user{i}@work.example.com"), "type": "work", "primary": true},
            {"value": format!("user{i}@home.example.org"), "type": "home"},
        ],
    });
    StoredResource {
        kind: ResourceKind::User,
        id: user_id(i),
        version: 1,
        created: now,
        last_modified: now,
        attributes: attributes.as_object().cloned().unwrap_or_default(),
        vendor_keys: json!({"vendorId": format!("v{i}")}),
    }
}

async fn seed(opened: &Opened, backend: Backend, users: usize) -> Result<()> {
    // SQLite runs one writer at a time; PostgreSQL takes several loads at once.
    let parallel = match backend {
        Backend::Sqlite => 1,
        Backend::Postgres => 4,
    };
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    let mut done = 0;
    let mut next_report = 100_000;
    for start in (0..users).step_by(CHUNK) {
        if tasks.len() >= parallel {
            done += join_one(&mut tasks).await?;
        }
        let opened = opened.clone();
        tasks.spawn(async move {
            let now = OffsetDateTime::now_utc();
            let chunk: Vec<StoredResource> = (start..(start + CHUNK).min(users))
                .map(|i| user(i, now))
                .collect();
            opened.load(&chunk).await?;
            Ok(chunk.len())
        });
        if done >= next_report {
            let rate = done as f64 / started.elapsed().as_secs_f64();
            println!("  seeded {done} users ({rate:.0}/s)");
            next_report += 100_000;
        }
    }
    while !tasks.is_empty() {
        done += join_one(&mut tasks).await?;
    }
    let elapsed = started.elapsed();
    println!(
        "seeded {done} users in {:.1} s ({:.0}/s)",
        elapsed.as_secs_f64(),
        done as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

async fn join_one(tasks: &mut JoinSet<Result<usize>>) -> Result<usize> {
    match tasks.join_next().await {
        Some(joined) => joined?,
        None => Ok(0),
    }
}

/// Latencies of one measurement.
struct Samples {
    what: String,
    values: Vec<Duration>,
}

impl Samples {
    fn new(what: impl Into<String>) -> Samples {
        Samples {
            what: what.into(),
            values: Vec::new(),
        }
    }

    fn print(&mut self) {
        self.values.sort();
        let n = self.values.len();
        if n == 0 {
            println!("{:<46} no samples", self.what);
            return;
        }
        let at = |p: usize| self.values[(n * p / 100).min(n - 1)];
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!(
            "{:<46} n={n:<5} p50={:>9.3} ms  p99={:>9.3} ms  max={:>9.3} ms",
            self.what,
            ms(at(50)),
            ms(at(99)),
            ms(self.values[n - 1]),
        );
    }
}

/// A spread of user numbers across the store, the same on every run.
fn sample_users(users: usize, n: usize) -> impl Iterator<Item = usize> {
    (0..n).map(move |k| (k * 7919 + k * k * 104_729) % users)
}

fn schema() -> Result<ResourceSchema> {
    Ok(SchemaRegistry::standard()
        .resource_schema("User")
        .ok_or("no User schema")?)
}

async fn list(
    store: &dyn Store,
    schema: &ResourceSchema,
    filter: Option<&Filter>,
    offset: usize,
    limit: usize,
) -> Result<store::Page> {
    Ok(store
        .list(
            CONNECTOR,
            ResourceKind::User,
            ListQuery {
                filter,
                schema,
                sort: None::<(&scim::AttrPath, SortOrder)>,
                offset,
                limit,
            },
        )
        .await?)
}

async fn measure_lookups(store: &dyn Store, users: usize) -> Result<()> {
    let schema = schema()?;
    let mut find = Samples::new("find_by_unique_key(userName)");
    let mut get = Samples::new("get(id)");
    let mut by_name = Samples::new("list userName eq");
    let mut by_external = Samples::new("list externalId eq");
    let mut by_email = Samples::new("list emails[type eq \"work\"].value eq");
    for i in sample_users(users, SAMPLES) {
        let name = format!("USER{i}@example.com");
        let started = Instant::now();
        let found = store
            .find_by_unique_key(CONNECTOR, ResourceKind::User, &name)
            .await?;
        find.values.push(started.elapsed());
        if found.as_deref() != Some(user_id(i).as_str()) {
            return Err(format!("userName {name} not found").into());
        }

        let id = user_id(i);
        let started = Instant::now();
        let got = store.get(CONNECTOR, ResourceKind::User, &id).await?;
        get.values.push(started.elapsed());
        if got.is_none() {
            return Err(format!("user {id} not found").into());
        }

        for (samples, filter) in [
            (
                &mut by_name,
                format!(r#"userName eq "user{i}@example.com""#),
            ),
            (&mut by_external, format!(r#"externalId eq "00u{i:017}""#)),
            (
                &mut by_email,
                format!(r#"emails[type eq "work"].value eq "USER{i}@work.example.com""#),
            ),
        ] {
            let filter = Filter::parse(&filter)?;
            let started = Instant::now();
            let page = list(store, &schema, Some(&filter), 0, 100).await?;
            samples.values.push(started.elapsed());
            if page.total != 1 || page.resources[0].id != id {
                return Err(format!("{filter:?} found {} users", page.total).into());
            }
        }
    }
    for samples in [
        &mut find,
        &mut get,
        &mut by_name,
        &mut by_external,
        &mut by_email,
    ] {
        samples.print();
    }
    Ok(())
}

/// Walks every page of [`PAGE`] users, as an identity provider imports, timing each page.
async fn measure_walk(opened: &Opened, users: usize) -> Result<()> {
    let store = opened.store();
    let schema = schema()?;
    let pages = users.div_ceil(PAGE);
    let middle = pages / 2;
    let middle_range = middle.saturating_sub(PAGES_PER_PART / 2)..middle + PAGES_PER_PART / 2;
    let mut first = Samples::new(format!("walk: first {PAGES_PER_PART} pages"));
    let mut around_middle = Samples::new(format!("walk: {PAGES_PER_PART} pages around the middle"));
    let mut last = Samples::new(format!("walk: last {PAGES_PER_PART} pages"));
    let mut all = Samples::new("walk: every page");
    let before = opened.stats();
    let started = Instant::now();
    let mut seen = 0;
    let mut previous_last: Option<String> = None;
    for page_number in 0..pages {
        if started.elapsed() > WALK_BUDGET {
            println!("walk stopped after {page_number} pages: over its time budget");
            break;
        }
        let page_started = Instant::now();
        let page = list(store, &schema, None, page_number * PAGE, PAGE).await?;
        let elapsed = page_started.elapsed();
        if page.total != users {
            return Err(format!("total {} on page {page_number}", page.total).into());
        }
        if page.resources.first().map(|r| &r.id) == previous_last.as_ref() {
            return Err(format!("page {page_number} repeats a user").into());
        }
        previous_last = page.resources.last().map(|r| r.id.clone());
        seen += page.resources.len();
        all.values.push(elapsed);
        if page_number < PAGES_PER_PART {
            first.values.push(elapsed);
        }
        if middle_range.contains(&page_number) {
            around_middle.values.push(elapsed);
        }
        if page_number + PAGES_PER_PART >= pages {
            last.values.push(elapsed);
        }
    }
    let walk_time = started.elapsed();
    let stats = opened.stats();
    for samples in [&mut first, &mut around_middle, &mut last, &mut all] {
        samples.print();
    }
    println!(
        "walk: {seen} users in {:.1} s; pages from anchors {}, by OFFSET {}",
        walk_time.as_secs_f64(),
        stats.keyset - before.keyset,
        stats.offset - before.offset
    );
    if seen != users && walk_time <= WALK_BUDGET {
        return Err(format!("the walk saw {seen} users of {users}").into());
    }
    Ok(())
}

/// Pages at deep offsets no walk reached: no anchor, read with OFFSET.
async fn measure_jumps(store: &dyn Store, users: usize) -> Result<()> {
    let schema = schema()?;
    let mut deep = Samples::new(format!("cold jump to offset in [{}, {})", users / 2, users));
    let started = Instant::now();
    for k in 0..JUMPS {
        if started.elapsed() > JUMP_BUDGET {
            break;
        }
        // Never a multiple of the page size, so never an anchor the walk left.
        let offset = users / 2 + (k * 9973 + 37) % (users / 2).max(1);
        let offset = if offset.is_multiple_of(PAGE) {
            offset + 1
        } else {
            offset
        };
        let page_started = Instant::now();
        list(store, &schema, None, offset.min(users - 1), PAGE).await?;
        deep.values.push(page_started.elapsed());
    }
    deep.print();
    Ok(())
}

async fn run(args: &Args, place: &Place) -> Result<()> {
    let opened = Opened::open(place).await?;
    seed(&opened, args.backend, args.users).await?;
    if let Place::Postgres { url, .. } = place {
        // What autovacuum does soon after a bulk load: planner statistics.
        let mut conn = sqlx::PgConnection::connect(url).await?;
        conn.execute("ANALYZE").await?;
        conn.close().await?;
    }
    println!(
        "measuring ({} samples per lookup, pages of {PAGE})",
        SAMPLES
    );
    measure_lookups(opened.store(), args.users).await?;
    measure_walk(&opened, args.users).await?;
    measure_jumps(opened.store(), args.users).await?;
    opened.store().close().await;
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = args()?;
    if args.users == 0 {
        return Err("--users must be at least 1".into());
    }
    println!(
        "backend {:?}, {} users, connector {CONNECTOR}",
        args.backend, args.users
    );
    let place = Place::create(&args).await?;
    let outcome = run(&args, &place).await;
    place.remove().await;
    outcome
}
