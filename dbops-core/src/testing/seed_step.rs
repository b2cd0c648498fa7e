//! A seed in a template: every test database cloned from it starts seeded.

use super::TemplateSetup;

/// A template setup step (`TemplateSetup`, feature `testing`) that seeds the template with any
/// [`Seeder`](crate::seed::Seeder), so every test database cloned from it starts seeded.
#[derive(Clone)]
pub struct SeedStep {
    seeder: std::sync::Arc<dyn crate::seed::Seeder>,
}

impl std::fmt::Debug for SeedStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedStep")
            .field("seeder", &self.seeder.fingerprint())
            .finish()
    }
}

impl SeedStep {
    /// Seeds the reference `profile` with default options.
    pub fn new(profile: crate::seed::Profile) -> Self {
        Self::with(crate::seed::ReferenceSeed::new(profile))
    }

    /// Seeds with `seeder`.
    pub fn with(seeder: impl crate::seed::Seeder + 'static) -> Self {
        Self {
            seeder: std::sync::Arc::new(seeder),
        }
    }
}

#[async_trait::async_trait]
impl TemplateSetup for SeedStep {
    fn fingerprint(&self) -> String {
        self.seeder.fingerprint()
    }

    async fn apply(&self, url: &crate::DatabaseUrl) -> crate::Result<()> {
        self.seeder.seed(url).await.map(|_| ())
    }
}
