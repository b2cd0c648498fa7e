//! The one place that writes `archive_command` and `restore_command`: `dbops wal push|fetch` with the
//! store, its non-secret options, encryption and limits, every argument quoted for `/bin/sh` and every
//! `%` doubled for PostgreSQL's placeholder expansion. Credentials are refused: they would land in
//! `postgresql.auto.conf`, `SHOW` output and every archiver's process list.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::shell_quote;
use crate::error::{Error, Result};
use crate::storage::StoreUrl;

/// Option keys that name a credential (matched case-insensitively as substrings).
const CREDENTIAL_WORDS: [&str; 9] = [
    "secret",
    "password",
    "token",
    "key_id",
    "access_key",
    "account_key",
    "sas",
    "service_account_key",
    "bearer",
];

/// Builds the `archive_command` (`dbops wal push`) and `restore_command` (`dbops wal fetch`) of a
/// WAL archive. A cheap builder; [`Self::archive_command`] and [`Self::restore_command`] validate.
///
/// ```
/// use dbops::pitr::WalCommands;
/// let command = WalCommands::new("s3://acme-wal/prod db")
///     .program("/usr/local/bin/dbops")
///     .store_option("aws_region", "eu-west-1")
///     .recipient("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p")
///     .archive_command()?;
/// assert_eq!(
///     command,
///     "/usr/local/bin/dbops wal push --store 's3://acme-wal/prod%%20db' \
///      --store-option aws_region=eu-west-1 \
///      --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p %p"
/// );
/// # Ok::<(), dbops::Error>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct WalCommands {
    program: Option<PathBuf>,
    store_url: String,
    store_options: Vec<(String, String)>,
    recipients: Vec<String>,
    passphrase_env: Option<String>,
    identity_file: Option<PathBuf>,
    level: Option<i32>,
    deadline: Option<Duration>,
}

impl WalCommands {
    /// Commands for the archive at `store_url`.
    pub fn new(store_url: impl Into<String>) -> Self {
        Self {
            store_url: store_url.into(),
            ..Self::default()
        }
    }

    /// The `dbops` program the server runs. Default: this program when it is `dbops`, else `dbops`
    /// from the server's `PATH`.
    pub fn program(mut self, program: impl Into<PathBuf>) -> Self {
        self.program = Some(program.into());
        self
    }

    /// Adds a non-secret store option (endpoint, region, ...).
    pub fn store_option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.store_options.push((key.into(), value.into()));
        self
    }

    /// Adds non-secret store options.
    pub fn store_options<K: Into<String>, V: Into<String>>(
        mut self,
        options: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        self.store_options
            .extend(options.into_iter().map(|(k, v)| (k.into(), v.into())));
        self
    }

    /// Encrypts pushed WAL to this age public key (`age1...`); repeatable.
    pub fn recipient(mut self, recipient: impl Into<String>) -> Self {
        self.recipients.push(recipient.into());
        self
    }

    /// Encrypts pushed WAL to these age public keys.
    pub fn recipients<R: Into<String>>(mut self, recipients: impl IntoIterator<Item = R>) -> Self {
        self.recipients
            .extend(recipients.into_iter().map(Into::into));
        self
    }

    /// Encrypts (archive) or decrypts (restore) with the passphrase in this environment variable of the
    /// server; the command names the variable, never the passphrase.
    pub fn passphrase_env(mut self, variable: impl Into<String>) -> Self {
        self.passphrase_env = Some(variable.into());
        self
    }

    /// The age identity file `restore_command` decrypts with (a path on the server).
    pub fn identity_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.identity_file = Some(path.into());
        self
    }

    /// zstd level of pushed WAL. Default: `wal push`'s own (1).
    pub fn level(mut self, level: i32) -> Self {
        self.level = Some(level);
        self
    }

    /// Deadline of one push or fetch, retries included. Default: `wal push`'s own (60 s).
    pub fn deadline(mut self, deadline: Duration) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The environment variable the server must have, if a passphrase is used.
    pub fn required_environment(&self) -> Option<&str> {
        self.passphrase_env.as_deref()
    }

    /// `archive_command`: `dbops wal push --store URL ... %p`.
    pub fn archive_command(&self) -> Result<String> {
        let mut args = self.common_args("archive_command")?;
        if !self.recipients.is_empty() && self.passphrase_env.is_some() {
            return Err(Error::config(
                "archive_command encryption",
                "give either recipients (age public keys) or a passphrase variable, not both",
            ));
        }
        if !self.recipients.is_empty() {
            crate::backup::Encryption::Recipients(self.recipients.clone()).validate()?;
        }
        for recipient in &self.recipients {
            args.push("--recipient".into());
            args.push(recipient.trim().to_string());
        }
        if let Some(var) = &self.passphrase_env {
            args.push("--encrypt-passphrase-env".into());
            args.push(var.clone());
        }
        if let Some(level) = self.level {
            args.push("--level".into());
            args.push(level.to_string());
        }
        Ok(render("push", &args, &["%p"]))
    }

    /// `restore_command`: `dbops wal fetch --store URL ... %f %p`.
    pub fn restore_command(&self) -> Result<String> {
        let mut args = self.common_args("restore_command")?;
        args.extend(self.key_arguments()?);
        Ok(render("fetch", &args, &["%f", "%p"]))
    }

    /// The program path and the arguments both commands share, validated.
    fn common_args(&self, setting: &str) -> Result<Vec<String>> {
        let mut args = vec![checked_path(&self.program_path())?];
        args.extend(self.store_arguments(Some(setting))?);
        Ok(args)
    }

    /// The program the commands run.
    pub(crate) fn program_path(&self) -> PathBuf {
        self.program.clone().unwrap_or_else(default_program)
    }

    /// `--store URL`, `--store-option K=V`..., `--deadline S`, checked. With `refuse_for` (the setting
    /// the arguments go into) credential-looking options are refused.
    pub(crate) fn store_arguments(&self, refuse_for: Option<&str>) -> Result<Vec<String>> {
        let mut args = vec!["--store".to_string(), checked_store_url(&self.store_url)?];
        for (key, value) in &self.store_options {
            if let Some(setting) = refuse_for {
                refuse_credential(key, setting)?;
            }
            args.push("--store-option".into());
            args.push(checked_text("store option", &format!("{key}={value}"))?);
        }
        if let Some(var) = &self.passphrase_env {
            check_variable_name(var)?;
        }
        if let Some(deadline) = self.deadline {
            args.push("--deadline".into());
            args.push(format!("{}", deadline.as_secs_f64()));
        }
        Ok(args)
    }

    /// `--identity FILE` and `--passphrase-env VAR` for the commands that decrypt.
    pub(crate) fn key_arguments(&self) -> Result<Vec<String>> {
        let mut args = Vec::new();
        if let Some(path) = &self.identity_file {
            args.push("--identity".into());
            args.push(checked_path(path)?);
        }
        if let Some(var) = &self.passphrase_env {
            args.push("--passphrase-env".into());
            args.push(var.clone());
        }
        Ok(args)
    }
}

/// `program wal <verb> args... placeholders`, each argument shell-quoted with `%` doubled.
fn render(verb: &str, args: &[String], placeholders: &[&str]) -> String {
    let mut words: Vec<String> = Vec::with_capacity(args.len() + 3);
    words.push(escape_percent(&shell_quote(&args[0])));
    words.push("wal".into());
    words.push(verb.into());
    words.extend(args[1..].iter().map(|a| escape_percent(&shell_quote(a))));
    words.extend(placeholders.iter().map(|p| p.to_string()));
    words.join(" ")
}

/// Refuses store options that carry credentials, saying where credentials go instead.
pub(crate) fn refuse_credential(key: &str, setting: &str) -> Result<()> {
    let lower = key.to_ascii_lowercase();
    if CREDENTIAL_WORDS.iter().any(|w| lower.contains(w)) {
        return Err(Error::config(
            format!("store option `{key}`"),
            format!(
                "looks like a credential; {setting} would show it in postgresql.auto.conf, `SHOW` and \
                 the process list of every archiver. Put it in the PostgreSQL server's environment \
                 instead ({} in a systemd drop-in `Environment=` line or the container's env), or use a \
                 credentials file the store reads (AWS_SHARED_CREDENTIALS_FILE, \
                 GOOGLE_APPLICATION_CREDENTIALS); nothing was written",
                key.to_ascii_uppercase()
            ),
        ));
    }
    Ok(())
}

fn checked_store_url(raw: &str) -> Result<String> {
    let url = StoreUrl::parse(raw)?;
    if url.redacted() != url.as_str() {
        return Err(Error::config(
            "store url",
            format!(
                "`{}` has a query string or fragment (`?`, `#`): it may carry a credential and dbops \
                 does not use it; give options with store options, credentials in the server's \
                 environment, and percent-encode `?` and `#` in paths (%3F, %23)",
                url.redacted()
            ),
        ));
    }
    checked_text("store url", url.as_str())
}

fn checked_path(path: &Path) -> Result<String> {
    let text = path.to_str().ok_or_else(|| {
        Error::config(
            "program path",
            format!("`{}` is not valid UTF-8", path.display()),
        )
    })?;
    checked_text("path", text)
}

/// Control characters (newlines above all) have no place in a one-line server setting.
fn checked_text(what: &str, text: &str) -> Result<String> {
    if text.chars().any(char::is_control) {
        return Err(Error::config(
            what,
            format!(
                "`{}` contains a control character (a newline?); the command is one line of the \
                 server's configuration",
                text.escape_debug()
            ),
        ));
    }
    Ok(text.to_string())
}

fn check_variable_name(var: &str) -> Result<()> {
    let mut chars = var.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(Error::config(
            "passphrase variable",
            format!(
                "`{}` is not an environment variable name (letters, digits and `_`, not starting \
                 with a digit)",
                var.escape_debug()
            ),
        ))
    }
}

/// This program when it is `dbops`, else `dbops` from the server's `PATH`.
pub(crate) fn default_program() -> PathBuf {
    std::env::current_exe()
        .ok()
        .filter(|p| p.file_name().is_some_and(|n| n == "dbops"))
        .unwrap_or_else(|| PathBuf::from("dbops"))
}

/// PostgreSQL expands `%p`, `%f`, `%r` and `%%` in archive and restore commands: a literal `%` is `%%`.
fn escape_percent(s: &str) -> String {
    s.replace('%', "%%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_refused_with_where_they_go() {
        let error = WalCommands::new("s3://b/p")
            .store_option("aws_secret_access_key", "SUPERSECRET")
            .archive_command()
            .unwrap_err()
            .to_string();
        assert!(error.contains("AWS_SECRET_ACCESS_KEY"), "{error}");
        assert!(error.contains("environment"), "{error}");
        assert!(!error.contains("SUPERSECRET"), "{error}");
    }

    #[test]
    fn percent_signs_are_doubled_and_words_quoted() {
        let command = WalCommands::new("file:///srv/50%off;x")
            .program("/opt/db ops/dbops")
            .archive_command()
            .unwrap();
        assert_eq!(
            command,
            "'/opt/db ops/dbops' wal push --store 'file:///srv/50%%off;x' %p"
        );
    }

    #[test]
    fn recipients_and_a_passphrase_are_exclusive_and_checked() {
        let both = WalCommands::new("/srv/wal")
            .recipient("age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p")
            .passphrase_env("WAL_PASS")
            .archive_command();
        assert!(both.is_err());
        assert!(
            WalCommands::new("/srv/wal")
                .recipient("age1nope")
                .archive_command()
                .is_err()
        );
        assert!(
            WalCommands::new("/srv/wal")
                .passphrase_env("WAL PASS; rm")
                .archive_command()
                .is_err()
        );
        assert!(
            WalCommands::new("s3://b/x?sig=abc")
                .archive_command()
                .is_err()
        );
        // A newline in a path is percent-encoded by the URL, never a second line of configuration.
        let command = WalCommands::new("/srv/wal\nx").archive_command().unwrap();
        assert!(!command.contains('\n'), "{command}");
        assert!(
            WalCommands::new("/srv/wal")
                .store_option("aws_region", "eu\nx")
                .archive_command()
                .is_err()
        );
    }
}
