//! Turning a location URL and the `[storage]` settings into an object store.
//!
//! One builder per kind of store (`AmazonS3Builder`, `GoogleCloudStorageBuilder`,
//! `MicrosoftAzureBuilder`, `HttpBuilder`), each started from the standard
//! environment variables of its cloud (`AWS_*`, `GOOGLE_*`, `AZURE_*`), then
//! given what the config says: an endpoint for S3-compatible servers,
//! path-style or virtual-hosted requests, and the names of other environment
//! variables holding the credentials. Secrets are read here and handed to the
//! builder only: [`StorageOptions`] holds variable *names*, so printing the
//! config cannot leak a secret, and a [`super::Location`] prints as its URL and
//! the store's kind and bucket. A URL carrying a password is refused.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::azure::MicrosoftAzureBuilder;
use object_store::gcp::GoogleCloudStorageBuilder;
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::memory::InMemory;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreScheme, RetryConfig};
use url::Url;

use super::StorageError;

/// How to reach object stores: the `[storage]` section of the config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StorageOptions {
    pub s3: S3Options,
    pub gcs: GcsOptions,
    pub azure: AzureOptions,
    pub retry: RetryOptions,
}

/// `[storage.s3]`: S3 and S3-compatible servers (MinIO, Ceph, moto, …).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct S3Options {
    /// Endpoint of an S3-compatible server, e.g. `http://127.0.0.1:9000`
    /// (default: AWS, from the region).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Allow plain `http://` endpoints.
    pub allow_http: bool,
    /// `https://<bucket>.<endpoint>/key` instead of `https://<endpoint>/<bucket>/key`
    /// (path style, the default, is what most S3-compatible servers expect).
    pub virtual_hosted_style: bool,
    /// Environment variables holding the credentials (default: the
    /// standard `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`).
    pub access_key_id_env: Option<String>,
    pub secret_access_key_env: Option<String>,
    pub session_token_env: Option<String>,
}

/// `[storage.gcs]`: Google Cloud Storage.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GcsOptions {
    /// A service-account JSON key file (default: `GOOGLE_SERVICE_ACCOUNT`,
    /// `GOOGLE_APPLICATION_CREDENTIALS` or the instance's identity).
    pub service_account_file: Option<PathBuf>,
}

/// `[storage.azure]`: Azure Blob Storage.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AzureOptions {
    pub account: Option<String>,
    /// Environment variable holding the account key (default: `AZURE_STORAGE_ACCOUNT_KEY`).
    pub access_key_env: Option<String>,
    /// Endpoint of an Azure-compatible server (e.g. Azurite).
    pub endpoint: Option<String>,
    pub allow_http: bool,
}

/// `[storage]`: how hard to try before a request fails.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryOptions {
    /// Retries of one request (connection refused, 5xx, timeouts), with
    /// exponential backoff from 100 ms.
    pub max_retries: usize,
    /// No retry starts later than this after the first attempt.
    pub retry_timeout: Duration,
    /// One request, from sending to the last byte of the answer.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for RetryOptions {
    /// object_store's defaults.
    fn default() -> Self {
        RetryOptions {
            max_retries: 10,
            retry_timeout: Duration::from_secs(180),
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(5),
        }
    }
}

/// What kind of store a location is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Local,
    Memory,
    S3,
    Gcs,
    Azure,
    /// Read-only: plain HTTP(S), listing through WebDAV.
    Http,
}

/// The store for a URL (not `file://`), and the prefix inside it.
pub(super) fn build(url: &Url, opts: &StorageOptions) -> Result<(Arc<dyn ObjectStore>, Path, StoreKind), StorageError> {
    let location = url.to_string();
    let open = |cause: object_store::Error| StorageError::Open {
        location: location.clone(),
        cause,
    };
    if url.password().is_some() {
        return Err(StorageError::BadLocation {
            location: redacted(url),
            message: "credentials do not belong in a location URL: give them in the environment (see [storage] in the README)".into(),
        });
    }
    let (scheme, prefix) = ObjectStoreScheme::parse(url).map_err(|e| open(e.into()))?;
    let retry = RetryConfig {
        backoff: BackoffConfig::default(),
        max_retries: opts.retry.max_retries,
        retry_timeout: opts.retry.retry_timeout,
    };
    let client = ClientOptions::new()
        .with_timeout(opts.retry.request_timeout)
        .with_connect_timeout(opts.retry.connect_timeout);
    let (store, kind): (Arc<dyn ObjectStore>, StoreKind) = match scheme {
        ObjectStoreScheme::Local => (Arc::new(LocalFileSystem::new()), StoreKind::Local),
        ObjectStoreScheme::Memory => (Arc::new(InMemory::new()), StoreKind::Memory),
        ObjectStoreScheme::AmazonS3 => {
            let s3 = &opts.s3;
            let mut b = AmazonS3Builder::from_env()
                .with_url(url.as_str())
                .with_client_options(client)
                .with_retry(retry)
                .with_allow_http(s3.allow_http)
                .with_virtual_hosted_style_request(s3.virtual_hosted_style);
            if let Some(e) = &s3.endpoint {
                b = b.with_endpoint(e);
            }
            if let Some(r) = &s3.region {
                b = b.with_region(r);
            }
            if let Some(v) = &s3.access_key_id_env {
                b = b.with_access_key_id(secret(v, "storage.s3.access_key_id_env", &location)?);
            }
            if let Some(v) = &s3.secret_access_key_env {
                b = b.with_secret_access_key(secret(v, "storage.s3.secret_access_key_env", &location)?);
            }
            if let Some(v) = &s3.session_token_env {
                b = b.with_token(secret(v, "storage.s3.session_token_env", &location)?);
            }
            (Arc::new(b.build().map_err(open)?), StoreKind::S3)
        }
        ObjectStoreScheme::GoogleCloudStorage => {
            let mut b = GoogleCloudStorageBuilder::from_env()
                .with_url(url.as_str())
                .with_client_options(client)
                .with_retry(retry);
            if let Some(f) = &opts.gcs.service_account_file {
                b = b.with_service_account_path(f.to_string_lossy());
            }
            (Arc::new(b.build().map_err(open)?), StoreKind::Gcs)
        }
        ObjectStoreScheme::MicrosoftAzure => {
            let az = &opts.azure;
            let mut b = MicrosoftAzureBuilder::from_env()
                .with_url(url.as_str())
                .with_client_options(client)
                .with_retry(retry)
                .with_allow_http(az.allow_http);
            if let Some(a) = &az.account {
                b = b.with_account(a);
            }
            if let Some(v) = &az.access_key_env {
                b = b.with_access_key(secret(v, "storage.azure.access_key_env", &location)?);
            }
            if let Some(e) = &az.endpoint {
                b = b.with_endpoint(e.clone());
            }
            (Arc::new(b.build().map_err(open)?), StoreKind::Azure)
        }
        ObjectStoreScheme::Http => {
            let base = &url[..url::Position::BeforePath];
            let b = HttpBuilder::new()
                .with_url(base)
                .with_client_options(client.with_allow_http(url.scheme() == "http"))
                .with_retry(retry);
            (Arc::new(b.build().map_err(open)?), StoreKind::Http)
        }
        other => {
            return Err(StorageError::BadLocation {
                location,
                message: format!("unsupported kind of store {other:?}: use a path, file://, s3://, gs://, az:// or http(s)://"),
            });
        }
    };
    Ok((store, prefix, kind))
}

/// The value of the environment variable a config key names.
fn secret(var: &str, key: &str, location: &str) -> Result<String, StorageError> {
    std::env::var(var).map_err(|_| StorageError::Credentials {
        location: location.to_string(),
        message: format!(
            "{key} names the environment variable {var}, which is not set: export it, or remove {key} to use the cloud's standard variables"
        ),
    })
}

/// A URL for messages: without a password.
pub(super) fn redacted(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_password(None);
    u.to_string()
}
