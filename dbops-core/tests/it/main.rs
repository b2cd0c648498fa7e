//! Integration tests of the dbops library against real PostgreSQL clusters and storage servers: one
//! test binary (one link of the dependency tree), one module per capability. Each test starts the
//! servers it needs; they stop when the test (or the binary) ends. Tests that drive the `dbops`
//! binary live in `dbops-cli/tests/it`.

mod support;

mod backup;
mod backup_health;
mod cluster;
mod failpoints;
mod faults;
mod health;
mod macros;
mod mask;
mod migrate;
mod migrate_safety;
mod seams;
mod secrets;
mod seed;
mod sql_split;
mod testing;
mod tls;
mod url;
