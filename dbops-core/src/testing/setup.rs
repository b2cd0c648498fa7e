//! What goes into a template database.

use async_trait::async_trait;
use sha2::{Digest, Sha256};

use crate::config::DatabaseUrl;
use crate::error::{Error, Result};

/// One step that prepares a template database: migrations, a seed, plain SQL.
///
/// The fingerprint names everything the step writes: when it changes, a new template is built.
///
/// ```
/// use dbops::{DatabaseUrl, TemplateSetup};
///
/// /// The `countries` reference rows, in every test database.
/// struct Countries(&'static [(&'static str, &'static str)]);
///
/// #[async_trait::async_trait]
/// impl TemplateSetup for Countries {
///     fn fingerprint(&self) -> String {
///         format!("countries:{:?}", self.0) // other rows: a new template
///     }
///     async fn apply(&self, url: &DatabaseUrl) -> dbops::Result<()> {
///         let client = url.connect().await?;
///         for (code, name) in self.0 {
///             client
///                 .execute("INSERT INTO countries (code, name) VALUES ($1, $2)", &[code, name])
///                 .await
///                 .map_err(|e| dbops::Error::postgres("inserting countries", e))?;
///         }
///         Ok(())
///     }
/// }
/// # fn wire(admin: DatabaseUrl, migrations: dbops::MigrationSource) {
/// // Steps run in the order added: the table first, then its rows.
/// let builder = dbops::TestDatabases::builder(admin)
///     .setup(migrations)
///     .setup(Countries(&[("FR", "France"), ("JP", "Japan")]));
/// # let _ = builder; }
/// ```
#[async_trait]
pub trait TemplateSetup: Send + Sync {
    /// A stable text that changes whenever what [`TemplateSetup::apply`] writes changes (for
    /// example a hash of the migration files).
    fn fingerprint(&self) -> String;

    /// Applies the step to the (new, empty) template database at `url`.
    async fn apply(&self, url: &DatabaseUrl) -> Result<()>;
}

/// A list of SQL scripts run in order, each in one transaction.
#[derive(Debug, Clone, Default)]
pub struct SqlScripts {
    scripts: Vec<(String, String)>,
}

impl SqlScripts {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a script; `name` appears in errors.
    pub fn script(mut self, name: impl Into<String>, sql: impl Into<String>) -> Self {
        self.scripts.push((name.into(), sql.into()));
        self
    }
}

#[async_trait]
impl TemplateSetup for SqlScripts {
    fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        for (name, sql) in &self.scripts {
            hash.update(name.as_bytes());
            hash.update([0]);
            hash.update(sql.as_bytes());
            hash.update([0]);
        }
        format!("sql:{}", hex::encode(hash.finalize()))
    }

    async fn apply(&self, url: &DatabaseUrl) -> Result<()> {
        let mut client = url.connect().await?;
        for (name, sql) in &self.scripts {
            let tx = client.transaction().await.map_err(|e| {
                Error::postgres(format!("starting a transaction for script `{name}`"), e)
            })?;
            tx.batch_execute(sql)
                .await
                .map_err(|e| Error::postgres(format!("running template script `{name}`"), e))?;
            tx.commit()
                .await
                .map_err(|e| Error::postgres(format!("committing template script `{name}`"), e))?;
        }
        Ok(())
    }
}

/// Migrations applied to the template.
#[cfg(feature = "migrate")]
#[async_trait]
impl TemplateSetup for crate::migrate::MigrationSource {
    fn fingerprint(&self) -> String {
        format!(
            "migrations:{}",
            crate::migrate::MigrationSource::fingerprint(self)
        )
    }

    async fn apply(&self, url: &DatabaseUrl) -> Result<()> {
        use crate::migrate::Migrator;
        crate::migrate::PgMigrator::new(url.clone(), self.clone())
            .up(None)
            .await
            .map(|_| ())
    }
}
