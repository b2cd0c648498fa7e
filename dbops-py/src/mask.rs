//! `dbops.mask_check`, `dbops.mask_init` (each with an `_async` form), and the masking arguments of
//! `dbops.backup` and `dbops.restore`.

use std::collections::BTreeMap;
use std::sync::Arc;

use dbops::DatabaseUrl;
use dbops::backup::BackupSelector;
use dbops::mask::{MaskKey, MaskRules, Masking, SubsetRule};
use dbops::restore::{PgRestorer, RestoreOptions};
use pyo3::prelude::*;

use crate::backup::{decryption, open_store};
use crate::convert::attached_as;
use crate::errors::to_py as err;
use crate::runtime::operation;

/// The masking arguments of `backup` and `restore`.
pub(crate) struct MaskArgs {
    pub rules: Option<std::path::PathBuf>,
    pub key_env: Option<String>,
    pub key: Option<String>,
    pub allow_unmasked: Option<Vec<String>>,
}

impl MaskArgs {
    /// The masking asked for: the rules with `key`, or the key from `key_env` (or the rules' own
    /// variable, or `DBOPS_MASK_KEY`).
    pub(crate) fn masking(self) -> PyResult<Option<Arc<Masking>>> {
        let Some(path) = self.rules else {
            return Ok(None);
        };
        let masking = match self.key {
            Some(key) => {
                Masking::from_file_with_key(&path, MaskKey::new(key.as_bytes()).map_err(err)?)
            }
            None => Masking::from_file(&path, self.key_env.as_deref()),
        }
        .map_err(err)?;
        Ok(Some(Arc::new(
            masking.allow_unmasked(self.allow_unmasked.unwrap_or_default()),
        )))
    }
}

/// `subset=["rides: id % 10 = 0", ...]` as rules.
pub(crate) fn subset_rules(subset: Option<Vec<String>>) -> PyResult<Vec<SubsetRule>> {
    subset
        .unwrap_or_default()
        .iter()
        .map(|s| s.parse().map_err(err))
        .collect()
}

operation! {
    /// Checks masking rules against the database at ``url``, or (with ``store``) against a backup's
    /// schema restored into a scratch database on that server. No masking key is needed.
    ///
    /// Args:
    ///     rules: the masking rules file (TOML).
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///     store: check against the schema of this store's backup instead of the live database.
    ///     backup_id: the backup's id (default: the newest).
    ///     from_database: the database whose backups to choose from.
    ///     allow_unmasked: ``table.column`` names that may stay unmasked although they look personal.
    ///     identity: the text of an age identity (``AGE-SECRET-KEY-1...``) that decrypts.
    ///     identity_file: a file holding the age identities that decrypt.
    ///     passphrase: the passphrase of passphrase-encrypted data.
    ///     store_options: the store client's settings (keys of the object store builders, e.g.
    ///         ``aws_endpoint``, ``aws_allow_http``); credentials come from the cloud's environment
    ///         variables, never from here.
    ///
    /// Returns:
    ///     MaskCheck: ``ok`` and the ``problems`` (file line and message each): unknown tables or
    ///         columns, personal-looking columns left unmasked, transformers that do not fit a column's
    ///         type.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    ///     StorageError: the store failed (its ``kind`` says how: not found, permission denied,
    ///         transient, ...).
    ///     BackupNotFoundError: no backup matches what was asked for.
    ///     EncryptionError: the data cannot be decrypted (missing or wrong key or passphrase) or a
    ///         recipient is invalid.
    #[pyo3(signature = (rules, url, *, store=None, backup_id=None, from_database=None, allow_unmasked=None, identity=None, identity_file=None, passphrase=None, store_options=None))]
    fn mask_check / mask_check_async(
        py,
        rules: std::path::PathBuf,
        url: &str,
        store: Option<String>,
        backup_id: Option<String>,
        from_database: Option<String>,
        allow_unmasked: Option<Vec<String>>,
        identity: Option<String>,
        identity_file: Option<std::path::PathBuf>,
        passphrase: Option<String>,
        store_options: Option<BTreeMap<String, String>>,
    ) -> Py<PyAny> {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        let rules = MaskRules::from_file(&rules).map_err(err)?;
        let masking = Masking::check_only(rules).allow_unmasked(allow_unmasked.unwrap_or_default());
        let backup = match store {
            Some(store) => Some((
                open_store(&store, store_options)?,
                decryption(identity, identity_file, passphrase)?,
            )),
            None => None,
        };
        async move {
            let check = match backup {
                Some((store, decryption)) => {
                    let options = RestoreOptions::default()
                        .with_selector(backup_id.map(BackupSelector::Id).unwrap_or(BackupSelector::Latest))
                        .with_source_database(from_database)
                        .with_decryption(decryption)
                        .with_mask(Arc::new(masking));
                    PgRestorer::new(url, store).check_mask(&options).await?
                }
                None => dbops::mask::check_database(&url, &masking).await?,
            };
            attached_as(&check, "MaskCheck")
        }
    }
}

operation! {
    /// Drafts complete masking rules for the database at ``url``: every table and column, with a
    /// transformer suggested for each column that looks personal. Review them before use.
    ///
    /// Args:
    ///     url: the database: a ``postgres://`` URL or a libpq ``key=value`` string.
    ///
    /// Returns:
    ///     str: the rules as TOML text.
    ///
    /// Raises:
    ///     ConfigError: an invalid URL, store URL, option or file, refused before anything is done.
    ///     DatabaseError: PostgreSQL refused a statement or the connection failed.
    #[pyo3(signature = (url))]
    fn mask_init / mask_init_async(py, url: &str) -> Py<PyAny> {
        let url = DatabaseUrl::parse(url).map_err(err)?;
        async move {
            let draft = dbops::mask::draft_for_database(&url).await?;
            Python::attach(|py| draft.into_pyobject(py).map(|s| s.into_any().unbind()))
                .map_err(|e| dbops::Error::config("result", e.to_string()))
        }
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(mask_check, m)?)?;
    m.add_function(wrap_pyfunction!(mask_check_async, m)?)?;
    m.add_function(wrap_pyfunction!(mask_init, m)?)?;
    m.add_function(wrap_pyfunction!(mask_init_async, m)?)
}
