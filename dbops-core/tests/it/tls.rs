//! TLS to PostgreSQL honours libpq's sslmode semantics (real server with ssl=on, real certificates).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use dbops::{DatabaseUrl, Listen, TempCluster};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn ca(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }
    fn other_ca(&self) -> String {
        self.dir.path().join("other-ca.pem").display().to_string()
    }
}

fn make_ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A CA, a server certificate for `localhost` signed by it, and an unrelated CA. The server files go
/// into the data directory, owned by the server's OS user with mode 0600.
fn install_pki(cluster: &TempCluster) -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let ca = make_ca("dbops test ca");
    let other = make_ca("unrelated ca");
    let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    params
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.path().join("other-ca.pem"), other.pem()).unwrap();

    let data = cluster.data_dir();
    let owner = std::fs::metadata(data).unwrap();
    for (name, body) in [
        ("server.crt", cert.pem()),
        ("server.key", key.serialize_pem()),
    ] {
        let path = data.join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&path, Some(owner.uid()), Some(owner.gid())).unwrap();
    }
    Pki { dir }
}

async fn enable_ssl(cluster: &TempCluster) {
    let client = cluster.url().connect().await.unwrap();
    for sql in [
        "ALTER SYSTEM SET ssl_cert_file = 'server.crt'",
        "ALTER SYSTEM SET ssl_key_file = 'server.key'",
        "ALTER SYSTEM SET ssl = on",
        "SELECT pg_reload_conf()",
    ] {
        client.simple_query(sql).await.unwrap();
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
}

async fn uses_ssl(url: &DatabaseUrl) -> dbops::Result<bool> {
    let client = url.connect().await?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap();
    Ok(row.get(0))
}

fn with_host(url: &DatabaseUrl, host: &str) -> DatabaseUrl {
    DatabaseUrl::tcp(
        host,
        url.port(),
        url.user().unwrap(),
        url.password(),
        &url.database(),
    )
}

#[tokio::test]
async fn sslmodes_behave_like_libpq() {
    let cluster = TempCluster::builder()
        .listen(Listen::Tcp)
        .start()
        .await
        .unwrap();
    let pki = install_pki(&cluster);
    enable_ssl(&cluster).await;
    let tcp = with_host(&cluster.tcp_url().unwrap(), "localhost");

    assert!(
        !uses_ssl(&tcp.with_param("sslmode", "disable"))
            .await
            .unwrap()
    );
    assert!(
        uses_ssl(&tcp.with_param("sslmode", "prefer"))
            .await
            .unwrap(),
        "prefer did not negotiate TLS"
    );
    assert!(
        uses_ssl(&tcp.with_param("sslmode", "require"))
            .await
            .unwrap()
    );

    let full = tcp
        .with_param("sslmode", "verify-full")
        .with_param("sslrootcert", &pki.ca());
    assert!(uses_ssl(&full).await.unwrap());

    // Wrong CA: refused, and the error says it was the certificate.
    let wrong = tcp
        .with_param("sslmode", "verify-ca")
        .with_param("sslrootcert", &pki.other_ca());
    let err = uses_ssl(&wrong).await.unwrap_err();
    let text = dbops::error::report(&err).to_lowercase();
    assert!(text.contains("certificate"), "{text}");
    assert!(!text.contains(tcp.password().unwrap()), "{text}");

    // The certificate names localhost, not 127.0.0.1: verify-full refuses, verify-ca accepts.
    let by_ip = with_host(&tcp, "127.0.0.1");
    let err = uses_ssl(
        &by_ip
            .with_param("sslmode", "verify-full")
            .with_param("sslrootcert", &pki.ca()),
    )
    .await
    .unwrap_err();
    assert!(
        dbops::error::report(&err)
            .to_lowercase()
            .contains("certificate")
    );
    assert!(
        uses_ssl(
            &by_ip
                .with_param("sslmode", "verify-ca")
                .with_param("sslrootcert", &pki.ca())
        )
        .await
        .unwrap()
    );

    // verify-full without any root certificate is a configuration error naming the fix.
    let missing = tcp.with_param("sslmode", "verify-full");
    if !Path::new(&format!(
        "{}/.postgresql/root.crt",
        std::env::var("HOME").unwrap_or_default()
    ))
    .exists()
    {
        let err = uses_ssl(&missing).await.unwrap_err();
        assert!(dbops::error::report(&err).contains("sslrootcert"));
    }

    // The pool uses the same TLS settings.
    let pool = full.pool(&Default::default()).unwrap();
    let conn = pool.get().await.unwrap();
    let ssl: bool = conn
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(ssl);
}

#[tokio::test]
async fn require_fails_against_a_server_without_tls() {
    let cluster = TempCluster::builder()
        .listen(Listen::Tcp)
        .start()
        .await
        .unwrap();
    let tcp = cluster.tcp_url().unwrap();
    let err = uses_ssl(&tcp.with_param("sslmode", "require"))
        .await
        .unwrap_err();
    let text = dbops::error::report(&err);
    assert!(
        text.to_lowercase().contains("tls") || text.to_lowercase().contains("ssl"),
        "{text}"
    );
    assert!(
        !uses_ssl(&tcp).await.unwrap(),
        "prefer fell back to plain text"
    );
    let bad = tcp.with_param("sslmode", "verify-everything");
    assert!(dbops::error::report(&bad.connect().await.unwrap_err()).contains("sslmode"));
}
