//! Store URLs: which backend, which bucket, which key prefix, and a form safe to print.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The backend a store URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// `file:///path` or a plain path: a local or mounted directory.
    File,
    /// `s3://bucket/prefix`: AWS S3 or any S3-compatible endpoint.
    S3,
    /// `gs://bucket/prefix`: Google Cloud Storage.
    Gcs,
    /// `az://container/prefix`: Azure Blob Storage.
    Azure,
    /// `memory://name`: in-process, for tests and examples.
    Memory,
}

/// A parsed store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreUrl {
    kind: StoreKind,
    url: url::Url,
    bucket: String,
    prefix: String,
}

impl StoreUrl {
    /// Parses `file:///path`, `/path`, `./path`, `s3://bucket/prefix`, `gs://bucket/prefix`,
    /// `az://container/prefix` or `memory://name`.
    pub fn parse(raw: &str) -> Result<Self> {
        let invalid = |reason: String| {
            Error::config(
                "store url",
                format!(
                    "`{}`: {reason}; expected file:///path, s3://bucket/prefix, gs://bucket/prefix, \
                     az://container/prefix or memory://name",
                    redact(raw)
                ),
            )
        };
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(invalid("it is empty".into()));
        }
        let url = if !trimmed.contains("://") {
            let path = std::path::absolute(trimmed)
                .map_err(|e| invalid(format!("cannot resolve the path: {e}")))?;
            url::Url::from_directory_path(&path)
                .map_err(|()| invalid("not an absolute path".into()))?
        } else {
            url::Url::parse(trimmed).map_err(|e| invalid(e.to_string()))?
        };
        let kind = match url.scheme() {
            "file" => StoreKind::File,
            "s3" | "s3a" => StoreKind::S3,
            "gs" => StoreKind::Gcs,
            "az" | "azure" | "abfs" | "abfss" => StoreKind::Azure,
            "memory" => StoreKind::Memory,
            other => return Err(invalid(format!("unknown scheme `{other}`"))),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "credentials do not belong in the URL; use the cloud's environment variables or options"
                    .into(),
            ));
        }
        let bucket = url.host_str().unwrap_or_default().to_string();
        if kind != StoreKind::File && kind != StoreKind::Memory && bucket.is_empty() {
            return Err(invalid("the bucket or container name is missing".into()));
        }
        let prefix = if kind == StoreKind::File {
            String::new()
        } else {
            let decoded = percent_encoding::percent_decode_str(url.path())
                .decode_utf8_lossy()
                .to_string();
            decoded.trim_matches('/').to_string()
        };
        if prefix.split('/').any(|p| p == "..") {
            return Err(invalid("`..` is not allowed in the prefix".into()));
        }
        Ok(Self {
            kind,
            url,
            bucket,
            prefix,
        })
    }

    /// The backend.
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// The bucket or container (the name for `memory://`).
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// The key prefix inside the bucket, without leading or trailing `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The URL as given (normalised).
    pub fn as_str(&self) -> &str {
        self.url.as_str()
    }

    /// For `file://` URLs: the directory.
    pub fn local_path(&self) -> PathBuf {
        self.url
            .to_file_path()
            .unwrap_or_else(|()| PathBuf::from(self.url.path()))
    }

    /// The URL without query string or credentials, safe for logs and errors.
    pub fn redacted(&self) -> String {
        redact(self.url.as_str())
    }
}

fn redact(raw: &str) -> String {
    let without_query = raw.split(['?', '#']).next().unwrap_or_default();
    match without_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            match rest[..authority_end].rfind('@') {
                Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
                None => without_query.to_string(),
            }
        }
        None => without_query.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_backend() {
        let s3 = StoreUrl::parse("s3://backups/prod/app").unwrap();
        assert_eq!(
            (s3.kind(), s3.bucket(), s3.prefix()),
            (StoreKind::S3, "backups", "prod/app")
        );
        let gs = StoreUrl::parse("gs://b").unwrap();
        assert_eq!((gs.kind(), gs.prefix()), (StoreKind::Gcs, ""));
        let az = StoreUrl::parse("az://container/x/").unwrap();
        assert_eq!(
            (az.kind(), az.bucket(), az.prefix()),
            (StoreKind::Azure, "container", "x")
        );
        let mem = StoreUrl::parse("memory://t1").unwrap();
        assert_eq!((mem.kind(), mem.bucket()), (StoreKind::Memory, "t1"));
        let file = StoreUrl::parse("/var/backups/db").unwrap();
        assert_eq!(file.kind(), StoreKind::File);
        assert_eq!(file.local_path(), PathBuf::from("/var/backups/db"));
    }

    #[test]
    fn rejects_bad_urls_without_echoing_secrets() {
        let err = StoreUrl::parse("s3://key:secret@bucket/x")
            .unwrap_err()
            .to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(StoreUrl::parse("ftp://x").is_err());
        assert!(StoreUrl::parse("s3:///nobucket").is_err());
        assert!(StoreUrl::parse("").is_err());
        let err = StoreUrl::parse("s3://b/x?sig=topsecret")
            .map(|u| u.redacted())
            .unwrap();
        assert!(!err.contains("topsecret"));
    }
}
