//! Locations as `object_store` handles.
//!
//! Every landing, lake and publish location — a local path included — becomes
//! a [`Location`]: an object store plus a prefix inside it. Local folders,
//! `memory://`, `s3://` (and S3-compatible servers), `gs://`, `az://` and
//! read-only `http(s)://` are supported; [`open`] builds the stores from the
//! URL, the cloud's standard environment variables and the `[storage]`
//! config. This module offers the few operations the pipeline needs (read,
//! ranged parallel reads of large objects, atomic put, create-only put for
//! commits, listing one level by prefix and delimiter) and knows nothing
//! about tables, nights or reports. It never logs or prints a credential.

pub mod open;
mod read;

use std::fmt;
use std::io::Read;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures::TryStreamExt;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectMeta, ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use tokio::io::AsyncWriteExt;
use url::Url;

pub use open::{AzureOptions, GcsOptions, RetryOptions, S3Options, StorageOptions, StoreKind};
pub use read::ParquetRanges;

/// A storage failure, naming the location. The store's own error is kept
/// (`cause`) and shown once, shortened, in the message: object_store's
/// errors already repeat each underlying cause in their text, so they are
/// not chained again as `source()`.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("location {location:?} is not a valid path or URL: {message}")]
    BadLocation { location: String, message: String },
    #[error("cannot open location {location}: {}", summary(cause))]
    Open { location: String, cause: object_store::Error },
    #[error("cannot open location {location}: {message}")]
    Credentials { location: String, message: String },
    #[error("{op} {url}: {}{}", summary(cause), hint(cause))]
    Store {
        op: &'static str,
        url: String,
        cause: object_store::Error,
    },
    #[error("upload {path} to {url}: {}{}", summary(cause), hint(cause))]
    Upload { path: PathBuf, url: String, cause: std::io::Error },
    #[error(
        "{op} {url}: an http(s) location is read-only; use it for landing (or to verify a bundle), not for the lake or the publish root"
    )]
    ReadOnly { op: &'static str, url: String },
    #[error("{op} {path}: {source}")]
    Local {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A store error's text with an S3/Azure XML error body cut down to its
/// code and message (request ids and host ids help no operator).
fn summary(e: &dyn std::error::Error) -> String {
    let text = e.to_string();
    let (Some(start), Some(end)) = (text.find("<?xml"), text.find("</Error>")) else {
        return text;
    };
    let body = &text[start..end];
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let from = body.find(&open)? + open.len();
        Some(body[from..].split('<').next().unwrap_or("").to_string())
    };
    let short = match (tag("Code"), tag("Message")) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        _ => return text,
    };
    format!("{}{short}{}", &text[..start], &text[end + "</Error>".len()..])
}

/// What to do about a store error, for the operator.
fn hint(e: &(dyn std::error::Error + 'static)) -> &'static str {
    let store_error = e.downcast_ref::<object_store::Error>().or_else(|| {
        e.downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<object_store::Error>())
    });
    let text = e.to_string();
    let has = |s: &str| text.contains(s);
    if matches!(store_error, Some(object_store::Error::NotImplemented { .. })) {
        " (this store cannot do that; the lake commits a night with a create-only write, \
         which needs conditional writes: S3 `If-None-Match`, GCS, Azure, a local disk)"
    } else if has("NoSuchBucket") || has("ContainerNotFound") || has("The specified bucket does not exist") {
        " (the bucket does not exist: create it, or correct the location)"
    } else if matches!(
        store_error,
        Some(object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. })
    ) || has("SignatureDoesNotMatch")
        || has("InvalidAccessKeyId")
        || has("AccessDenied")
        || has("AuthenticationFailed")
    {
        " (the store refused the credentials: check the access key and secret in the environment — \
         AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the variables [storage.s3] names — and that they may use this bucket)"
    } else if has("error sending request") || has("Connect") || has("connection") || has("timed out") {
        " (the store did not answer after the retries of [storage]: check the endpoint and the network; nothing was committed, \
         so running again is safe)"
    } else {
        ""
    }
}

type Result<T, E = StorageError> = std::result::Result<T, E>;

/// One level of a location: sub-folders and objects, each sorted by name.
#[derive(Debug, Clone, Default)]
pub struct Listing {
    pub dirs: Vec<String>,
    pub files: Vec<(String, ObjectMeta)>,
}

/// An object-store location: a store and a prefix inside it.
#[derive(Clone)]
pub struct Location {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    /// The base URL, always ending in `/` (e.g. `file:///srv/lake/`).
    url: Url,
    kind: StoreKind,
    /// For local locations, the folder on disk (symlink checks, fast reads).
    local_root: Option<PathBuf>,
}

/// The URL and the store's kind and bucket; never a credential.
impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Location")
            .field("url", &self.url.as_str())
            .field("store", &format_args!("{}", self.store))
            .finish()
    }
}

impl Location {
    /// Parse a path or URL with the default [`StorageOptions`] (credentials
    /// from the cloud's standard environment variables only).
    pub fn parse(location: &str) -> Result<Location> {
        Self::open(location, &StorageOptions::default())
    }

    /// Open a path or URL (`file://`, `s3://`, `gs://`, `az://`,
    /// `http(s)://`, `memory://`) with the config's `[storage]` settings.
    pub fn open(location: &str, options: &StorageOptions) -> Result<Location> {
        let bad = |message: String| StorageError::BadLocation {
            location: location.to_string(),
            message,
        };
        if !crate::config::has_scheme(location) {
            return Self::local(FsPath::new(location));
        }
        let url = Url::parse(location).map_err(|e| bad(e.to_string()))?;
        if url.scheme() == "file" {
            let path = url
                .to_file_path()
                .map_err(|()| bad("a file:// URL needs an absolute path".into()))?;
            return Self::local(&path);
        }
        let (store, prefix, kind) = open::build(&url, options)?;
        let mut base = url.clone();
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        Ok(Location {
            store,
            prefix,
            url: base,
            kind,
            local_root: None,
        })
    }

    /// A location inside an existing store (tests, in-memory stores).
    pub fn from_store(store: Arc<dyn ObjectStore>, url: &str) -> Location {
        let mut base = Url::parse(url).unwrap_or_else(|_| Url::parse("memory:///").unwrap_or_else(|_| unreachable!()));
        let prefix = Path::from(base.path().trim_matches('/'));
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        Location {
            store,
            prefix,
            url: base,
            kind: StoreKind::Memory,
            local_root: None,
        }
    }

    /// The folder `rel` inside this location, in the same store.
    pub fn join(&self, rel: &str) -> Location {
        let rel = rel.trim_matches('/');
        let mut url = self.url.clone();
        if !rel.is_empty() {
            url.set_path(&format!("{}{rel}/", self.url.path()));
        }
        Location {
            store: self.store.clone(),
            prefix: self.path(rel),
            url,
            kind: self.kind,
            local_root: self.local_root.as_ref().map(|r| r.join(rel)),
        }
    }

    fn local(path: &FsPath) -> Result<Location> {
        let abs = std::path::absolute(path).map_err(|source| StorageError::Local {
            op: "resolve",
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::create_dir_all(&abs).map_err(|source| StorageError::Local {
            op: "create folder",
            path: abs.clone(),
            source,
        })?;
        let prefix = Path::from_absolute_path(&abs).map_err(|e| StorageError::Open {
            location: abs.display().to_string(),
            cause: e.into(),
        })?;
        let mut url = Url::from_directory_path(&abs).map_err(|()| StorageError::BadLocation {
            location: abs.display().to_string(),
            message: "not an absolute path".into(),
        })?;
        url.set_query(None);
        Ok(Location {
            store: Arc::new(LocalFileSystem::new()),
            prefix,
            url,
            kind: StoreKind::Local,
            local_root: Some(abs),
        })
    }

    /// What kind of store the location is in.
    pub fn kind(&self) -> StoreKind {
        self.kind
    }

    /// The URL that names the store itself (`s3://bucket`, `memory://`),
    /// under which a DataFusion context finds it.
    pub fn store_url(&self) -> Url {
        let mut u = self.url.clone();
        u.set_path("/");
        u.set_query(None);
        u
    }

    /// The location's base URL (ends with `/`).
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The URL of a relative path inside the location.
    pub fn url_of(&self, rel: &str) -> String {
        format!("{}{}", self.url, rel)
    }

    pub fn store(&self) -> Arc<dyn ObjectStore> {
        self.store.clone()
    }

    /// The folder on disk, for a local location.
    pub fn local_root(&self) -> Option<&FsPath> {
        self.local_root.as_deref()
    }

    /// Object path of `rel` (`a/b/c`), inside the prefix.
    pub fn path(&self, rel: &str) -> Path {
        let mut p = self.prefix.clone();
        for part in rel.split('/').filter(|s| !s.is_empty()) {
            p = p.join(part);
        }
        p
    }

    /// Writes to a read-only (http) location fail before any request.
    fn writable(&self, op: &'static str, rel: &str) -> Result<()> {
        if self.kind == StoreKind::Http {
            return Err(StorageError::ReadOnly { op, url: self.url_of(rel) });
        }
        Ok(())
    }

    fn err(&self, op: &'static str, rel: &str) -> impl FnOnce(object_store::Error) -> StorageError + '_ {
        let url = self.url_of(rel);
        move |cause| StorageError::Store { op, url, cause }
    }

    /// Read a whole object (small files: ledger entries, `_DONE`).
    pub async fn get(&self, rel: &str) -> Result<Bytes> {
        let r = self.store.get(&self.path(rel)).await.map_err(self.err("read", rel))?;
        r.bytes().await.map_err(self.err("read", rel))
    }

    /// Read a whole object, `None` when it does not exist.
    pub async fn get_opt(&self, rel: &str) -> Result<Option<Bytes>> {
        match self.store.get(&self.path(rel)).await {
            Ok(r) => Ok(Some(r.bytes().await.map_err(self.err("read", rel))?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err("read", rel)(e)),
        }
    }

    /// Size and version of an object, `None` when it does not exist.
    pub async fn head_opt(&self, rel: &str) -> Result<Option<ObjectMeta>> {
        match self.store.head(&self.path(rel)).await {
            Ok(m) => Ok(Some(m)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err("inspect", rel)(e)),
        }
    }

    /// Write an object, replacing any previous one. Readers see the old or
    /// the new object, never a part (local: temp file + rename; S3: one PUT).
    pub async fn put(&self, rel: &str, bytes: impl Into<Bytes>) -> Result<()> {
        self.writable("write", rel)?;
        self.store
            .put(&self.path(rel), PutPayload::from(bytes.into()))
            .await
            .map_err(self.err("write", rel))?;
        Ok(())
    }

    /// Write an object only if none exists: the commit primitive (local:
    /// hard link of a temp file; S3: `If-None-Match: *`; GCS and Azure: their
    /// preconditions). Returns `false` when another writer committed first.
    pub async fn put_new(&self, rel: &str, bytes: impl Into<Bytes>) -> Result<bool> {
        self.writable("create", rel)?;
        let opts = PutOptions {
            mode: PutMode::Create,
            ..Default::default()
        };
        match self.store.put_opts(&self.path(rel), PutPayload::from(bytes.into()), opts).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(e) => Err(self.err("create", rel)(e)),
        }
    }

    /// Stream a local file into the location (multipart for large files,
    /// aborted on failure: an incomplete upload is never visible).
    pub async fn upload_file(&self, local: &FsPath, rel: &str) -> Result<()> {
        self.writable("upload", rel)?;
        let mut file = tokio::fs::File::open(local).await.map_err(|source| StorageError::Local {
            op: "open",
            path: local.to_path_buf(),
            source,
        })?;
        let mut w = object_store::buffered::BufWriter::new(self.store.clone(), self.path(rel));
        let failed = |cause| StorageError::Upload {
            path: local.to_path_buf(),
            url: self.url_of(rel),
            cause,
        };
        if let Err(cause) = tokio::io::copy(&mut file, &mut w).await {
            // Best effort: the store may be what failed.
            let _ = w.abort().await;
            return Err(failed(cause));
        }
        // A multipart upload whose completion fails is aborted by `shutdown` itself.
        w.shutdown().await.map_err(failed)
    }

    /// Delete an object; a missing object is not an error.
    pub async fn delete(&self, rel: &str) -> Result<()> {
        self.writable("delete", rel)?;
        match self.store.delete(&self.path(rel)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err("delete", rel)(e)),
        }
    }

    /// One level under `rel`, by prefix and delimiter (one listing request
    /// per 1,000 entries on S3, never a walk of the whole bucket).
    pub async fn list_dir(&self, rel: &str) -> Result<Listing> {
        let base = self.path(rel);
        let res = self.store.list_with_delimiter(Some(&base)).await.map_err(self.err("list", rel))?;
        let mut dirs: Vec<String> = res
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect();
        dirs.sort();
        let mut files: Vec<(String, ObjectMeta)> = res
            .objects
            .into_iter()
            .filter_map(|m| m.location.filename().map(str::to_string).map(|n| (n, m)))
            .collect();
        files.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Listing { dirs, files })
    }

    /// The names of the folders directly under `rel`, sorted.
    pub async fn list_dirs(&self, rel: &str) -> Result<Vec<String>> {
        Ok(self.list_dir(rel).await?.dirs)
    }

    /// The objects directly under `rel` (name, size), sorted by name.
    pub async fn list_files(&self, rel: &str) -> Result<Vec<(String, u64)>> {
        Ok(self.list_dir(rel).await?.files.into_iter().map(|(n, m)| (n, m.size)).collect())
    }

    /// Every object below `rel`, as paths relative to the location, sorted.
    pub async fn list_all(&self, rel: &str) -> Result<Vec<(String, u64)>> {
        let base = self.path(rel);
        let metas: Vec<ObjectMeta> = self.store.list(Some(&base)).try_collect().await.map_err(self.err("list", rel))?;
        let skip = self.prefix.parts().count();
        let mut out: Vec<(String, u64)> = metas
            .into_iter()
            .map(|m| {
                let parts: Vec<String> = m.location.parts().skip(skip).map(|p| p.as_ref().to_string()).collect();
                (parts.join("/"), m.size)
            })
            .collect();
        out.sort();
        Ok(out)
    }

    /// A Parquet file of the location, for the async Parquet reader: ranged
    /// reads of the footer and of the projected columns only.
    pub fn parquet(&self, rel: &str) -> ParquetRanges {
        ParquetRanges::new(self.store.clone(), self.path(rel))
    }

    /// Names of the entries directly under `rel` that are symbolic links
    /// (local locations only; object stores have none). Broken links
    /// included, which object-store listings silently skip.
    pub fn symlinks_in(&self, rel: &str) -> Result<Vec<String>> {
        let Some(root) = &self.local_root else { return Ok(Vec::new()) };
        let dir = root.join(rel);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => {
                return Err(StorageError::Local {
                    op: "list",
                    path: dir,
                    source,
                });
            }
        };
        let mut links = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|source| StorageError::Local {
                op: "list",
                path: dir.clone(),
                source,
            })?;
            let ft = entry.file_type().map_err(|source| StorageError::Local {
                op: "inspect",
                path: entry.path(),
                source,
            })?;
            if ft.is_symlink() {
                links.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        links.sort();
        Ok(links)
    }

    /// Open an object for sequential, blocking reads, with memory bounded
    /// whatever the object's size. Call from a blocking thread
    /// (`spawn_blocking`). Remote objects are fetched by parallel ranged GETs
    /// on the runtime `handle`, pinned to the version `meta` describes.
    pub fn open_blocking(&self, rel: &str, meta: &ObjectMeta, handle: tokio::runtime::Handle) -> Result<Box<dyn Read + Send>> {
        if let Some(root) = &self.local_root {
            let p = root.join(rel);
            let f = std::fs::File::open(&p).map_err(|source| StorageError::Local {
                op: "open",
                path: p,
                source,
            })?;
            return Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, f)));
        }
        Ok(Box::new(read::RangeReader::new(
            self.store.clone(),
            self.path(rel),
            meta,
            self.url_of(rel),
            &handle,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn local_put_new_is_create_only_and_lists() {
        let dir = tempfile::tempdir().unwrap();
        let loc = Location::parse(dir.path().to_str().unwrap()).unwrap();
        assert!(loc.put_new("a/b/x.json", Bytes::from_static(b"1")).await.unwrap());
        assert!(!loc.put_new("a/b/x.json", Bytes::from_static(b"2")).await.unwrap());
        assert_eq!(loc.get("a/b/x.json").await.unwrap(), Bytes::from_static(b"1"));
        assert_eq!(loc.list_dirs("a").await.unwrap(), vec!["b".to_string()]);
        assert_eq!(loc.list_files("a/b").await.unwrap(), vec![("x.json".to_string(), 1)]);
        assert_eq!(loc.get_opt("nope").await.unwrap(), None);
        assert!(loc.url().as_str().starts_with("file:///"));
    }

    #[tokio::test]
    async fn http_locations_are_read_only_and_urls_keep_no_password() {
        let loc = Location::parse("https://example.org/landing").unwrap();
        assert_eq!(loc.kind(), StoreKind::Http);
        assert_eq!(loc.store_url().as_str(), "https://example.org/");
        let err = loc.put("x", Bytes::from_static(b"1")).await.unwrap_err().to_string();
        assert!(
            err.starts_with("write https://example.org/landing/x: an http(s) location is read-only"),
            "{err}"
        );
        let err = Location::parse("https://user:hunter2@example.org/landing").unwrap_err().to_string();
        assert!(
            err.contains("credentials do not belong in a location URL") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn store_errors_are_shortened_and_say_what_to_do() {
        let e = std::io::Error::other(
            "Error performing GET http://h/b?list-type=2 in 4ms - Server returned non-2xx status code: 404 Not Found: \
             <?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message>\
             <RequestId>abc</RequestId></Error>",
        );
        assert_eq!(
            summary(&e),
            "Error performing GET http://h/b?list-type=2 in 4ms - Server returned non-2xx status code: 404 Not Found: \
             NoSuchBucket: The specified bucket does not exist"
        );
        assert!(hint(&e).contains("the bucket does not exist: create it"));
        let denied = std::io::Error::other("403 Forbidden: <Error><Code>SignatureDoesNotMatch</Code></Error>");
        assert!(hint(&denied).contains("refused the credentials"));
        assert_eq!(summary(&std::io::Error::other("plain")), "plain");
    }

    #[test]
    fn a_named_credential_variable_must_be_set() {
        let mut options = StorageOptions::default();
        options.s3.access_key_id_env = Some("WASNAKER_TEST_UNSET_KEY_ID".into());
        options.s3.secret_access_key_env = Some("WASNAKER_TEST_UNSET_SECRET".into());
        let err = Location::open("s3://bucket/lake", &options).unwrap_err().to_string();
        assert!(
            err.contains("s3://bucket/lake")
                && err.contains("storage.s3.access_key_id_env names the environment variable WASNAKER_TEST_UNSET_KEY_ID, which is not set"),
            "{err}"
        );
    }

    #[test]
    fn s3_locations_name_their_bucket_for_datafusion() {
        let loc = Location::open("s3://lake-bucket/wasnaker/lake", &StorageOptions::default()).unwrap();
        assert_eq!(loc.kind(), StoreKind::S3);
        assert_eq!(loc.store_url().as_str(), "s3://lake-bucket/");
        assert_eq!(loc.url_of("ledger/x.json"), "s3://lake-bucket/wasnaker/lake/ledger/x.json");
        assert_eq!(loc.path("ledger/x.json").as_ref(), "wasnaker/lake/ledger/x.json");
        let debug = format!("{loc:?}");
        assert!(
            debug.contains("s3://lake-bucket/wasnaker/lake/") && debug.contains("AmazonS3(lake-bucket)"),
            "{debug}"
        );
    }
}
