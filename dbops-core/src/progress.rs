//! Progress reporting shared by every long operation.
//!
//! Long operations take an optional [`Progress`] callback. The CLI renders the events with indicatif;
//! Python receives them as a callable. The callback must be cheap: it runs on the operation's task.

use std::sync::Arc;

/// One progress update of a long operation.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ProgressEvent {
    /// What is happening now, e.g. `"dump"`, `"upload"`, `"apply 000003_add_rides"`.
    pub stage: String,
    /// Units done so far in this stage.
    pub done: u64,
    /// Total units of this stage, when known.
    pub total: Option<u64>,
    /// What the units count.
    pub unit: ProgressUnit,
}

/// What a [`ProgressEvent`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgressUnit {
    /// Bytes processed.
    Bytes,
    /// Rows written or read.
    Rows,
    /// Discrete steps (migrations, files, objects).
    Steps,
}

/// A progress callback; cheap to clone.
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(&ProgressEvent) + Send + Sync>);

impl Progress {
    /// Wraps a callback.
    pub fn new(callback: impl Fn(&ProgressEvent) + Send + Sync + 'static) -> Self {
        Self(Arc::new(callback))
    }

    /// Reports one event.
    pub fn report(
        &self,
        stage: impl Into<String>,
        done: u64,
        total: Option<u64>,
        unit: ProgressUnit,
    ) {
        (self.0)(&ProgressEvent {
            stage: stage.into(),
            done,
            total,
            unit,
        });
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress(..)")
    }
}

/// Reports through an optional callback; a no-op when there is none.
pub fn report(
    progress: Option<&Progress>,
    stage: &str,
    done: u64,
    total: Option<u64>,
    unit: ProgressUnit,
) {
    if let Some(progress) = progress {
        progress.report(stage, done, total, unit);
    }
}
