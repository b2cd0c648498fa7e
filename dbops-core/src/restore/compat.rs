//! What newer PostgreSQL programs write that an older server refuses, and how restores avoid it.
//!
//! From 17 on, `pg_dump` and `pg_restore` begin every script, and every session they open, with
//! `SET transaction_timeout = 0;`, a setting servers before 17 do not know. An archive written by a
//! newer `pg_dump` (the only one installed for a server, say) needs a `pg_restore` at least as new,
//! so a restore into an older server:
//!
//! * runs the SQL that `pg_restore` renders in dbops' own sessions without that line (they have the
//!   timeout off already where the server knows it);
//! * feeds a plain dump, or a rendered archive, to `psql` through [`SettingsFilter`], which drops that
//!   line from the script's leading settings;
//! * never lets such a `pg_restore` connect to such a server itself ([`connects_badly`]).

use std::io::Write;

/// The settings line servers before 17 refuse.
const TRANSACTION_TIMEOUT: &str = "SET transaction_timeout = 0;";

/// The first major version that knows `transaction_timeout`.
const FIRST_WITH_TRANSACTION_TIMEOUT: u32 = 17;

/// Whether a `pg_restore` of `program_major` connecting to a server of `server_major` would send it a
/// setting it refuses.
pub(super) fn connects_badly(program_major: u32, server_major: u32) -> bool {
    program_major >= FIRST_WITH_TRANSACTION_TIMEOUT && server_major < FIRST_WITH_TRANSACTION_TIMEOUT
}

/// A script `pg_restore` rendered, made fit for dbops' own sessions on any server: psql's
/// `\restrict KEY` / `\unrestrict KEY` lines (a guard against a malicious server injecting
/// meta-commands into psql; not SQL, and no psql reads this script) and, from its leading settings,
/// `SET transaction_timeout` (the session has it off already where the server knows it) are left
/// out.
pub(super) fn session_script(script: &str) -> String {
    let mut filter = SettingsFilter::new(Vec::new(), true);
    // Writing into a Vec cannot fail.
    let _ = filter.write_all(script.as_bytes());
    let filtered = filter.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&filtered)
        .lines()
        .filter(|line| !(line.starts_with("\\restrict ") || line.starts_with("\\unrestrict ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Passes a SQL script through to `inner`, leaving `SET transaction_timeout = 0;` out of its leading
/// settings (the lines before its first statement that is not a setting, a comment or a psql
/// `\restrict`). Past them it only copies: a data line that reads the same is kept.
pub(super) struct SettingsFilter<W: Write> {
    inner: W,
    /// The line being read while still in the leading settings.
    line: Vec<u8>,
    in_settings: bool,
}

impl<W: Write> SettingsFilter<W> {
    /// Filters what is written to `inner`; with `active` false, only copies.
    pub(super) fn new(inner: W, active: bool) -> Self {
        Self {
            inner,
            line: Vec::new(),
            in_settings: active,
        }
    }

    /// Handles one complete line of the leading settings.
    fn settle_line(&mut self) -> std::io::Result<()> {
        let text = String::from_utf8_lossy(&self.line);
        let trimmed = text.trim_end_matches(['\n', '\r']);
        let setting = trimmed.is_empty()
            || trimmed.starts_with("--")
            || trimmed.starts_with("SET ")
            || trimmed.starts_with("SELECT pg_catalog.set_config(")
            || trimmed.starts_with("\\restrict ");
        if trimmed != TRANSACTION_TIMEOUT {
            self.inner.write_all(&self.line)?;
        }
        self.in_settings = setting;
        self.line.clear();
        Ok(())
    }

    /// The wrapped writer, after whatever is pending was passed on.
    pub(super) fn into_inner(mut self) -> std::io::Result<W> {
        if !self.line.is_empty() {
            let pending = std::mem::take(&mut self.line);
            self.inner.write_all(&pending)?;
        }
        Ok(self.inner)
    }
}

impl<W: Write> Write for SettingsFilter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut rest = buf;
        while self.in_settings && !rest.is_empty() {
            match rest.iter().position(|&b| b == b'\n') {
                Some(end) => {
                    self.line.extend_from_slice(&rest[..=end]);
                    rest = &rest[end + 1..];
                    self.settle_line()?;
                }
                None => {
                    self.line.extend_from_slice(rest);
                    return Ok(buf.len());
                }
            }
        }
        self.inner.write_all(rest)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DUMP: &str = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nSET statement_timeout = 0;\n\
                        SET transaction_timeout = 0;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n\
                        CREATE TABLE t (x text);\nCOPY t (x) FROM stdin;\nSET transaction_timeout = 0;\n\\.\n";

    fn filtered(active: bool, chunk: usize) -> String {
        let mut filter = SettingsFilter::new(Vec::new(), active);
        for piece in DUMP.as_bytes().chunks(chunk) {
            filter.write_all(piece).unwrap();
        }
        String::from_utf8(filter.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn the_setting_goes_from_the_leading_settings_only_and_data_stays() {
        for chunk in [1, 3, 7, 1000] {
            let out = filtered(true, chunk);
            assert_eq!(out.matches("transaction_timeout").count(), 1, "{out}");
            assert!(out.contains("COPY t (x) FROM stdin;\nSET transaction_timeout = 0;\n\\."));
            assert_eq!(out.len(), DUMP.len() - TRANSACTION_TIMEOUT.len() - 1);
        }
        assert_eq!(filtered(false, 5), DUMP);
    }

    #[test]
    fn session_scripts_lose_the_setting_and_psql_lines() {
        let script = session_script(DUMP);
        assert!(!script.contains("\\restrict"));
        // Gone from the settings; the data line that reads the same stays.
        assert_eq!(script.matches("transaction_timeout").count(), 1, "{script}");
        assert!(
            script.contains("FROM stdin;\nSET transaction_timeout = 0;\n"),
            "{script}"
        );
        assert!(script.contains("SET statement_timeout = 0;"));
    }

    #[test]
    fn only_newer_programs_on_older_servers_connect_badly() {
        assert!(connects_badly(18, 16));
        assert!(connects_badly(17, 13));
        assert!(!connects_badly(18, 17));
        assert!(!connects_badly(16, 13));
    }
}
