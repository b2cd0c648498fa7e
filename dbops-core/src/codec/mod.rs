//! How stored objects are encoded, for backups and WAL archiving alike: compression (zstd, gzip, lz4
//! or none) and age encryption (recipients or a passphrase), as layers over any writer or reader, and
//! the channels that carry chunks between the encoding thread and the async side.

mod compression;
mod crypto;

pub use compression::Compression;
#[cfg(any(feature = "pitr", test))]
pub(crate) use compression::VecSink;
pub(crate) use compression::{CHUNK, ChannelSink, ChannelSource};
#[cfg(feature = "pitr")]
pub(crate) use crypto::FinishWrite;
pub use crypto::{
    Decryption, Encryption, EncryptionInfo, EncryptionMode, KeyPair, fingerprint, generate_key_pair,
};
