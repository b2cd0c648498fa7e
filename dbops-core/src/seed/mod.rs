//! Seeding: the guide's light/medium/heavy data sets of the reference schema, deterministic, streamed
//! with binary COPY in one transaction; and plain SQL seed files.

mod bulk;
mod copy;
mod file;
mod generate;
mod profile;

use std::time::Instant;

use async_trait::async_trait;
use fixedbitset::FixedBitSet;
use futures::pin_mut;
use rand::Rng;
use serde::{Deserialize, Serialize};
use tokio_postgres::Transaction;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::{ToSql, Type};

pub use file::{FileReport, SqlFileSeed, run_sql_file};
pub use generate::{Bases, Generator, epoch};
pub use profile::{Counts, Profile};

use crate::config::DatabaseUrl;
use crate::error::{Error, Result};
use crate::progress::{Progress, ProgressUnit, report};
use copy::{Hundredths, Label};

/// What to do when the database already has data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Existing {
    /// Refuse (default).
    #[default]
    Refuse,
    /// Add the new rows after the existing ones.
    Append,
    /// Empty the seeded tables first.
    Truncate,
}

impl std::str::FromStr for Existing {
    type Err = Error;

    /// `refuse`, `append` or `truncate`.
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "refuse" => Ok(Existing::Refuse),
            "append" => Ok(Existing::Append),
            "truncate" => Ok(Existing::Truncate),
            other => Err(Error::config(
                "existing data",
                format!("`{other}` is not refuse, append or truncate"),
            )),
        }
    }
}

impl Existing {
    /// From the CLI's `--append` / `--truncate` switches (neither: refuse; both: an error).
    pub fn from_switches(append: bool, truncate: bool) -> Result<Self> {
        match (append, truncate) {
            (true, true) => Err(Error::config(
                "--append/--truncate",
                "give one of them: append adds to the existing rows, truncate replaces them",
            )),
            (true, false) => Ok(Existing::Append),
            (false, true) => Ok(Existing::Truncate),
            (false, false) => Ok(Existing::Refuse),
        }
    }
}

/// Options of a seed run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct SeedOptions {
    /// Multiplies the profile's counts. Default: 1.
    pub scale: u64,
    /// The random seed: the same profile, scale and seed give identical data. Default: 42.
    pub seed: u64,
    /// Behaviour on a non-empty database. Default: refuse.
    pub existing: Existing,
    /// ANALYZE the seeded tables afterwards, so queries on the new data are planned with statistics.
    /// Default: true.
    pub analyze: bool,
    /// Reports rows written per table (not serialized). Default: none.
    #[serde(skip)]
    pub progress: Option<Progress>,
}

crate::setters::with_setters!(SeedOptions {
    with_scale => scale: u64,
    with_seed => seed: u64,
    with_existing => existing: Existing,
    with_analyze => analyze: bool,
    with_progress => progress: opt Progress,
});

impl Default for SeedOptions {
    fn default() -> Self {
        Self {
            scale: 1,
            seed: 42,
            existing: Existing::Refuse,
            analyze: true,
            progress: None,
        }
    }
}

impl SeedOptions {
    /// Checks the options: a scale of at least 1.
    pub fn validate(&self) -> Result<()> {
        if self.scale == 0 {
            return Err(Error::config(
                "seed scale",
                "0 would seed nothing; use 1 (the profile as defined) or more",
            ));
        }
        Ok(())
    }
}

/// Rows written per table.
#[derive(Debug, Clone, Default, Serialize)]
#[non_exhaustive]
pub struct SeedReport {
    /// `(table, rows)` in write order.
    pub tables: Vec<(String, u64)>,
    /// All rows.
    pub rows: u64,
    /// Wall time in ms (ANALYZE included).
    pub elapsed_ms: f64,
    /// Of which ANALYZE took, in ms (none when skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analyze_ms: Option<f64>,
}

crate::setters::with_setters!(SeedReport {
    with_tables => tables: Vec<(String, u64)>,
    with_rows => rows: u64,
    with_elapsed_ms => elapsed_ms: f64,
    with_analyze_ms => analyze_ms: opt f64,
});

/// A data set written into a database: the reference schema's ride-hailing profiles
/// ([`ReferenceSeed`]), SQL files ([`SqlFileSeed`]), or a generator of your own for your schema.
/// Template setup (`dbops::testing::SeedStep`, feature `testing`) and `dbops::db::reset_with` take any
/// seeder.
///
/// ```
/// use dbops::seed::{SeedReport, Seeder};
/// use dbops::DatabaseUrl;
///
/// /// A thousand cities for the `cities` table of my schema.
/// struct Cities;
///
/// #[async_trait::async_trait]
/// impl Seeder for Cities {
///     fn fingerprint(&self) -> String {
///         "cities:v1".into()
///     }
///     async fn seed(&self, url: &DatabaseUrl) -> dbops::Result<SeedReport> {
///         let client = url.connect().await?;
///         let rows = client
///             .execute("INSERT INTO cities SELECT g, 'city ' || g FROM generate_series(1, 1000) g", &[])
///             .await
///             .map_err(|e| dbops::Error::postgres("seeding cities", e))?;
///         Ok(SeedReport::default().with_tables(vec![("cities".into(), rows)]).with_rows(rows))
///     }
/// }
/// ```
#[async_trait]
pub trait Seeder: Send + Sync {
    /// What this seeder writes: the same data gives the same string (it names the templates built
    /// with it, so a changed seed builds a new template).
    fn fingerprint(&self) -> String;
    /// Writes the data into the database at `url`, reporting rows per table (to the progress
    /// callback the seeder was given, if any).
    async fn seed(&self, url: &DatabaseUrl) -> Result<SeedReport>;
}

/// The reference schema's data: one of the guide's profiles, scaled, from a fixed random seed.
#[derive(Debug, Clone)]
pub struct ReferenceSeed {
    /// The profile.
    pub profile: Profile,
    /// Scale, random seed and what to do with existing data.
    pub options: SeedOptions,
}

impl ReferenceSeed {
    /// `profile` with default options.
    pub fn new(profile: Profile) -> Self {
        Self {
            profile,
            options: SeedOptions::default(),
        }
    }
}

#[async_trait]
impl Seeder for ReferenceSeed {
    fn fingerprint(&self) -> String {
        format!(
            "seed:{:?}:scale={}:seed={}:v{}",
            self.profile,
            self.options.scale,
            self.options.seed,
            env!("CARGO_PKG_VERSION")
        )
    }

    async fn seed(&self, url: &DatabaseUrl) -> Result<SeedReport> {
        seed_reference(url, self.profile, &self.options).await
    }
}

/// Seeds the reference profiles into one database; a cheap `Clone` handle (the short form of
/// [`ReferenceSeed`] for the CLI's `dbops seed PROFILE`).
///
/// ```no_run
/// # async fn demo(url: dbops::DatabaseUrl) -> dbops::Result<()> {
/// use dbops::{PgSeeder, Profile, SeedOptions};
///
/// // The database must hold the reference schema (the repository's migrations).
/// // Twice the profile's rows; the same seed gives the same rows every time.
/// let options = SeedOptions::default().with_scale(2).with_seed(7);
/// let report = PgSeeder::new(url).seed(Profile::Medium, &options).await?;
/// println!("{} rows in {:.0} ms", report.rows, report.elapsed_ms);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct PgSeeder {
    url: DatabaseUrl,
    progress: Option<Progress>,
}

const SEEDED_TABLES: &[&str] = &[
    "eta_predictions",
    "notifications",
    "driver_location_history",
    "referrals",
    "promo_redemptions",
    "wallet_transactions",
    "payments",
    "ratings",
    "rides",
    "promo_codes",
    "wallets",
    "vehicles",
    "drivers",
    "user_preferences",
    "users",
];

/// From this many rides (the heavy profile) on, a seed into empty tables drops the tables' foreign
/// keys and plain indexes and recreates them after COPY (see `bulk`); smaller loads keep them.
const BULK_LOAD_MIN_RIDES: u64 = 5_000;

impl PgSeeder {
    /// A seeder for the database at `url` (migrated to the reference schema).
    pub fn new(url: DatabaseUrl) -> Self {
        Self {
            url,
            progress: None,
        }
    }

    /// Reports rows written per table (used when the options have no progress callback).
    #[deprecated(note = "set `SeedOptions::with_progress`")]
    pub fn progress(mut self, progress: Progress) -> Self {
        self.progress = Some(progress);
        self
    }
}

impl PgSeeder {
    /// Writes `profile`'s data (see [`ReferenceSeed`]).
    pub async fn seed(&self, profile: Profile, options: &SeedOptions) -> Result<SeedReport> {
        if options.progress.is_none() && self.progress.is_some() {
            let options = SeedOptions {
                progress: self.progress.clone(),
                ..options.clone()
            };
            return seed_reference(&self.url, profile, &options).await;
        }
        seed_reference(&self.url, profile, options).await
    }
}

#[tracing::instrument(name = "seed", skip_all, fields(profile = ?profile, scale = options.scale))]
async fn seed_reference(
    url: &DatabaseUrl,
    profile: Profile,
    options: &SeedOptions,
) -> Result<SeedReport> {
    options.validate()?;
    let progress = options.progress.as_ref();
    let started = Instant::now();
    let mut client = url.connect_for_work().await?;
    let tx = client
        .transaction()
        .await
        .map_err(|e| Error::postgres("starting the seed transaction", e))?;
    check_seed_schema(&tx, profile).await?;
    let bases = existing_bases(&tx, profile, options.existing).await?;
    let generator = Generator::new(profile, options.scale, options.seed, bases);
    // Into empty tables, large loads build indexes and check foreign keys once, after COPY.
    let bulk = if bases.users == 0 && generator.counts.rides >= BULK_LOAD_MIN_RIDES {
        bulk::Suspended::suspend(&tx, SEEDED_TABLES).await?
    } else {
        None
    };
    let mut writer = Writer {
        tx: &tx,
        progress,
        report: SeedReport::default(),
    };
    write_all(&mut writer, &generator).await?;
    let mut report = writer.report;
    if let Some(bulk) = bulk {
        bulk.resume(&tx, progress).await?;
    }
    advance_id_sequences(&tx).await?;
    tx.commit()
        .await
        .map_err(|e| Error::postgres("committing the seed", e))?;
    if options.analyze {
        let seconds = crate::analyze::analyze_database(url, crate::analyze::default_jobs()).await?;
        report.analyze_ms = Some(seconds * 1000.0);
    }
    report.elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
    Ok(report)
}

/// Refuses to seed `profile` unless every seeded table exists.
async fn check_seed_schema(tx: &Transaction<'_>, profile: Profile) -> Result<()> {
    let missing: Option<String> = tx
        .query_one(
            "SELECT string_agg(t, ', ') FROM unnest($1::text[]) t WHERE to_regclass(t) IS NULL",
            &[&SEEDED_TABLES],
        )
        .await
        .map_err(|e| Error::postgres("checking the schema", e))?
        .get(0);
    if let Some(missing) = missing {
        return Err(Error::Refused {
            action: format!("seed the {profile:?} profile"),
            reason: format!(
                "tables {missing} do not exist; apply the reference migrations first (`dbops migrate up`)"
            ),
        });
    }
    Ok(())
}

/// What to do with existing users (`existing`): refuse, truncate the seeded tables, or return the
/// highest ids to append after (all zero on an empty database).
async fn existing_bases(
    tx: &Transaction<'_>,
    profile: Profile,
    existing: Existing,
) -> Result<Bases> {
    let users: i64 = tx
        .query_one("SELECT count(*) FROM users", &[])
        .await
        .map_err(|e| Error::postgres("counting users", e))?
        .get(0);
    let mut bases = Bases::default();
    if users > 0 {
        match existing {
            Existing::Refuse => {
                return Err(Error::Refused {
                    action: format!("seed the {profile:?} profile"),
                    reason: format!(
                        "the database already has {users} users; pass --append to add to them or --truncate to replace them"
                    ),
                });
            }
            Existing::Truncate => {
                tx.batch_execute(&format!(
                    "TRUNCATE {} RESTART IDENTITY CASCADE",
                    SEEDED_TABLES.join(", ")
                ))
                .await
                .map_err(|e| Error::postgres("truncating the seeded tables", e))?;
            }
            Existing::Append => {
                let row = tx
                        .query_one(
                            "SELECT (SELECT coalesce(max(id), 0) FROM users), (SELECT coalesce(max(id), 0) FROM vehicles),
                                    (SELECT coalesce(max(id), 0) FROM rides), (SELECT coalesce(max(id), 0) FROM promo_codes)",
                            &[],
                        )
                        .await
                        .map_err(|e| Error::postgres("reading the highest ids", e))?;
                bases = Bases {
                    users: row.get(0),
                    vehicles: row.get(1),
                    rides: row.get(2),
                    promos: row.get(3),
                };
            }
        }
    }
    Ok(bases)
}

/// Moves the id sequences past the highest ids written.
async fn advance_id_sequences(tx: &Transaction<'_>) -> Result<()> {
    tx.batch_execute(
            "SELECT setval(pg_get_serial_sequence(t, 'id'), greatest((SELECT coalesce(max(id), 0) FROM users), 1))
             FROM (VALUES ('users')) v(t);
             SELECT setval(pg_get_serial_sequence('vehicles', 'id'), greatest((SELECT coalesce(max(id), 0) FROM vehicles), 1));
             SELECT setval(pg_get_serial_sequence('rides', 'id'), greatest((SELECT coalesce(max(id), 0) FROM rides), 1));
             SELECT setval(pg_get_serial_sequence('promo_codes', 'id'), greatest((SELECT coalesce(max(id), 0) FROM promo_codes), 1));",
        )
        .await
        .map_err(|e| Error::postgres("advancing the id sequences", e))?;
    Ok(())
}

struct Writer<'a> {
    tx: &'a Transaction<'a>,
    progress: Option<&'a Progress>,
    report: SeedReport,
}

type Row = Vec<Box<dyn ToSql + Sync + Send>>;

impl Writer<'_> {
    /// Streams `count` rows into `table` with binary COPY; `row(i, &mut out)` fills one row.
    async fn copy(
        &mut self,
        table: &str,
        columns: &[&str],
        count: u64,
        mut row: impl FnMut(u64, &mut Row),
    ) -> Result<()> {
        let list = columns.join(", ");
        let probe = self
            .tx
            .prepare(&format!("SELECT {list} FROM {table} LIMIT 0"))
            .await
            .map_err(|e| Error::postgres(format!("reading the column types of {table}"), e))?;
        let types: Vec<Type> = probe.columns().iter().map(|c| c.type_().clone()).collect();
        let sink = self
            .tx
            .copy_in(&format!("COPY {table} ({list}) FROM STDIN (FORMAT binary)"))
            .await
            .map_err(|e| Error::postgres(format!("starting COPY into {table}"), e))?;
        let writer = BinaryCopyInWriter::new(sink, &types);
        pin_mut!(writer);
        let mut values: Row = Vec::with_capacity(columns.len());
        for i in 0..count {
            values.clear();
            row(i, &mut values);
            let refs: Vec<&(dyn ToSql + Sync)> = values
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                .collect();
            writer
                .as_mut()
                .write(&refs)
                .await
                .map_err(|e| Error::postgres(format!("writing row {} of {table}", i + 1), e))?;
            if i % 50_000 == 49_999 {
                report(self.progress, table, i + 1, Some(count), ProgressUnit::Rows);
            }
        }
        writer
            .finish()
            .await
            .map_err(|e| Error::postgres(format!("finishing COPY into {table}"), e))?;
        report(self.progress, table, count, Some(count), ProgressUnit::Rows);
        self.report.tables.push((table.to_string(), count));
        self.report.rows += count;
        Ok(())
    }
}

macro_rules! row {
    ($out:expr; $($v:expr),* $(,)?) => {{ $( $out.push(Box::new($v)); )* }};
}

/// Writes every seeded table, parents before children.
async fn write_all(w: &mut Writer<'_>, g: &Generator) -> Result<()> {
    let hash = password_hash(g)?;
    write_people(w, g, &hash).await?;
    // Wallet balances are the sums of their transactions: one pass over the rides computes them.
    // The same pass records which rides are completed, wallet-paid, tracked and predicted (one bit
    // each per ride; the tables below walk these sets in order).
    let pass = RidePass::over(g);
    write_wallets(w, g, &pass).await?;
    write_promo_codes(w, g).await?;
    write_rides(w, g).await?;
    write_ratings_and_payments(w, g, &pass).await?;
    let referred: Vec<u64> = (0..g.counts.riders)
        .filter(|r| g.referrer(*r).is_some())
        .collect();
    write_wallet_transactions(w, g, &pass, &referred).await?;
    write_referrals(w, g, &referred).await?;
    write_promo_redemptions(w, g).await?;
    write_locations(w, g, &pass).await?;
    write_notifications(w, g).await?;
    write_eta_predictions(w, g, &pass).await?;
    Ok(())
}

/// The users' password hash.
fn password_hash(g: &Generator) -> Result<String> {
    // One bcrypt hash of "password123" (cost 10), salted from the seed so runs are identical.
    let salt: [u8; 16] = g.rng(99, 0).random();
    let hash = bcrypt::hash_with_salt("password123", 10, salt)
        .map_err(|e| Error::config("password hash", e.to_string()))?
        .format_for_version(bcrypt::Version::TwoB);
    Ok(hash)
}

/// Users, their preferences, drivers and their vehicles.
async fn write_people(w: &mut Writer<'_>, g: &Generator, hash: &str) -> Result<()> {
    let c = g.counts;
    let users = g.users();
    w.copy("users", &["id", "public_id", "email", "phone", "full_name", "role", "status", "created_at", "updated_at", "password_hash"], users, |i, out| {
        let u = g.user(i);
        row!(out; u.id, u.public_id, u.email, u.phone, u.full_name, Label(u.role), Label("active"), u.created_at, u.created_at, hash.to_string());
    })
    .await?;
    w.copy("user_preferences", &["user_id", "language", "currency", "updated_at"], users, |i, out| {
        let u = g.user(i);
        row!(out; u.id, if i % 7 == 0 { "es" } else { "en" }.to_string(), "USD".to_string(), u.created_at);
    })
    .await?;
    w.copy("drivers", &["user_id", "license_number", "status", "rating", "total_trips", "current_lat", "current_lng", "approved_at", "created_at"], c.drivers, |i, out| {
        let u = g.user(c.riders + i);
        let mut rng = g.rng(6, i);
        let status = ["offline", "available", "available", "on_trip", "offline"][rng.random_range(0..5)];
        row!(out; u.id, format!("DL{:09}", u.id), Label(status), Hundredths(rng.random_range(420..=500)), rng.random_range(0..2000i32),
            rng.random_range(37.708..37.810f64), rng.random_range(-122.513..-122.370f64), Some(u.created_at + chrono::Duration::days(2)), u.created_at);
    })
    .await?;
    w.copy("vehicles", &["id", "driver_id", "make", "model", "year", "plate", "color", "class", "created_at"], c.drivers, |i, out| {
        let (make, model, year, plate, color, class) = g.vehicle(i);
        let u = g.user(c.riders + i);
        row!(out; g.bases.vehicles + i as i64 + 1, u.id, make.to_string(), model.to_string(), year, plate, color.to_string(), Label(class), u.created_at);
    })
    .await?;
    Ok(())
}

/// What one pass over the rides learns: wallet spending and driver earnings, and the sets of rides
/// that get payments, ratings, location points and predictions.
struct RidePass {
    /// Per rider: fares paid from the wallet.
    rider_spend: Vec<i64>,
    /// Per driver: shares of fares earned.
    driver_earn: Vec<i64>,
    /// Completed rides.
    completed: FixedBitSet,
    /// Completed rides paid from the wallet.
    wallet_paid: FixedBitSet,
    /// Rides with location points.
    tracked: FixedBitSet,
    /// Rides with an ETA prediction.
    predicted: FixedBitSet,
}

impl RidePass {
    /// Generates every ride once and records what the later tables need.
    fn over(g: &Generator) -> Self {
        let c = g.counts;
        let mut rider_spend = vec![0i64; c.riders as usize];
        let mut driver_earn = vec![0i64; c.drivers as usize];
        let set = || FixedBitSet::with_capacity(c.rides as usize);
        let (mut completed, mut wallet_paid, mut tracked, mut predicted) =
            (set(), set(), set(), set());
        for i in 0..c.rides {
            let r = g.ride(i);
            if r.status == "completed" {
                completed.insert(i as usize);
                if r.payment_method == "wallet" {
                    wallet_paid.insert(i as usize);
                }
            }
            if c.locations_per_ride > 0 && matches!(r.status, "completed" | "in_progress") {
                tracked.insert(i as usize);
            }
            if c.eta_predictions && r.status != "requested" {
                predicted.insert(i as usize);
            }
            if let Some(fare) = r.fare_cents {
                if r.payment_method == "wallet" {
                    rider_spend[(r.rider_id - g.rider_id(0)) as usize] += i64::from(fare);
                }
                if let Some(d) = r.driver_id {
                    driver_earn[(d - g.driver_id(0)) as usize] += Generator::driver_share(fare);
                }
            }
        }
        Self {
            rider_spend,
            driver_earn,
            completed,
            wallet_paid,
            tracked,
            predicted,
        }
    }
}

/// Wallets of riders and drivers, their balances the sums of their transactions.
async fn write_wallets(w: &mut Writer<'_>, g: &Generator, pass: &RidePass) -> Result<()> {
    let c = g.counts;
    let mut referral_bonus = vec![0i64; c.riders as usize];
    for r in 0..c.riders {
        if let Some(referrer) = g.referrer(r) {
            referral_bonus[(referrer - g.rider_id(0)) as usize] += 500;
        }
    }
    let balance = |user_index: u64| -> i64 {
        if user_index < c.riders {
            let r = user_index as usize;
            g.top_up(user_index, pass.rider_spend[r]) - pass.rider_spend[r] + referral_bonus[r]
        } else {
            pass.driver_earn[(user_index - c.riders) as usize]
        }
    };
    let wallet_owners = c.riders + c.drivers;
    w.copy(
        "wallets",
        &["user_id", "balance_cents", "currency", "updated_at"],
        wallet_owners,
        |i, out| {
            row!(out; g.user(i).id, balance(i), "USD".to_string(), epoch());
        },
    )
    .await?;
    Ok(())
}

/// Promo codes (profiles with any).
async fn write_promo_codes(w: &mut Writer<'_>, g: &Generator) -> Result<()> {
    let c = g.counts;
    if c.promo_codes > 0 {
        w.copy("promo_codes", &["id", "code", "description", "discount_percent", "discount_cents", "max_redemptions", "valid_from", "valid_until", "created_at"], c.promo_codes, |i, out| {
            let id = g.bases.promos + i as i64 + 1;
            let percent = (i % 2 == 0).then_some((5 + (i % 4) * 5) as i16);
            let cents = (i % 2 == 1).then_some(300 + (i % 5) as i32 * 100);
            row!(out; id, format!("RIDE{id:04}"), Some(format!("{} off", percent.map_or_else(|| format!("${}", cents.unwrap_or(0) / 100), |p| format!("{p}%")))),
                percent, cents, Some(1000i32), epoch() - chrono::Duration::days(200), Some(epoch() + chrono::Duration::days(90)), epoch() - chrono::Duration::days(200));
        })
        .await?;
    }
    Ok(())
}

/// The rides.
async fn write_rides(w: &mut Writer<'_>, g: &Generator) -> Result<()> {
    let c = g.counts;
    w.copy("rides", &["id", "public_id", "rider_id", "driver_id", "vehicle_id", "status", "pickup_lat", "pickup_lng", "dropoff_lat", "dropoff_lng",
        "distance_km", "fare_cents", "currency", "requested_at", "accepted_at", "started_at", "completed_at", "cancelled_at", "cancel_reason"], c.rides, |i, out| {
        let r = g.ride(i);
        row!(out; r.id, r.public_id, r.rider_id, r.driver_id, r.vehicle_id, Label(r.status), r.pickup.0, r.pickup.1, r.dropoff.0, r.dropoff.1,
            Hundredths(r.distance_hundredths), r.fare_cents, "USD".to_string(), r.requested_at, r.accepted_at, r.started_at, r.completed_at, r.cancelled_at,
            r.cancel_reason.map(str::to_string));
    })
    .await?;
    Ok(())
}

/// A rating and a payment per completed ride.
async fn write_ratings_and_payments(
    w: &mut Writer<'_>,
    g: &Generator,
    pass: &RidePass,
) -> Result<()> {
    let completed_count = pass.completed.count_ones(..) as u64;
    let mut rides = pass.completed.ones();
    w.copy("ratings", &["ride_id", "rater_id", "ratee_id", "stars", "created_at"], completed_count, |_, out| {
        let r = g.ride(rides.next().unwrap_or_default() as u64);
        let done = r.completed_at.unwrap_or(r.requested_at);
        row!(out; r.id, r.rider_id, r.driver_id.unwrap_or(r.rider_id), r.stars, done + chrono::Duration::minutes(3));
    })
    .await?;
    let mut rides = pass.completed.ones();
    w.copy("payments", &["ride_id", "payer_id", "method", "status", "amount_cents", "currency", "provider_ref", "created_at", "captured_at"], completed_count, |_, out| {
        let r = g.ride(rides.next().unwrap_or_default() as u64);
        let done = r.completed_at.unwrap_or(r.requested_at);
        let reference = (r.payment_method == "card").then(|| format!("ch_{}", r.public_id.simple()));
        row!(out; r.id, r.rider_id, Label(r.payment_method), Label("captured"), r.fare_cents.unwrap_or(0), "USD".to_string(), reference, done, Some(done));
    })
    .await?;
    Ok(())
}

/// Wallet transactions. `referred`: the riders referred by another rider.
async fn write_wallet_transactions(
    w: &mut Writer<'_>,
    g: &Generator,
    pass: &RidePass,
    referred: &[u64],
) -> Result<()> {
    let c = g.counts;
    let (completed_count, wallet_paid_count) = (
        pass.completed.count_ones(..) as u64,
        pass.wallet_paid.count_ones(..) as u64,
    );
    // Transactions: rider top-ups, then per completed ride the rider's wallet payment and the
    // driver's share, then referral bonuses.
    let tx_count = c.riders + wallet_paid_count + completed_count + referred.len() as u64;
    let (mut paid_rides, mut done_rides) = (pass.wallet_paid.ones(), pass.completed.ones());
    w.copy("wallet_transactions", &["wallet_id", "kind", "amount_cents", "ride_id", "created_at"], tx_count, |k, out| {
        let (riders, paid, done) = (c.riders, wallet_paid_count, completed_count);
        if k < riders {
            row!(out; g.rider_id(k), Label("top_up"), g.top_up(k, pass.rider_spend[k as usize]), None::<i64>, epoch() - chrono::Duration::days(181));
        } else if k < riders + paid {
            let r = g.ride(paid_rides.next().unwrap_or_default() as u64);
            row!(out; r.rider_id, Label("ride_payment"), -i64::from(r.fare_cents.unwrap_or(0)), Some(r.id), r.completed_at.unwrap_or(r.requested_at));
        } else if k < riders + paid + done {
            let r = g.ride(done_rides.next().unwrap_or_default() as u64);
            let fare = r.fare_cents.unwrap_or(0);
            row!(out; r.driver_id.unwrap_or(0), Label("ride_payment"), Generator::driver_share(fare), Some(r.id), r.completed_at.unwrap_or(r.requested_at));
        } else {
            let rider = referred[(k - riders - paid - done) as usize];
            row!(out; g.referrer(rider).unwrap_or(0), Label("referral_bonus"), 500i64, None::<i64>, epoch() - chrono::Duration::days(90));
        }
    })
    .await?;
    Ok(())
}

/// Referrals of the `referred` riders (profiles with referrals).
async fn write_referrals(w: &mut Writer<'_>, g: &Generator, referred: &[u64]) -> Result<()> {
    let c = g.counts;
    if c.referral_percent > 0 {
        w.copy("referrals", &["referrer_id", "referred_id", "bonus_cents", "rewarded_at", "created_at"], referred.len() as u64, |k, out| {
            let rider = referred[k as usize];
            row!(out; g.referrer(rider).unwrap_or(0), g.rider_id(rider), 500i32, Some(epoch() - chrono::Duration::days(90)), epoch() - chrono::Duration::days(120));
        })
        .await?;
    }
    Ok(())
}

/// Promo code redemptions by every fourth rider (profiles with promo codes).
async fn write_promo_redemptions(w: &mut Writer<'_>, g: &Generator) -> Result<()> {
    let c = g.counts;
    if c.promo_codes > 0 {
        let redeeming: Vec<u64> = (0..c.riders).filter(|r| r % 4 == 0).collect();
        w.copy("promo_redemptions", &["promo_code_id", "user_id", "redeemed_at"], redeeming.len() as u64, |k, out| {
            let rider = redeeming[k as usize];
            row!(out; g.bases.promos + (rider % c.promo_codes) as i64 + 1, g.rider_id(rider), epoch() - chrono::Duration::days(30));
        })
        .await?;
    }
    Ok(())
}

/// Driver location history: points outside rides, then points along the tracked rides.
async fn write_locations(w: &mut Writer<'_>, g: &Generator, pass: &RidePass) -> Result<()> {
    let c = g.counts;
    let driver_points = c.drivers * c.locations_per_driver;
    let ride_points = pass.tracked.count_ones(..) as u64 * c.locations_per_ride;
    if driver_points + ride_points > 0 {
        let mut tracked_rides = pass.tracked.ones();
        let mut ride = None;
        w.copy("driver_location_history", &["driver_id", "ride_id", "lat", "lng", "speed_kmh", "heading", "recorded_at"], driver_points + ride_points, |k, out| {
            if k < driver_points {
                let d = k / c.locations_per_driver;
                let (lat, lng, speed, heading) = g.point(7, k, (37.77, -122.42));
                row!(out; g.driver_id(d), None::<i64>, lat, lng, speed, heading, epoch() - chrono::Duration::minutes((k % 10_000) as i64));
            } else {
                let j = k - driver_points;
                if j.is_multiple_of(c.locations_per_ride) {
                    ride = Some(g.ride(tracked_rides.next().unwrap_or_default() as u64));
                }
                let Some(r) = ride.as_ref() else { return };
                let step = (j % c.locations_per_ride) as f64 / c.locations_per_ride as f64;
                let center = (r.pickup.0 + (r.dropoff.0 - r.pickup.0) * step, r.pickup.1 + (r.dropoff.1 - r.pickup.1) * step);
                let (lat, lng, speed, heading) = g.point(8, j, center);
                let at = r.started_at.unwrap_or(r.requested_at) + chrono::Duration::seconds((r.duration_secs as f64 * step) as i64);
                row!(out; r.driver_id.unwrap_or(0), Some(r.id), lat, lng, speed, heading, at);
            }
        })
        .await?;
    }
    Ok(())
}

/// Notifications to every user (profiles with notifications).
async fn write_notifications(w: &mut Writer<'_>, g: &Generator) -> Result<()> {
    let c = g.counts;
    let users = g.users();
    if c.notifications_per_user > 0 {
        w.copy("notifications", &["user_id", "channel", "title", "body", "sent_at", "created_at"], users * c.notifications_per_user, |k, out| {
            let u = g.user(k / c.notifications_per_user);
            let (channel, title) = [("push", "Your driver is arriving"), ("email", "Your weekly summary"), ("sms", "Verification code"), ("push", "New promo available")][(k % 4) as usize];
            let at = epoch() - chrono::Duration::hours((k % 2000) as i64);
            row!(out; u.id, Label(channel), title.to_string(), format!("Hello {}, {}", u.full_name, title.to_lowercase()), Some(at), at);
        })
        .await?;
    }
    Ok(())
}

/// ETA predictions of the predicted rides (profiles with predictions).
async fn write_eta_predictions(w: &mut Writer<'_>, g: &Generator, pass: &RidePass) -> Result<()> {
    let c = g.counts;
    if c.eta_predictions {
        let mut rides = pass.predicted.ones();
        w.copy("eta_predictions", &["ride_id", "model_version", "predicted_seconds", "actual_seconds", "features", "created_at"], pass.predicted.count_ones(..) as u64, |k, out| {
            let r = g.ride(rides.next().unwrap_or_default() as u64);
            let mut rng = g.rng(9, k);
            let predicted_secs = (r.duration_secs as f64 * rng.random_range(0.8..1.25)) as i32;
            let features = serde_json::json!({"distance_km": r.distance_hundredths as f64 / 100.0, "hour": r.requested_at.format("%H").to_string(), "pickup": [r.pickup.0, r.pickup.1]});
            row!(out; r.id, "eta-gbm-2026.1".to_string(), predicted_secs.max(1), (r.status == "completed").then_some(r.duration_secs as i32), features, r.requested_at);
        })
        .await?;
    }
    Ok(())
}
