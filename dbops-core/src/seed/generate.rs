//! Deterministic ride-hailing rows: every row is derived from `(seed, table, index)` alone, so tables
//! can be streamed independently (memory flat whatever the scale) and regenerated identically.

use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::profile::{Counts, Profile};

const FIRST: &[&str] = &[
    "Ada",
    "Grace",
    "Alan",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Katherine",
    "John",
    "Hedy",
    "Donald",
    "Sophie",
    "Guido",
    "Annie",
    "Bjarne",
    "Joan",
    "Niklaus",
    "Mary",
    "Leslie",
];
const LAST: &[&str] = &[
    "Lovelace",
    "Hopper",
    "Turing",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Johnson",
    "McCarthy",
    "Lamarr",
    "Knuth",
    "Wilson",
    "van Rossum",
    "Easley",
    "Stroustrup",
];
const MAKES: &[(&str, &str)] = &[
    ("Toyota", "Prius"),
    ("Toyota", "Camry"),
    ("Honda", "Civic"),
    ("Honda", "Accord"),
    ("Tesla", "Model 3"),
    ("Hyundai", "Ioniq"),
    ("Ford", "Fusion"),
    ("Kia", "Niro"),
    ("Chevrolet", "Bolt"),
    ("Nissan", "Leaf"),
];
const COLORS: &[&str] = &["black", "white", "silver", "gray", "blue", "red"];
/// San Francisco's bounding box.
const LAT: (f64, f64) = (37.708, 37.810);
const LNG: (f64, f64) = (-122.513, -122.370);

/// The data set's epoch: every timestamp is relative to it, so runs are identical.
pub fn epoch() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .unwrap_or_default()
}

/// Highest ids already in the database (all zero on an empty one): new rows are numbered after them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bases {
    /// users.id
    pub users: i64,
    /// vehicles.id
    pub vehicles: i64,
    /// rides.id
    pub rides: i64,
    /// promo_codes.id
    pub promos: i64,
}

/// A generator for one profile, scale and seed.
#[derive(Debug, Clone, Copy)]
pub struct Generator {
    /// The seed.
    pub seed: u64,
    /// The profile.
    pub profile: Profile,
    /// Counts at this scale.
    pub counts: Counts,
    /// Id bases (appending to existing data).
    pub bases: Bases,
}

/// A user.
pub struct User {
    pub id: i64,
    pub public_id: uuid::Uuid,
    pub email: String,
    pub phone: String,
    pub full_name: String,
    pub role: &'static str,
    pub created_at: DateTime<Utc>,
}

/// A ride with everything derived from it.
pub struct Ride {
    pub id: i64,
    pub public_id: uuid::Uuid,
    pub rider_id: i64,
    pub driver_id: Option<i64>,
    pub vehicle_id: Option<i64>,
    pub status: &'static str,
    pub pickup: (f64, f64),
    pub dropoff: (f64, f64),
    pub distance_hundredths: i64,
    pub duration_secs: i64,
    pub fare_cents: Option<i32>,
    pub requested_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub completed_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub cancel_reason: Option<&'static str>,
    pub payment_method: &'static str,
    pub stars: i16,
}

/// The timestamps of a ride (see [`Generator::ride_times`]).
struct RideTimes {
    requested_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    completed_at: Option<DateTime<Utc>>,
    cancelled_at: Option<DateTime<Utc>>,
}

/// A random point in San Francisco: latitude, then longitude.
fn city_point(rng: &mut StdRng) -> (f64, f64) {
    (
        rng.random_range(LAT.0..LAT.1),
        rng.random_range(LNG.0..LNG.1),
    )
}

fn pick<T: Copy>(rng: &mut StdRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

fn uuid(rng: &mut StdRng) -> uuid::Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

impl Generator {
    /// A generator.
    pub fn new(profile: Profile, scale: u64, seed: u64, bases: Bases) -> Self {
        Self {
            // Appended data must not repeat the unique values of the data before it.
            seed: seed ^ (bases.users as u64).wrapping_mul(0xA076_1D64_78BD_642F),
            profile,
            counts: profile.counts(scale),
            bases,
        }
    }

    /// The RNG of row `index` of `table`.
    pub fn rng(&self, table: u64, index: u64) -> StdRng {
        StdRng::seed_from_u64(
            self.seed
                ^ table.wrapping_mul(0x9E37_79B9_7F4A_7C15)
                ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03),
        )
    }

    /// Total users.
    pub fn users(&self) -> u64 {
        self.counts.riders + self.counts.drivers + self.counts.admins
    }

    /// Id of rider `i` (0-based).
    pub fn rider_id(&self, i: u64) -> i64 {
        self.bases.users + i as i64 + 1
    }

    /// Id of driver `i` (0-based).
    pub fn driver_id(&self, i: u64) -> i64 {
        self.bases.users + (self.counts.riders + i) as i64 + 1
    }

    /// User `i` (ids 1..: riders, then drivers, then admins).
    pub fn user(&self, i: u64) -> User {
        let mut rng = self.rng(1, i);
        let c = &self.counts;
        let role = if i < c.riders {
            "rider"
        } else if i < c.riders + c.drivers {
            "driver"
        } else {
            "admin"
        };
        let (first, last) = (pick(&mut rng, FIRST), pick(&mut rng, LAST));
        let id = self.bases.users + i as i64 + 1;
        User {
            id,
            public_id: uuid(&mut rng),
            email: format!(
                "{}.{}.{id}@example.com",
                first.to_lowercase(),
                last.to_lowercase().replace([' ', '-'], "")
            ),
            phone: format!("+1415{:07}", id),
            full_name: format!("{first} {last}"),
            role,
            created_at: epoch() - Duration::days(365)
                + Duration::minutes(rng.random_range(0..60 * 24 * 300)),
        }
    }

    /// Vehicle of driver `i`: (make, model, year, plate, color, class).
    pub fn vehicle(
        &self,
        i: u64,
    ) -> (
        &'static str,
        &'static str,
        i16,
        String,
        &'static str,
        &'static str,
    ) {
        let mut rng = self.rng(2, i);
        let (make, model) = pick(&mut rng, MAKES);
        let class = pick(
            &mut rng,
            &["economy", "economy", "economy", "comfort", "xl", "premium"],
        );
        (
            make,
            model,
            rng.random_range(2012..=2026),
            format!(
                "7{}{:06}",
                (b'A' + (i % 26) as u8) as char,
                self.bases.vehicles + i as i64 + 1
            ),
            pick(&mut rng, COLORS),
            class,
        )
    }

    /// Ride `i` (0-based).
    pub fn ride(&self, i: u64) -> Ride {
        let mut rng = self.rng(3, i);
        let c = &self.counts;
        let status = self.ride_status(&mut rng, i);
        let rider_id = self.rider_id(rng.random_range(0..c.riders));
        let driver_index = rng.random_range(0..c.drivers);
        let has_driver = !matches!(status, "requested" | "cancelled");
        let pickup = city_point(&mut rng);
        let dropoff = city_point(&mut rng);
        let km = haversine_km(pickup, dropoff) * 1.3 + 0.5;
        let duration_secs = (km / 24.0 * 3600.0) as i64 + rng.random_range(60..420);
        let times = self.ride_times(&mut rng, i, status, has_driver, duration_secs);
        let fare_cents = (status == "completed")
            .then(|| (250.0 + 120.0 * km + 30.0 * duration_secs as f64 / 60.0).round() as i32);
        Ride {
            id: self.bases.rides + i as i64 + 1,
            public_id: uuid(&mut rng),
            rider_id,
            driver_id: has_driver.then(|| self.driver_id(driver_index)),
            vehicle_id: has_driver.then_some(self.bases.vehicles + driver_index as i64 + 1),
            status,
            pickup,
            dropoff,
            distance_hundredths: (km * 100.0).round() as i64,
            duration_secs,
            fare_cents,
            requested_at: times.requested_at,
            accepted_at: times.accepted_at,
            started_at: times.started_at,
            completed_at: times.completed_at,
            cancelled_at: times.cancelled_at,
            cancel_reason: (status == "cancelled").then(|| {
                pick(
                    &mut rng,
                    &[
                        "rider changed plans",
                        "driver too far",
                        "wrong pickup location",
                        "no driver found",
                    ],
                )
            }),
            payment_method: match rng.random_range(0..100) {
                0..60 => "card",
                60..85 => "wallet",
                _ => "cash",
            },
            stars: pick(&mut rng, &[5, 5, 5, 4, 4, 3, 5, 2, 5, 1]),
        }
    }

    /// The status of ride `i`: the light profile cycles through a fixed list (no draw), the others
    /// draw it.
    fn ride_status(&self, rng: &mut StdRng, i: u64) -> &'static str {
        if self.profile == Profile::Light {
            // The guide's light seed: completed, in-progress, requested and cancelled rides.
            [
                "completed",
                "completed",
                "completed",
                "completed",
                "completed",
                "in_progress",
                "requested",
                "requested",
                "cancelled",
            ][(i % 9) as usize]
        } else {
            match rng.random_range(0..100) {
                0..70 => "completed",
                70..82 => "cancelled",
                82..87 => "in_progress",
                87..90 => "accepted",
                90..92 => "driver_arriving",
                _ => "requested",
            }
        }
    }

    /// The timestamps of ride `i`, in the order their random offsets are drawn: requested (spread
    /// over the 180 days before the epoch), accepted, started, completed and cancelled as `status`
    /// and `has_driver` call for.
    fn ride_times(
        &self,
        rng: &mut StdRng,
        i: u64,
        status: &str,
        has_driver: bool,
        duration_secs: i64,
    ) -> RideTimes {
        let span = Duration::days(180).num_seconds();
        let requested_at = epoch() - Duration::days(180)
            + Duration::seconds(
                span * i as i64 / self.counts.rides.max(1) as i64 + rng.random_range(0..600),
            );
        let accepted_at =
            has_driver.then(|| requested_at + Duration::seconds(rng.random_range(20..300)));
        let started_at = matches!(status, "in_progress" | "completed").then(|| {
            accepted_at.unwrap_or(requested_at) + Duration::seconds(rng.random_range(120..600))
        });
        let completed_at = (status == "completed")
            .then(|| started_at.unwrap_or(requested_at) + Duration::seconds(duration_secs));
        let cancelled_at = (status == "cancelled")
            .then(|| requested_at + Duration::seconds(rng.random_range(30..900)));
        RideTimes {
            requested_at,
            accepted_at,
            started_at,
            completed_at,
            cancelled_at,
        }
    }

    /// The driver's share of a fare.
    pub fn driver_share(fare: i32) -> i64 {
        i64::from(fare) * 80 / 100
    }

    /// A rider's wallet top-up before their rides (covers their wallet payments plus some).
    pub fn top_up(&self, rider: u64, spent: i64) -> i64 {
        let mut rng = self.rng(4, rider);
        spent + rng.random_range(1_000..5_000)
    }

    /// Whether rider `i` was referred, and by whom.
    pub fn referrer(&self, rider: u64) -> Option<i64> {
        let c = &self.counts;
        if c.riders < 2 || rider == 0 {
            return None;
        }
        let mut rng = self.rng(5, rider);
        (rng.random_range(0..100) < c.referral_percent)
            .then(|| self.rider_id(rng.random_range(0..rider)))
    }

    /// A location point near `center`.
    pub fn point(&self, table: u64, index: u64, center: (f64, f64)) -> (f64, f64, f32, i16) {
        let mut rng = self.rng(table, index);
        (
            (center.0 + rng.random_range(-0.01..0.01)).clamp(-90.0, 90.0),
            (center.1 + rng.random_range(-0.01..0.01)).clamp(-180.0, 180.0),
            rng.random_range(0.0..70.0),
            rng.random_range(0..360),
        )
    }
}

/// Great-circle distance in km.
pub fn haversine_km(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (lat1, lat2) = (a.0.to_radians(), b.0.to_radians());
    let (dlat, dlng) = ((b.0 - a.0).to_radians(), (b.1 - a.1).to_radians());
    let h = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlng / 2.0).sin().powi(2);
    6371.0 * 2.0 * h.sqrt().asin()
}
