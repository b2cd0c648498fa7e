//! Quick start: the main job of dbops on the embedded default.
//!
//! With no `DATABASE_URL`, it starts a throwaway PostgreSQL cluster from the local server binaries,
//! clones a fresh database from a template, writes and reads it, and removes everything at exit.
//!
//! Run: `cargo run --example quickstart`

use std::time::Instant;

use dbops::{DatabaseUrl, SqlScripts, TempCluster, TestDatabases};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let (_cluster, admin) = match DatabaseUrl::from_env()? {
        Some(url) => {
            println!("using DATABASE_URL {url}");
            (None, url)
        }
        None => {
            let cluster = TempCluster::start().await?;
            println!(
                "started an embedded PostgreSQL {} in {:?} at {}",
                cluster.binaries().version(),
                started.elapsed(),
                cluster.url()
            );
            let url = cluster.url();
            (Some(cluster), url)
        }
    };

    let schema = SqlScripts::new().script(
        "schema",
        "CREATE TABLE riders (id bigserial PRIMARY KEY, name text NOT NULL);
         INSERT INTO riders (name) VALUES ('Ada'), ('Grace');",
    );
    let databases = TestDatabases::builder(admin).setup(schema).build().await?;
    let clone_started = Instant::now();
    let db = databases.create().await?;
    let client = db.connect().await?;
    println!(
        "cloned database {} in {:?}",
        db.name(),
        clone_started.elapsed()
    );
    let riders: i64 = client
        .query_one("SELECT count(*) FROM riders", &[])
        .await?
        .get(0);
    println!("riders in the fresh database: {riders}");
    Ok(())
}
