//! The loading connections of a parallel `tables` restore and the work they share: every table's
//! rows (those with the most waiting on them first: see [`load_order`]), each loaded table's own
//! indexes and constraints as soon as its rows are in (ahead of further loads), its ANALYZE once
//! those are built, and each foreign key between loaded tables as soon as both of its tables are
//! complete — while other tables still load, instead of after all of them. Two foreign keys that lock
//! a common table never run at once (like `pg_restore --jobs`, which keeps such entries apart): each
//! locks both of its tables, so two could deadlock. Two builds of one table run at once only when
//! both merely create indexes (a `SHARE` lock each): a constraint's `ALTER TABLE` locks the table
//! exclusively, so a build that would wait for a running one stays queued and the connection takes
//! other work (usually the next table's rows) instead of waiting on the server.
//! The restore keeps at most one server process per connection busy: a statement gets parallel
//! workers only for connections left idle (see [`ParallelWorkers`]).

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::Notify;

use super::RestoreOptions;
use super::masking::RestoreMasking;
use super::post_data::{ForeignKey, PostDataSplit, only_creates_indexes};
use super::statement_settings::{ParallelWorkers, merge_validates, validated_by_merge};
use super::tables::{LOAD_SETTINGS, Loaded, load_table};
use crate::backup::{Manifest, TableObject};
use crate::config::DatabaseUrl;
use crate::error::{Error, Result};
use crate::progress::{self, ProgressUnit};
use crate::storage::BackupStore;

/// Work for a loading connection.
enum Task<'a> {
    /// Stream a table's rows in.
    Load(&'a TableObject),
    /// Build one of a loaded table's indexes or constraints.
    Build(&'a TableObject, Build),
    /// Add a foreign key whose tables are both complete.
    ForeignKey(ForeignKey),
}

/// One index or constraint of a loaded table.
struct Build {
    /// Its SQL.
    sql: String,
    /// Whether it only creates indexes: see [`only_creates_indexes`].
    shares_table: bool,
}

/// The builds running on one table.
#[derive(Default)]
struct RunningBuilds {
    /// How many.
    count: usize,
    /// Whether one of them locks the table against all others.
    exclusive: bool,
}

/// What the loading connections share, under one lock.
#[derive(Default)]
struct Schedule<'a> {
    /// The tasks to take: the tables in [`load_order`]; a loaded table's builds and the foreign keys a
    /// completed table made ready go to the front.
    queue: VecDeque<Task<'a>>,
    /// How many builds each loaded table still waits for.
    pending: HashMap<String, usize>,
    /// Foreign keys waiting for their tables to complete.
    waiting_keys: Vec<ForeignKey>,
    /// Tables whose rows, indexes, constraints (and statistics, when analyzed here) are in.
    complete: HashSet<String>,
    /// The tables of the foreign keys being added.
    locked: HashSet<String>,
    /// The builds running, by table (a table is listed only while one of its builds runs).
    building: HashMap<String, RunningBuilds>,
    /// Tasks taken and not yet finished: each may still queue more.
    running: usize,
}

impl<'a> Schedule<'a> {
    /// Takes the first task that may run now: anything but a foreign key on a locked table or a
    /// build whose lock conflicts with a running build of its table.
    fn take(&mut self) -> Option<Task<'a>> {
        let at = self.queue.iter().position(|task| match task {
            Task::ForeignKey(key) => {
                !self.locked.contains(&key.table) && !self.locked.contains(&key.referenced)
            }
            Task::Build(part, build) => self.may_build(&part.qualified(), build),
            Task::Load(_) => true,
        })?;
        let task = self.queue.remove(at)?;
        match &task {
            Task::ForeignKey(key) => {
                self.locked.insert(key.table.clone());
                self.locked.insert(key.referenced.clone());
            }
            Task::Build(part, build) => {
                let running = self.building.entry(part.qualified()).or_default();
                running.count += 1;
                running.exclusive |= !build.shares_table;
            }
            Task::Load(_) => {}
        }
        self.running += 1;
        Some(task)
    }

    /// Whether `build` of `table` may start beside the builds of it running now.
    fn may_build(&self, table: &str, build: &Build) -> bool {
        self.building
            .get(table)
            .is_none_or(|running| build.shares_table && !running.exclusive)
    }

    /// A build of `table` finished.
    fn build_done(&mut self, table: &str) {
        if let Some(running) = self.building.get_mut(table) {
            running.count = running.count.saturating_sub(1);
            if running.count == 0 {
                self.building.remove(table);
            }
        }
    }
}

/// The shared work of the loading connections, and whether one of them failed (the others then stop
/// taking tasks).
pub(super) struct Pipeline<'a> {
    schedule: Mutex<Schedule<'a>>,
    /// Signalled when a task finishes or a connection fails: waiting connections look again.
    changed: Notify,
    failed: AtomicBool,
    split: Option<Mutex<PostDataSplit>>,
    analyze: bool,
    /// The quoted name of each loaded table, by `schema.name`.
    tables: HashMap<String, String>,
}

impl<'a> Pipeline<'a> {
    /// The tables of `manifest`, with the early post-data entries of `split` (none without one).
    pub(super) fn new(
        manifest: &'a Manifest,
        mut split: Option<PostDataSplit>,
        analyze: bool,
    ) -> Self {
        let waiting_keys = split
            .as_mut()
            .map(PostDataSplit::take_foreign_keys)
            .unwrap_or_default();
        let schedule = Schedule {
            queue: load_order(&manifest.parts, &waiting_keys)
                .into_iter()
                .map(Task::Load)
                .collect(),
            waiting_keys,
            ..Schedule::default()
        };
        Self {
            schedule: Mutex::new(schedule),
            changed: Notify::new(),
            failed: AtomicBool::new(false),
            split: split.map(Mutex::new),
            analyze,
            tables: manifest
                .parts
                .iter()
                .map(|p| (p.qualified(), p.sql_name()))
                .collect(),
        }
    }

    /// The next task, with the number of tasks running now (itself included); waits while only
    /// locked foreign keys are queued or the queue is empty but tasks still running may queue more.
    /// `None` once all is done or a connection failed.
    async fn next(&self) -> Option<(Task<'a>, usize)> {
        loop {
            let changed = self.changed.notified();
            {
                if self.failed.load(Ordering::Relaxed) {
                    return None;
                }
                let mut schedule = lock(&self.schedule);
                if let Some(task) = schedule.take() {
                    return Some((task, schedule.running));
                }
                if schedule.running == 0 {
                    return None;
                }
            }
            changed.await;
        }
    }

    /// A task taken by [`Pipeline::next`] is finished, with what it queued.
    fn finished(&self) {
        let mut schedule = lock(&self.schedule);
        schedule.running = schedule.running.saturating_sub(1);
        drop(schedule);
        self.changed.notify_waiters();
    }

    /// The quoted name of the loaded table `qualified` (`schema.name`).
    fn table_sql(&self, qualified: &str) -> Option<String> {
        self.tables.get(qualified).cloned()
    }

    /// Whether `part` is analyzed here once complete (not when its statistics need more).
    fn analyze_now(&self, part: &TableObject) -> bool {
        self.analyze
            && self
                .split
                .as_ref()
                .is_some_and(|split| lock(split).analyze_now(&part.qualified()))
    }

    /// After `part` is loaded: queues its builds first; whether it is complete (none to build).
    fn loaded(&self, part: &'a TableObject) -> bool {
        let Some(split) = &self.split else {
            return false;
        };
        let builds = lock(split).take(&part.qualified());
        if builds.is_empty() {
            return true;
        }
        let mut schedule = lock(&self.schedule);
        schedule.pending.insert(part.qualified(), builds.len());
        for sql in builds.into_iter().rev() {
            let shares_table = only_creates_indexes(&sql);
            schedule
                .queue
                .push_front(Task::Build(part, Build { sql, shares_table }));
        }
        false
    }

    /// After one of `part`'s builds: whether it was the last.
    fn built(&self, part: &TableObject) -> bool {
        let mut schedule = lock(&self.schedule);
        schedule.build_done(&part.qualified());
        let left = schedule.pending.entry(part.qualified()).or_insert(1);
        *left = left.saturating_sub(1);
        *left == 0
    }

    /// `part` is complete: queues (first) the foreign keys whose tables now all are.
    fn completed(&self, part: &TableObject) {
        let mut schedule = lock(&self.schedule);
        schedule.complete.insert(part.qualified());
        let (ready, waiting): (Vec<ForeignKey>, Vec<ForeignKey>) =
            std::mem::take(&mut schedule.waiting_keys)
                .into_iter()
                .partition(|key| {
                    schedule.complete.contains(&key.table)
                        && schedule.complete.contains(&key.referenced)
                });
        schedule.waiting_keys = waiting;
        for key in ready.into_iter().rev() {
            schedule.queue.push_front(Task::ForeignKey(key));
        }
    }

    /// `key` is added: its tables are free for the next foreign key.
    fn key_added(&self, key: &ForeignKey) {
        let mut schedule = lock(&self.schedule);
        schedule.locked.remove(&key.table);
        schedule.locked.remove(&key.referenced);
    }

    /// Runs the queue on `jobs` connections.
    pub(super) async fn run(
        &self,
        store: &dyn BackupStore,
        manifest: &Manifest,
        target: &DatabaseUrl,
        options: &RestoreOptions,
        masking: &RestoreMasking,
        jobs: usize,
    ) -> Result<Loaded> {
        let source = LoadSource {
            store,
            manifest,
            options,
            masking,
            total: manifest.parts.iter().map(|p| p.object.size).sum(),
            done: AtomicU64::new(0),
        };
        let worker = || async {
            let outcome = self.work(&source, target, jobs).await;
            if outcome.is_err() {
                self.failed.store(true, Ordering::Relaxed);
                self.changed.notify_waiters();
            }
            outcome
        };
        let results = futures::future::join_all((0..jobs).map(|_| worker())).await;
        let mut loaded = Loaded::default();
        for result in results {
            let part = result?;
            loaded.stored_bytes += part.stored_bytes;
            loaded.plaintext_bytes += part.plaintext_bytes;
            loaded.analyzed.extend(part.analyzed);
        }
        Ok(loaded)
    }

    /// One loading connection: takes tasks until none are left (or a connection failed).
    async fn work(
        &self,
        source: &LoadSource<'_>,
        target: &DatabaseUrl,
        jobs: usize,
    ) -> Result<Loaded> {
        let client = target.connect_for_work().await?;
        client
            .batch_execute(LOAD_SETTINGS)
            .await
            .map_err(|e| Error::postgres("setting up a loading connection", e))?;
        let workers = ParallelWorkers::of_server(&client).await?;
        let mut loaded = Loaded::default();
        while let Some((task, running)) = self.next().await {
            let spare = jobs.saturating_sub(running);
            let complete = match task {
                Task::Load(part) => {
                    self.load(&client, source, part, &mut loaded).await?;
                    self.loaded(part).then_some(part)
                }
                Task::Build(part, build) => {
                    let sql = workers.capped(spare, &build.sql);
                    client.batch_execute(&sql).await.map_err(|e| {
                        Error::postgres(
                            format!(
                                "creating an index or constraint of {} (post-data)",
                                part.qualified()
                            ),
                            e,
                        )
                    })?;
                    self.built(part).then_some(part)
                }
                Task::ForeignKey(key) => {
                    self.add_foreign_key(&client, &workers.capped(spare, &key.sql), &key)
                        .await?;
                    None
                }
            };
            if let Some(part) = complete {
                if self.analyze_now(part) {
                    client
                        .batch_execute(&format!("ANALYZE {}", part.sql_name()))
                        .await
                        .map_err(|e| {
                            Error::postgres(format!("analyzing {}", part.qualified()), e)
                        })?;
                    loaded.analyzed.push(part.qualified());
                }
                self.completed(part);
            }
            self.finished();
        }
        Ok(loaded)
    }

    /// Streams `part`'s rows in on `client`, counting its bytes into `loaded` and the progress.
    async fn load(
        &self,
        client: &tokio_postgres::Client,
        source: &LoadSource<'_>,
        part: &TableObject,
        loaded: &mut Loaded,
    ) -> Result<()> {
        let decoded = load_table(
            client,
            source.store,
            source.manifest,
            part,
            source.options,
            source.masking,
            true,
        )
        .await?;
        loaded.stored_bytes += decoded.stored_bytes;
        loaded.plaintext_bytes += decoded.plaintext_bytes;
        let so_far = source
            .done
            .fetch_add(decoded.stored_bytes, Ordering::Relaxed);
        progress::report(
            source.options.progress.as_ref(),
            "restoring",
            so_far + decoded.stored_bytes,
            Some(source.total),
            ProgressUnit::Bytes,
        );
        Ok(())
    }

    /// Adds `key` with `sql` (its statement, workers capped), validated by merging indexes when it
    /// can be (see [`merge_validates`]); its tables are then free for the next key.
    async fn add_foreign_key(
        &self,
        client: &tokio_postgres::Client,
        sql: &str,
        key: &ForeignKey,
    ) -> Result<()> {
        let merge = match self.table_sql(&key.table) {
            Some(table) => merge_validates(client, &table, key).await?,
            None => false,
        };
        client
            .batch_execute(&validated_by_merge(merge, sql))
            .await
            .map_err(|e| {
                Error::postgres(
                    format!(
                        "adding the foreign key {} of {} (post-data)",
                        key.name, key.table
                    ),
                    e,
                )
            })?;
        self.key_added(key);
        Ok(())
    }
}

/// Where the loading connections read the tables from, and their progress.
struct LoadSource<'s> {
    store: &'s dyn BackupStore,
    manifest: &'s Manifest,
    options: &'s RestoreOptions,
    masking: &'s RestoreMasking,
    /// Stored bytes of all tables.
    total: u64,
    /// Stored bytes loaded so far.
    done: AtomicU64,
}

/// The tables in the order they are loaded: by what waits on each, most first — its own rows plus
/// the rows of the tables whose foreign keys reference it (those keys can only be added once it is
/// complete). Largest first alone would leave a small table that a large one references (a lookup
/// table, the users) to the end, and every foreign key to it behind that, on one connection.
fn load_order<'a>(parts: &'a [TableObject], keys: &[ForeignKey]) -> Vec<&'a TableObject> {
    let size: HashMap<String, u64> = parts
        .iter()
        .map(|p| (p.qualified(), p.object.plaintext_size))
        .collect();
    let mut waiting: HashMap<&str, HashSet<&str>> = HashMap::new();
    for key in keys.iter().filter(|k| k.table != k.referenced) {
        waiting
            .entry(key.referenced.as_str())
            .or_default()
            .insert(key.table.as_str());
    }
    let weight = |part: &TableObject| {
        let name = part.qualified();
        let dependents = waiting.get(name.as_str()).map_or(0, |tables| {
            tables
                .iter()
                .map(|t| size.get(*t).copied().unwrap_or(0))
                .sum()
        });
        part.object.plaintext_size + dependents
    };
    let mut order: Vec<&TableObject> = parts.iter().collect();
    order.sort_by_cached_key(|p| std::cmp::Reverse(weight(p)));
    order
}

/// The guarded value, also after a panic elsewhere (the schedule stays consistent: every change is
/// made under one lock).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{CopyFormat, StoredObject};

    fn table(name: &str, plaintext_size: u64) -> TableObject {
        TableObject {
            schema: "public".into(),
            name: name.into(),
            columns: Vec::new(),
            rows: 0,
            object: StoredObject {
                key: format!("{name}.zst"),
                size: 0,
                sha256: String::new(),
                plaintext_size,
                plaintext_sha256: String::new(),
            },
            format: CopyFormat::default(),
        }
    }

    fn key(table: &str, referenced: &str) -> ForeignKey {
        ForeignKey {
            table: format!("public.{table}"),
            referenced: format!("public.{referenced}"),
            name: format!("{table}_{referenced}_fkey"),
            columns: vec![format!("{referenced}_id")],
            sql: String::new(),
        }
    }

    fn names(order: Vec<&TableObject>) -> Vec<&str> {
        order.into_iter().map(|t| t.name.as_str()).collect()
    }

    fn build<'a>(part: &'a TableObject, sql: &str) -> Task<'a> {
        Task::Build(
            part,
            Build {
                sql: sql.to_string(),
                shares_table: only_creates_indexes(sql),
            },
        )
    }

    /// What `task` is, for comparing schedules.
    fn label(task: &Task<'_>) -> String {
        match task {
            Task::Load(part) => format!("load {}", part.name),
            Task::Build(_, build) => build.sql.clone(),
            Task::ForeignKey(key) => key.name.clone(),
        }
    }

    #[test]
    fn a_tables_constraint_runs_alone_its_index_builds_side_by_side() {
        let (rides, users) = (table("rides", 100), table("users", 10));
        const PKEY: &str =
            "ALTER TABLE ONLY public.rides ADD CONSTRAINT rides_pkey PRIMARY KEY (id);";
        const BY_DRIVER: &str =
            "CREATE INDEX rides_driver_idx ON public.rides USING btree (driver_id);";
        const BY_RIDER: &str =
            "CREATE INDEX rides_rider_idx ON public.rides USING btree (rider_id);";
        const UNIQUE: &str =
            "ALTER TABLE ONLY public.rides ADD CONSTRAINT rides_code_key UNIQUE (code);";
        let mut schedule = Schedule {
            queue: VecDeque::from([
                build(&rides, PKEY),
                build(&rides, BY_DRIVER),
                build(&rides, BY_RIDER),
                build(&rides, UNIQUE),
                Task::Load(&users),
            ]),
            ..Schedule::default()
        };
        let take = |schedule: &mut Schedule<'_>| schedule.take().as_ref().map(label);
        // The primary key locks rides: the second connection loads users instead of waiting.
        assert_eq!(take(&mut schedule).as_deref(), Some(PKEY));
        assert_eq!(take(&mut schedule).as_deref(), Some("load users"));
        assert_eq!(take(&mut schedule), None);
        schedule.build_done("public.rides");
        // Two index builds share the table; the unique constraint waits for both.
        assert_eq!(take(&mut schedule).as_deref(), Some(BY_DRIVER));
        assert_eq!(take(&mut schedule).as_deref(), Some(BY_RIDER));
        assert_eq!(take(&mut schedule), None);
        schedule.build_done("public.rides");
        assert_eq!(take(&mut schedule), None);
        schedule.build_done("public.rides");
        assert_eq!(take(&mut schedule).as_deref(), Some(UNIQUE));
        assert!(schedule.queue.is_empty());
    }

    #[test]
    fn without_foreign_keys_the_largest_table_loads_first() {
        let parts = [
            table("small", 10),
            table("large", 1000),
            table("middle", 100),
        ];
        assert_eq!(names(load_order(&parts, &[])), ["large", "middle", "small"]);
    }

    #[test]
    fn a_small_table_that_large_ones_reference_loads_before_them() {
        let parts = [
            table("locations", 1000),
            table("rides", 400),
            table("drivers", 5),
            table("notes", 50),
        ];
        let keys = [
            key("locations", "drivers"),
            key("locations", "rides"),
            key("rides", "drivers"),
            // A self-reference adds nothing to a table's weight.
            key("notes", "notes"),
        ];
        // rides: 400 + 1000, drivers: 5 + 1000 + 400, locations 1000, notes 50.
        assert_eq!(
            names(load_order(&parts, &keys)),
            ["drivers", "rides", "locations", "notes"]
        );
    }

    #[test]
    fn a_table_referenced_twice_by_one_table_counts_it_once() {
        let parts = [table("big", 100), table("users", 1), table("other", 150)];
        let keys = [key("big", "users"), key("big", "users")];
        // users: 1 + 100 (not 201), below other's 150.
        assert_eq!(names(load_order(&parts, &keys)), ["other", "users", "big"]);
    }
}
