//! Encryption in the age format: X25519 recipients (backup hosts hold only public keys) or a passphrase.
//! A backup can always be decrypted with the stock `age` CLI (`age -d -i key.txt file.age | zstd -d`).

use std::io::{Read, Write};
use std::str::FromStr;
use std::sync::Arc;

use age::secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// How a backup is encrypted. `Debug` never shows a passphrase.
#[derive(Clone, Default)]
pub enum Encryption {
    /// Stored as is (the default; rely on the store's own encryption at rest).
    #[default]
    None,
    /// To one or more age X25519 recipients (`age1...` public keys).
    Recipients(Vec<String>),
    /// With a passphrase (age scrypt). Slow by design: about a second per backup to derive the key.
    Passphrase(Arc<SecretString>),
}

impl std::fmt::Debug for Encryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Encryption::None => f.write_str("None"),
            Encryption::Recipients(r) => f.debug_tuple("Recipients").field(r).finish(),
            Encryption::Passphrase(_) => f.write_str("Passphrase(***)"),
        }
    }
}

impl Encryption {
    /// Encryption to a passphrase.
    pub fn passphrase(passphrase: impl Into<String>) -> Self {
        Encryption::Passphrase(Arc::new(SecretString::from(passphrase.into())))
    }

    /// The encryption a user chose: age recipients (trimmed, blanks dropped) or a passphrase, or
    /// neither for none. Both at once is an error: the CLI, Python and Rust share this one rule.
    pub fn choose(
        recipients: impl IntoIterator<Item = String>,
        passphrase: Option<String>,
    ) -> Result<Self> {
        let recipients: Vec<String> = recipients
            .into_iter()
            .map(|r| r.trim().to_string())
            .filter(|r| !r.is_empty())
            .collect();
        match (recipients.is_empty(), passphrase) {
            (false, Some(_)) => Err(Error::config(
                "encryption",
                "give age recipients or a passphrase, not both",
            )),
            (false, None) => Ok(Encryption::Recipients(recipients)),
            (true, Some(passphrase)) => Ok(Encryption::passphrase(passphrase)),
            (true, None) => Ok(Encryption::None),
        }
    }

    /// The passphrase in environment variable `var` (named by option `flag` in errors).
    pub fn passphrase_from_env(flag: &str, var: &str) -> Result<String> {
        match std::env::var(var) {
            Ok(value) if !value.is_empty() => Ok(value),
            _ => Err(Error::config(
                flag,
                format!("environment variable `{var}` is not set (or empty)"),
            )),
        }
    }

    /// Encryption to the recipients listed one per line in `text` (blank lines and `#` comments
    /// ignored), as in an age recipients file.
    pub fn recipients_from_text(text: &str) -> Self {
        Encryption::Recipients(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect(),
        )
    }

    /// What the manifest records: the mode and the recipients' fingerprints (never a key).
    pub fn info(&self) -> EncryptionInfo {
        match self {
            Encryption::None => EncryptionInfo {
                mode: EncryptionMode::None,
                recipient_fingerprints: Vec::new(),
                sealed_identity: None,
            },
            Encryption::Recipients(list) => EncryptionInfo {
                mode: EncryptionMode::Recipients,
                recipient_fingerprints: list.iter().map(|r| fingerprint(r)).collect(),
                sealed_identity: None,
            },
            Encryption::Passphrase(_) => EncryptionInfo {
                mode: EncryptionMode::Passphrase,
                recipient_fingerprints: Vec::new(),
                sealed_identity: None,
            },
        }
    }

    /// The encryption of one backup's objects, and what its manifest records. A passphrase backup
    /// encrypts its objects to a key pair made for it, and its manifest holds that pair's identity
    /// encrypted with the passphrase (`sealed_identity`): the key derivation (age scrypt, about a
    /// second by design) then runs once per backup and once per restore instead of once per object
    /// (a `tables` backup has one per table).
    pub(crate) fn for_one_backup(&self) -> Result<(Encryption, EncryptionInfo)> {
        let Encryption::Passphrase(secret) = self else {
            return Ok((self.clone(), self.info()));
        };
        let pair = generate_key_pair();
        let mut info = self.info();
        info.sealed_identity = Some(seal(&pair.identity, secret)?);
        Ok((Encryption::Recipients(vec![pair.recipient]), info))
    }

    /// Checks the recipients parse, before any work starts.
    pub fn validate(&self) -> Result<()> {
        if let Encryption::Recipients(list) = self {
            if list.is_empty() {
                return Err(Error::config(
                    "encryption recipients",
                    "the list is empty; give at least one age public key (age1...)",
                ));
            }
            for r in list {
                age::x25519::Recipient::from_str(r).map_err(|e| {
                    Error::config(
                        "encryption recipient",
                        format!("`{r}` is not an age X25519 public key (age1...): {e}"),
                    )
                })?;
            }
        }
        Ok(())
    }

    /// Wraps `output` so what is written is encrypted; `None` returns `output` unchanged.
    pub(crate) fn wrap(&self, output: Box<dyn FinishWrite>) -> Result<Box<dyn FinishWrite>> {
        let encryptor = match self {
            Encryption::None => return Ok(output),
            Encryption::Recipients(list) => {
                self.validate()?;
                let parsed: Vec<age::x25519::Recipient> = list
                    .iter()
                    .filter_map(|r| age::x25519::Recipient::from_str(r).ok())
                    .collect();
                age::Encryptor::with_recipients(parsed.iter().map(|r| r as &dyn age::Recipient))
                    .map_err(|e| Error::Crypto {
                        action: "setting up encryption".into(),
                        reason: e.to_string(),
                    })?
            }
            Encryption::Passphrase(secret) => {
                age::Encryptor::with_user_passphrase(SecretString::from(
                    age::secrecy::ExposeSecret::expose_secret(secret.as_ref()).to_string(),
                ))
            }
        };
        let writer = encryptor.wrap_output(output).map_err(|e| Error::Crypto {
            action: "starting encryption".into(),
            reason: e.to_string(),
        })?;
        Ok(Box::new(writer))
    }
}

/// The encryption mode recorded in a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncryptionMode {
    /// Not encrypted.
    None,
    /// age X25519 recipients.
    Recipients,
    /// age passphrase (scrypt).
    Passphrase,
}

/// Encryption as recorded in a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptionInfo {
    /// The mode.
    pub mode: EncryptionMode,
    /// First 16 hex digits of the sha256 of each recipient's public key.
    pub recipient_fingerprints: Vec<String>,
    /// Passphrase backups: the identity their objects are encrypted to, itself encrypted with the
    /// passphrase (an armored age file). Absent in passphrase backups of dbops before 0.2, whose
    /// objects are each encrypted with the passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_identity: Option<String>,
}

/// The keys that can decrypt a backup. `Debug` never shows them.
#[derive(Clone, Default)]
pub struct Decryption {
    identities: Vec<String>,
    passphrase: Option<Arc<SecretString>>,
    /// Sealed identities already opened with the passphrase (shared by clones: one restore opens
    /// its backup's once).
    opened: Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
}

impl std::fmt::Debug for Decryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decryption")
            .field("identities", &self.identities.len())
            .field("passphrase", &self.passphrase.as_ref().map(|_| "***"))
            .finish()
    }
}

impl Decryption {
    /// No keys: only unencrypted backups can be read.
    pub fn none() -> Self {
        Self::default()
    }

    /// Adds the identities (`AGE-SECRET-KEY-1...`) of an age identity file's text.
    pub fn with_identity_text(mut self, text: &str) -> Result<Self> {
        let file = age::IdentityFile::from_buffer(text.as_bytes()).map_err(|e| Error::Crypto {
            action: "reading the age identity".into(),
            reason: format!("{e}; expected lines `AGE-SECRET-KEY-1...` as written by `age-keygen`"),
        })?;
        let count = file.into_identities().map(|v| v.len()).unwrap_or(0);
        if count == 0 {
            return Err(Error::Crypto {
                action: "reading the age identity".into(),
                reason: "no identity found; expected lines `AGE-SECRET-KEY-1...` as written by `age-keygen`"
                    .into(),
            });
        }
        self.identities.push(text.to_string());
        Ok(self)
    }

    /// Adds the identities of an age identity file.
    pub fn with_identity_file(self, path: &std::path::Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::io("reading the age identity file", path, e))?;
        self.with_identity_text(&text)
    }

    /// Adds a passphrase that is already held as a secret.
    #[cfg(feature = "migrate")]
    pub(crate) fn with_passphrase_secret(mut self, passphrase: Arc<SecretString>) -> Self {
        self.passphrase = Some(passphrase);
        self
    }

    /// Adds a passphrase.
    pub fn with_passphrase(mut self, passphrase: impl Into<String>) -> Self {
        self.passphrase = Some(Arc::new(SecretString::from(passphrase.into())));
        self
    }

    /// Wraps `input` (an age file) so reads return the plaintext, checking every chunk's tag.
    /// `sealed` is the backup's sealed identity, for a passphrase backup that has one.
    pub(crate) fn wrap(
        &self,
        input: Box<dyn Read + Send>,
        key: &str,
        sealed: Option<&str>,
    ) -> Result<Box<dyn Read + Send>> {
        let decryptor = age::Decryptor::new(input).map_err(|e| Error::Crypto {
            action: format!("reading the age header of `{key}`"),
            reason: e.to_string(),
        })?;
        let mut identities: Vec<Box<dyn age::Identity>> = Vec::new();
        if let Some(sealed) = sealed {
            let text = self.open(sealed, key)?;
            let unreadable = |reason: String| Error::Crypto {
                action: format!("reading the key of `{key}`'s backup"),
                reason,
            };
            let file = age::IdentityFile::from_buffer(text.as_bytes())
                .map_err(|e| unreadable(e.to_string()))?;
            identities.extend(
                file.into_identities()
                    .map_err(|e| unreadable(e.to_string()))?,
            );
        } else if decryptor.is_scrypt() {
            let Some(passphrase) = &self.passphrase else {
                return Err(Error::Crypto {
                    action: format!("decrypting `{key}`"),
                    reason: "it is encrypted with a passphrase; give it (--passphrase-env VAR or \
                             DBOPS_BACKUP_PASSPHRASE)"
                        .into(),
                });
            };
            let mut identity = age::scrypt::Identity::new(SecretString::from(
                age::secrecy::ExposeSecret::expose_secret(passphrase.as_ref()).to_string(),
            ));
            identity.set_max_work_factor(30);
            identities.push(Box::new(identity));
        } else {
            for text in &self.identities {
                if let Ok(file) = age::IdentityFile::from_buffer(text.as_bytes())
                    && let Ok(list) = file.into_identities()
                {
                    identities.extend(list);
                }
            }
            if identities.is_empty() {
                return Err(Error::Crypto {
                    action: format!("decrypting `{key}`"),
                    reason: "it is encrypted to age recipients; give the identity file \
                             (--identity FILE or DBOPS_AGE_IDENTITY_FILE)"
                        .into(),
                });
            }
        }
        let reader = decryptor
            .decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| Error::Crypto {
                action: format!("decrypting `{key}`"),
                reason: format!("{e}; is this the right key or passphrase?"),
            })?;
        Ok(Box::new(reader))
    }
}

impl Decryption {
    /// The identity text of a sealed identity, opened with the passphrase (once per sealed identity).
    fn open(&self, sealed: &str, key: &str) -> Result<String> {
        let mut opened = self
            .opened
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(text) = opened.get(sealed) {
            return Ok(text.clone());
        }
        let Some(passphrase) = &self.passphrase else {
            return Err(Error::Crypto {
                action: format!("decrypting `{key}`"),
                reason:
                    "its backup is encrypted with a passphrase; give it (--passphrase-env VAR or \
                         DBOPS_BACKUP_PASSPHRASE)"
                        .into(),
            });
        };
        let text = unseal(sealed, passphrase).map_err(|reason| Error::Crypto {
            action: format!("opening the key of `{key}`'s backup"),
            reason: format!("{reason}; is this the right key or passphrase?"),
        })?;
        opened.insert(sealed.to_string(), text.clone());
        Ok(text)
    }
}

/// `identity` encrypted with `passphrase` (age scrypt), as an armored age file.
fn seal(identity: &str, passphrase: &SecretString) -> Result<String> {
    let failed = |e: std::io::Error| Error::Crypto {
        action: "sealing the backup's key with the passphrase".into(),
        reason: e.to_string(),
    };
    let encryptor = age::Encryptor::with_user_passphrase(SecretString::from(
        age::secrecy::ExposeSecret::expose_secret(passphrase).to_string(),
    ));
    let armored =
        age::armor::ArmoredWriter::wrap_output(Vec::new(), age::armor::Format::AsciiArmor)
            .map_err(failed)?;
    let mut writer = encryptor.wrap_output(armored).map_err(failed)?;
    writer.write_all(identity.as_bytes()).map_err(failed)?;
    let sealed = writer.finish().and_then(|a| a.finish()).map_err(failed)?;
    String::from_utf8(sealed).map_err(|e| Error::Crypto {
        action: "sealing the backup's key with the passphrase".into(),
        reason: e.to_string(),
    })
}

/// The identity text sealed by [`seal`], or why it cannot be opened.
fn unseal(sealed: &str, passphrase: &SecretString) -> std::result::Result<String, String> {
    let reader = age::armor::ArmoredReader::new(sealed.as_bytes());
    let decryptor = age::Decryptor::new(reader).map_err(|e| e.to_string())?;
    let mut identity = age::scrypt::Identity::new(SecretString::from(
        age::secrecy::ExposeSecret::expose_secret(passphrase).to_string(),
    ));
    identity.set_max_work_factor(30);
    let mut text = String::new();
    decryptor
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .map_err(|e| e.to_string())?
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    Ok(text)
}

/// A generated age key pair, for setting up encryption (`dbops backup keygen`).
#[derive(Clone)]
pub struct KeyPair {
    /// The public key (`age1...`): give it to backup hosts.
    pub recipient: String,
    /// The identity (`AGE-SECRET-KEY-1...`): keep it offline, needed to restore.
    pub identity: String,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("recipient", &self.recipient)
            .field("identity", &"***")
            .finish()
    }
}

/// Generates a new age X25519 key pair.
pub fn generate_key_pair() -> KeyPair {
    let identity = age::x25519::Identity::generate();
    KeyPair {
        recipient: identity.to_public().to_string(),
        identity: age::secrecy::ExposeSecret::expose_secret(&identity.to_string()).to_string(),
    }
}

/// First 16 hex digits of the sha256 of a recipient string.
pub fn fingerprint(recipient: &str) -> String {
    hex::encode(&Sha256::digest(recipient.trim().as_bytes())[..8])
}

/// A writer that must be finished (flushing trailers: compression frames, the last AEAD chunk) before
/// its output is complete.
pub(crate) trait FinishWrite: Write + Send {
    /// Writes any trailer and finishes the layers below.
    fn finish_all(self: Box<Self>) -> std::io::Result<()>;
}

impl FinishWrite for age::stream::StreamWriter<Box<dyn FinishWrite>> {
    fn finish_all(self: Box<Self>) -> std::io::Result<()> {
        (*self).finish()?.finish_all()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::VecSink;
    use std::sync::Mutex;

    fn encrypt(encryption: &Encryption, plain: &[u8]) -> Vec<u8> {
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut writer = encryption.wrap(Box::new(VecSink(out.clone()))).unwrap();
        writer.write_all(plain).unwrap();
        writer.finish_all().unwrap();
        out.lock().unwrap().clone()
    }

    fn decrypt(decryption: &Decryption, stored: Vec<u8>, sealed: Option<&str>) -> Result<Vec<u8>> {
        let mut reader = decryption.wrap(Box::new(std::io::Cursor::new(stored)), "k", sealed)?;
        let mut plain = Vec::new();
        reader.read_to_end(&mut plain).unwrap();
        Ok(plain)
    }

    #[test]
    fn a_passphrase_backup_encrypts_its_objects_to_one_sealed_key() {
        let (encryption, info) = Encryption::passphrase("right").for_one_backup().unwrap();
        assert_eq!(info.mode, EncryptionMode::Passphrase);
        let sealed = info.sealed_identity.unwrap();
        assert!(
            sealed.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
            "{sealed}"
        );
        assert!(!sealed.contains("AGE-SECRET-KEY"));
        let objects: Vec<Vec<u8>> = (0..3u8).map(|i| encrypt(&encryption, &[i; 100])).collect();
        // The objects are encrypted to the backup's key pair: no per-object key derivation.
        assert!(
            objects
                .iter()
                .all(|o| !String::from_utf8_lossy(o).contains("scrypt"))
        );
        let right = Decryption::none().with_passphrase("right");
        for (i, object) in objects.iter().enumerate() {
            let plain = decrypt(&right, object.clone(), Some(&sealed)).unwrap();
            assert_eq!(plain, [i as u8; 100]);
        }
        // Opened once, for all of them.
        assert_eq!(right.opened.lock().unwrap().len(), 1);
        let wrong = decrypt(
            &Decryption::none().with_passphrase("wrong"),
            objects[0].clone(),
            Some(&sealed),
        )
        .unwrap_err();
        assert!(
            wrong.to_string().contains("right key or passphrase"),
            "{wrong}"
        );
        let none = decrypt(&Decryption::none(), objects[0].clone(), Some(&sealed)).unwrap_err();
        assert!(none.to_string().contains("--passphrase-env"), "{none}");
    }

    #[test]
    fn objects_each_encrypted_with_the_passphrase_still_decrypt() {
        // Passphrase backups without a sealed key (and WAL segments, base backups) are age scrypt
        // files of their own.
        let stored = encrypt(&Encryption::passphrase("right"), b"older backup");
        assert!(String::from_utf8_lossy(&stored).contains("scrypt"));
        let right = Decryption::none().with_passphrase("right");
        assert_eq!(decrypt(&right, stored, None).unwrap(), b"older backup");
    }
}
