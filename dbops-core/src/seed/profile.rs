//! The seed profiles of the operations guide, and scaling.

use serde::{Deserialize, Serialize};

/// A named seed size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Profile {
    /// Development: 5 riders, 5 drivers, 1 admin, 9 rides, 5 payments, wallets.
    Light,
    /// Testing: 30 riders, 20 drivers, 2 admins, 200 rides, promos, referrals, locations, notifications.
    Medium,
    /// Load testing: 500 riders, 200 drivers, 10 admins, 5000 rides, everything.
    Heavy,
}

impl std::str::FromStr for Profile {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "light" => Ok(Profile::Light),
            "medium" => Ok(Profile::Medium),
            "heavy" => Ok(Profile::Heavy),
            other => Err(crate::Error::config(
                "seed profile",
                format!("`{other}` is not light, medium or heavy"),
            )),
        }
    }
}

/// How many of everything a profile (times its scale) produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Riders.
    pub riders: u64,
    /// Drivers (one vehicle each).
    pub drivers: u64,
    /// Admins.
    pub admins: u64,
    /// Rides.
    pub rides: u64,
    /// Promo codes.
    pub promo_codes: u64,
    /// Percent of riders who were referred by another rider.
    pub referral_percent: u64,
    /// Location points per driver (history outside rides).
    pub locations_per_driver: u64,
    /// Location points per completed or in-progress ride.
    pub locations_per_ride: u64,
    /// Notifications per user.
    pub notifications_per_user: u64,
    /// Whether rides get ETA predictions.
    pub eta_predictions: bool,
}

impl Profile {
    /// The counts at scale 1 (the guide's breakdowns; see the guide's seeding page for its headline totals).
    pub fn counts(self, scale: u64) -> Counts {
        let k = scale.max(1);
        match self {
            Profile::Light => Counts {
                riders: 5 * k,
                drivers: 5 * k,
                admins: k,
                rides: 9 * k,
                promo_codes: 0,
                referral_percent: 0,
                locations_per_driver: 0,
                locations_per_ride: 0,
                notifications_per_user: 0,
                eta_predictions: false,
            },
            Profile::Medium => Counts {
                riders: 30 * k,
                drivers: 20 * k,
                admins: 2 * k,
                rides: 200 * k,
                promo_codes: 10,
                referral_percent: 20,
                locations_per_driver: 10,
                locations_per_ride: 0,
                notifications_per_user: 2,
                eta_predictions: false,
            },
            Profile::Heavy => Counts {
                riders: 500 * k,
                drivers: 200 * k,
                admins: 10 * k,
                rides: 5000 * k,
                promo_codes: 50,
                referral_percent: 30,
                locations_per_driver: 20,
                locations_per_ride: 8,
                notifications_per_user: 4,
                eta_predictions: true,
            },
        }
    }
}
