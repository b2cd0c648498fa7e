//! Durations given by users as numbers (CLI flags, Python arguments): validated in one place, so a
//! negative, infinite or NaN value is a clear error instead of a panic.

use std::time::Duration;

use crate::error::{Error, Result};

/// The unit a user gave a duration in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    /// Seconds.
    Seconds,
    /// Minutes.
    Minutes,
    /// Hours.
    Hours,
}

impl TimeUnit {
    fn seconds(self) -> f64 {
        match self {
            TimeUnit::Seconds => 1.0,
            TimeUnit::Minutes => 60.0,
            TimeUnit::Hours => 3600.0,
        }
    }

    fn name(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "seconds",
            TimeUnit::Minutes => "minutes",
            TimeUnit::Hours => "hours",
        }
    }
}

/// `value` in `unit` as a [`Duration`]; an error naming `what` (the flag or argument) when the value
/// is negative, infinite, NaN or too large.
pub fn duration_from(what: &str, value: f64, unit: TimeUnit) -> Result<Duration> {
    Duration::try_from_secs_f64(value * unit.seconds()).map_err(|_| {
        Error::config(
            what,
            format!(
                "{value} is not a duration in {}: give a finite number that is not negative",
                unit.name()
            ),
        )
    })
}

/// A measured number of seconds (an age, an elapsed time) as a [`Duration`] for display: negative
/// values (clocks that disagree) count as zero, never a panic.
pub fn elapsed_secs(value: f64) -> Duration {
    Duration::try_from_secs_f64(value.max(0.0)).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_durations_are_checked() {
        assert_eq!(
            duration_from("--timeout", 1.5, TimeUnit::Seconds).unwrap(),
            Duration::from_millis(1500)
        );
        assert_eq!(
            duration_from("--max-age", 26.0, TimeUnit::Hours).unwrap(),
            Duration::from_secs(26 * 3600)
        );
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1e300] {
            let error = duration_from("--timeout", bad, TimeUnit::Seconds).unwrap_err();
            assert!(error.to_string().contains("--timeout"), "{error}");
        }
        assert_eq!(elapsed_secs(-5.0), Duration::ZERO);
    }
}
