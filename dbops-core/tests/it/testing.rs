//! `TestDatabases`: template built exactly once under concurrency, isolated clones, cleanup.

use crate::support::{cluster, empty_databases, helper, is_helper, scalar_i64};
use async_trait::async_trait;
use dbops::{DatabaseUrl, SqlScripts, TempCluster, TemplateSetup, TestDatabases};

/// A setup step that records each time it runs in a ledger table of the `postgres` database (outside
/// the template, so clones do not copy it).
struct CountingSetup {
    tag: String,
}

#[async_trait]
impl TemplateSetup for CountingSetup {
    fn fingerprint(&self) -> String {
        format!("counting:{}", self.tag)
    }

    async fn apply(&self, url: &DatabaseUrl) -> dbops::Result<()> {
        let ledger = url.with_database("postgres").connect().await?;
        ledger
            .execute("INSERT INTO setup_ledger (tag) VALUES ($1)", &[&self.tag])
            .await
            .map_err(|e| dbops::Error::postgres("recording the setup run", e))?;
        // Slow enough that concurrent builders really overlap.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let client = url.connect().await?;
        client
            .batch_execute("CREATE TABLE riders (id int PRIMARY KEY, name text NOT NULL)")
            .await
            .map_err(|e| dbops::Error::postgres("creating riders", e))
    }
}

async fn build_and_clone(admin: DatabaseUrl, tag: String, clones: usize) {
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (admin, tag) = (admin.clone(), tag.clone());
        tasks.push(tokio::spawn(async move {
            let dbs = TestDatabases::builder(admin)
                .setup(CountingSetup { tag })
                .build()
                .await
                .unwrap();
            for _ in 0..clones {
                let db = dbs.create().await.unwrap();
                let client = db.connect().await.unwrap();
                assert_eq!(scalar_i64(&client, "SELECT count(*) FROM riders").await, 0);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn template_is_built_once_by_concurrent_processes_and_tasks() {
    if is_helper("template-builder") {
        let admin = DatabaseUrl::parse(&std::env::var("ADMIN_URL").unwrap()).unwrap();
        build_and_clone(admin, std::env::var("TAG").unwrap(), 2).await;
        println!("BUILT");
        return;
    }
    let cluster = TempCluster::start().await.unwrap();
    let admin = cluster.url();
    let client = admin.connect().await.unwrap();
    client
        .batch_execute("CREATE TABLE setup_ledger (tag text NOT NULL)")
        .await
        .unwrap();
    let tag = format!("t{}", std::process::id());

    let children: Vec<_> = (0..4)
        .map(|_| {
            helper(
                "testing::template_is_built_once_by_concurrent_processes_and_tasks",
                "template-builder",
                &[("ADMIN_URL", admin.expose()), ("TAG", tag.clone())],
            )
            .spawn()
            .unwrap()
        })
        .collect();
    build_and_clone(admin.clone(), tag.clone(), 2).await;
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("BUILT"));
    }
    let runs = scalar_i64(
        &client,
        &format!("SELECT count(*) FROM setup_ledger WHERE tag = '{tag}'"),
    )
    .await;
    assert_eq!(
        runs, 1,
        "the template setup ran {runs} times for 5 processes x 4 tasks"
    );

    // Every clone was dropped (the helpers' queued drops are flushed at their exit; ours run in the
    // background): only the template is left.
    let mut left = -1;
    for _ in 0..300 {
        left = scalar_i64(
            &client,
            "SELECT count(*) FROM pg_database WHERE datname NOT IN ('postgres', 'template0', 'template1') AND NOT datistemplate",
        )
        .await;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(left, 0, "clones left behind");
}

#[tokio::test]
async fn clones_are_isolated_from_each_other_and_the_template() {
    let cluster = cluster().await;
    let dbs = TestDatabases::on_cluster(cluster)
        .setup(SqlScripts::new().script(
            "schema",
            "CREATE TABLE rides (id serial PRIMARY KEY, fare int NOT NULL); INSERT INTO rides (fare) VALUES (100)",
        ))
        .build()
        .await
        .unwrap();
    let a = dbs.create().await.unwrap();
    let b = dbs.create().await.unwrap();
    assert_ne!(a.name(), b.name());
    let ca = a.connect().await.unwrap();
    let cb = b.connect().await.unwrap();
    ca.batch_execute("INSERT INTO rides (fare) VALUES (200), (300); DROP TABLE IF EXISTS nothing")
        .await
        .unwrap();
    assert_eq!(scalar_i64(&ca, "SELECT count(*) FROM rides").await, 3);
    assert_eq!(scalar_i64(&cb, "SELECT count(*) FROM rides").await, 1);
    let c = dbs.create().await.unwrap();
    let cc = c.connect().await.unwrap();
    assert_eq!(
        scalar_i64(&cc, "SELECT count(*) FROM rides").await,
        1,
        "a later clone saw a clone's writes"
    );
}

#[tokio::test]
async fn dropped_clones_disappear() {
    let dbs = empty_databases().await;
    let admin = cluster().await.url().connect().await.unwrap();
    let db = dbs.create().await.unwrap();
    let name = db.name().to_string();
    let _held_open = db.connect().await.unwrap();
    db.drop_now().await.unwrap();
    let exists = scalar_i64(
        &admin,
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    )
    .await;
    assert_eq!(exists, 0);

    let db = dbs.create().await.unwrap();
    let name = db.name().to_string();
    drop(db); // background janitor
    let mut gone = false;
    for _ in 0..200 {
        let n = scalar_i64(
            &admin,
            &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
        )
        .await;
        if n == 0 {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(gone, "database {name} not dropped in the background");
}

#[tokio::test]
async fn failing_setup_names_the_script_and_leaves_no_template() {
    let cluster = cluster().await;
    let err = TestDatabases::on_cluster(cluster)
        .setup(SqlScripts::new().script("002_broken.sql", "CREATE TABLE ok (id int); SELEC 1"))
        .build()
        .await
        .unwrap_err();
    let text = dbops::error::report(&err);
    assert!(text.contains("002_broken.sql"), "{text}");
    let again = TestDatabases::on_cluster(cluster)
        .setup(SqlScripts::new().script("002_broken.sql", "CREATE TABLE ok (id int); SELEC 1"))
        .build()
        .await;
    assert!(
        again.is_err(),
        "a broken setup produced a usable template on retry"
    );
}

#[tokio::test]
async fn spares_are_prepared_in_the_background_and_dropped_at_exit() {
    if is_helper("spares-owner") {
        let admin = DatabaseUrl::parse(&std::env::var("ADMIN_URL").unwrap()).unwrap();
        let dbs = TestDatabases::builder(admin.clone())
            .prefix("spare")
            .spares(3)
            .build()
            .await
            .unwrap();
        let db = dbs.create().await.unwrap();
        let client = admin.connect().await.unwrap();
        // Wait until the pool holds 3 spares besides the handed-out clone.
        for _ in 0..500 {
            let n = scalar_i64(
                &client,
                "SELECT count(*) FROM pg_database WHERE datname LIKE 'spare\\_t\\_%'",
            )
            .await;
            if n == 4 {
                println!("SPARES 4");
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        std::mem::forget(db); // leaked on purpose: only the next build's stale-clone sweep removes it
        std::process::exit(0);
    }
    let cluster = cluster().await;
    let admin = cluster.url();
    let out = helper(
        "testing::spares_are_prepared_in_the_background_and_dropped_at_exit",
        "spares-owner",
        &[("ADMIN_URL", admin.expose())],
    )
    .output()
    .unwrap();
    assert!(out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("SPARES 4"),
        "spares never got ready"
    );
    let client = admin.connect().await.unwrap();
    let left = scalar_i64(
        &client,
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'spare\\_t\\_%'",
    )
    .await;
    assert_eq!(
        left, 1,
        "the 3 spares must be dropped at exit; only the leaked clone remains"
    );
    // The next build sweeps the clone of the dead process.
    let _dbs = TestDatabases::builder(admin)
        .prefix("spare")
        .spares(0)
        .build()
        .await
        .unwrap();
    let left = scalar_i64(
        &client,
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'spare\\_t\\_%'",
    )
    .await;
    assert_eq!(left, 0, "stale clone not swept");
}
