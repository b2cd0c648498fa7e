//! Integration tests of the `dbops` binary: backups, restores, clusters, migrations, PITR setup and
//! recovery, hostile store names, crashes and races, each through the real binary against real
//! PostgreSQL clusters and storage servers. One test binary; one module per area.

// The library's test support, shared with dbops-core's tests (not every helper is used here).
#[allow(dead_code)]
#[path = "../../../dbops-core/tests/it/support/mod.rs"]
mod support;

mod backup;
mod cluster;
mod faults;
mod golang_migrate;
mod hostile_store_names;
mod mask;
mod migrate;
mod panic;
mod pitr;
mod pitr_setup;
mod reliability;
mod versions;
