//! The environment for libpq programs (pg_dump, psql, pg_basebackup, ...) started by dbops, and the
//! quoting of words for the shell commands dbops writes (archive_command, restore commands).
//!
//! Connection details travel as `PG*` environment variables and the password as a private passfile
//! (mode 0600, deleted when the [`ChildEnv`] is dropped), so nothing secret appears on a command line
//! or in `/proc/<pid>/cmdline`.

use std::ffi::OsString;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use super::url::DatabaseUrl;
use crate::error::{Error, Result};

/// `PG*` variables plus an optional passfile, ready to apply to a child process.
#[derive(Debug)]
pub struct ChildEnv {
    vars: Vec<(OsString, OsString)>,
    passfile: Option<PathBuf>,
}

impl ChildEnv {
    /// Prepares the environment for connecting to `url`.
    pub fn for_url(url: &DatabaseUrl) -> Result<Self> {
        let mut vars: Vec<(OsString, OsString)> = Vec::new();
        let mut push = |k: &str, v: String| vars.push((k.into(), v.into()));
        push("PGHOST", url.hosts().join(","));
        push(
            "PGPORT",
            url.port_list()
                .iter()
                .map(u16::to_string)
                .collect::<Vec<_>>()
                .join(","),
        );
        push("PGUSER", url.effective_user());
        push("PGDATABASE", url.database());
        push(
            "PGAPPNAME",
            url.param("application_name").unwrap_or("dbops").to_string(),
        );
        const PARAM_VARS: [(&str, &str); 8] = [
            ("sslmode", "PGSSLMODE"),
            ("sslrootcert", "PGSSLROOTCERT"),
            ("sslcert", "PGSSLCERT"),
            ("sslkey", "PGSSLKEY"),
            ("connect_timeout", "PGCONNECT_TIMEOUT"),
            ("options", "PGOPTIONS"),
            ("target_session_attrs", "PGTARGETSESSIONATTRS"),
            ("channel_binding", "PGCHANNELBINDING"),
        ];
        for (param, var) in PARAM_VARS {
            if let Some(value) = url.param(param) {
                push(var, value.to_string());
            }
        }
        let passfile = match url.password() {
            Some(password) => Some(write_passfile(password)?),
            None => None,
        };
        if let Some(path) = &passfile {
            vars.push(("PGPASSFILE".into(), path.clone().into()));
        }
        Ok(ChildEnv { vars, passfile })
    }

    /// Applies the variables to a command, removing any inherited `PGPASSWORD`.
    pub fn apply(&self, command: &mut tokio::process::Command) {
        command.env_remove("PGPASSWORD");
        command.env_remove("PGSERVICE");
        for (k, v) in &self.vars {
            command.env(k, v);
        }
    }

    /// Applies the variables to a blocking `std` command.
    pub fn apply_std(&self, command: &mut std::process::Command) {
        command.env_remove("PGPASSWORD");
        command.env_remove("PGSERVICE");
        for (k, v) in &self.vars {
            command.env(k, v);
        }
    }

    /// The variables, for callers that build their own process.
    pub fn vars(&self) -> &[(OsString, OsString)] {
        &self.vars
    }

    #[cfg(feature = "backup")]
    /// Applies the variables to `command` and starts it. The child keeps this environment, so its
    /// passfile exists for as long as the child is held (a program reads it when it connects, which
    /// may be well after it started).
    pub(crate) fn spawn(self, command: &mut tokio::process::Command) -> std::io::Result<EnvChild> {
        self.apply(command);
        let child = command.spawn()?;
        Ok(EnvChild { child, _env: self })
    }
}

/// A child process started by [`ChildEnv::spawn`], holding its environment (and passfile).
#[cfg(feature = "backup")]
#[derive(Debug)]
pub(crate) struct EnvChild {
    /// The process.
    pub child: tokio::process::Child,
    _env: ChildEnv,
}

impl Drop for ChildEnv {
    fn drop(&mut self) {
        if let Some(path) = &self.passfile {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Reads a child's stderr to the end in a task (so the child never blocks on a full pipe); the task
/// yields the text.
#[cfg(feature = "backup")]
pub(crate) fn collect_stderr(child: &mut tokio::process::Child) -> tokio::task::JoinHandle<String> {
    let mut stderr = child.stderr.take();
    tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut text = String::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_string(&mut text).await;
        }
        text
    })
}

fn write_passfile(password: &str) -> Result<PathBuf> {
    let dir = std::env::temp_dir();
    let path = dir.join(format!(
        "dbops-pgpass-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ));
    let escaped = password.replace('\\', "\\\\").replace(':', "\\:");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io("creating a private passfile", &path, e))?;
    file.write_all(format!("*:*:*:*:{escaped}\n").as_bytes())
        .map_err(|e| Error::io("writing a private passfile", &path, e))?;
    Ok(path)
}

/// Quotes `s` as one `/bin/sh` word: unchanged when it holds only safe characters, else in single
/// quotes (a `'` inside becomes `'\''`).
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-=:@+,".contains(&b))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}
