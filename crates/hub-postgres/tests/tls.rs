//! TLS to PostgreSQL through the database URL (`sslmode`, `sslrootcert`), against the test
//! server (`HUB_TEST_DATABASE_URL`). The server must have `ssl = on`, as Debian's packaged
//! PostgreSQL has by default (its snake-oil certificate); the test says so and fails otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests fail loudly.

use hub_test_utils::admin_database_url;

fn with_params(url: &str, params: &str) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!("{url}{separator}{params}")
}

async fn session_uses_tls(url: &str) -> Result<bool, sqlx::Error> {
    let pool = hub_postgres::connect(url, 1).await?;
    let ssl: bool = sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        .fetch_one(&pool)
        .await?;
    pool.close().await;
    Ok(ssl)
}

/// The server's own certificate file, which for a self-signed certificate is also its CA.
async fn server_certificate() -> String {
    let pool = hub_postgres::connect(&admin_database_url(), 1)
        .await
        .unwrap();
    let ssl: String = sqlx::query_scalar("SHOW ssl")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        ssl, "on",
        "the test server has ssl = off: turn it on (ssl_cert_file, ssl_key_file) to test TLS"
    );
    let file: String = sqlx::query_scalar("SHOW ssl_cert_file")
        .fetch_one(&pool)
        .await
        .unwrap();
    pool.close().await;
    file
}

#[tokio::test]
async fn sslmode_require_encrypts_the_session_and_disable_does_not() {
    let base = admin_database_url();
    server_certificate().await;
    assert!(
        session_uses_tls(&with_params(&base, "sslmode=require"))
            .await
            .unwrap()
    );
    assert!(
        !session_uses_tls(&with_params(&base, "sslmode=disable"))
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn verify_ca_accepts_the_servers_ca_and_refuses_another() {
    let base = admin_database_url();
    let certificate = server_certificate().await;
    let url = with_params(
        &base,
        &format!("sslmode=verify-ca&sslrootcert={certificate}"),
    );
    assert!(session_uses_tls(&url).await.unwrap());
    // A CA that did not sign the server's certificate: the handshake must fail, and the service
    // must not fall back to a plain session.
    let foreign = rcgen::generate_simple_self_signed(vec!["not-the-database".to_owned()]).unwrap();
    let dir = std::env::temp_dir().join(format!("hub-postgres-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("foreign-ca.pem");
    std::fs::write(&ca, foreign.cert.pem()).unwrap();
    let url = with_params(
        &base,
        &format!("sslmode=verify-ca&sslrootcert={}", ca.display()),
    );
    let refused = session_uses_tls(&url).await;
    std::fs::remove_dir_all(&dir).unwrap();
    let error = refused.expect_err("a server certificate from another CA is refused");
    let text = error.to_string().to_lowercase();
    assert!(
        text.contains("certificate") || text.contains("tls") || text.contains("unknown issuer"),
        "{error}"
    );
}
