//! Locations as `object_store` handles.
//!
//! Every landing, lake and publish location — a local path included — becomes
//! a [`Location`]: an object store plus a prefix inside it, so S3 works the day
//! it is configured. This module offers the few operations the pipeline needs
//! (read, atomic put, create-only put for commits, listing one level) and knows
//! nothing about tables, nights or reports.

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

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("location {location:?} is not a valid path or URL: {message}")]
    BadLocation { location: String, message: String },
    #[error("cannot open location {location}: {source}")]
    Open {
        location: String,
        #[source]
        source: object_store::Error,
    },
    #[error("{op} {url}: {source}")]
    Store {
        op: &'static str,
        url: String,
        #[source]
        source: object_store::Error,
    },
    #[error("{op} {path}: {source}")]
    Local {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

type Result<T, E = StorageError> = std::result::Result<T, E>;

/// An object-store location: a store and a prefix inside it.
#[derive(Debug, Clone)]
pub struct Location {
    store: Arc<dyn ObjectStore>,
    prefix: Path,
    /// The base URL, always ending in `/` (e.g. `file:///srv/lake/`).
    url: Url,
    /// For local locations, the folder on disk (symlink checks, fast reads).
    local_root: Option<PathBuf>,
}

impl Location {
    /// Parse a path or URL (`file://`, `s3://`, `gs://`, `az://`, `http(s)://`,
    /// `memory://`).
    pub fn parse(location: &str) -> Result<Location> {
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
        if url.scheme() == "memory" {
            let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
            return Ok(Self::from_store(store, &format!("memory:///{}", url.path().trim_matches('/'))));
        }
        let options: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_") || k.starts_with("GOOGLE_") || k.starts_with("AZURE_"))
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let (store, prefix) = object_store::parse_url_opts(&url, options).map_err(|source| StorageError::Open {
            location: location.to_string(),
            source,
        })?;
        let mut base = url.clone();
        base.set_query(None);
        base.set_fragment(None);
        if !base.path().ends_with('/') {
            let p = format!("{}/", base.path());
            base.set_path(&p);
        }
        Ok(Location {
            store: Arc::from(store),
            prefix,
            url: base,
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
            local_root: None,
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
        let prefix = Path::from_absolute_path(&abs).map_err(|source| StorageError::Open {
            location: abs.display().to_string(),
            source: source.into(),
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
            local_root: Some(abs),
        })
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

    fn err(&self, op: &'static str, rel: &str) -> impl FnOnce(object_store::Error) -> StorageError + '_ {
        let url = self.url_of(rel);
        move |source| StorageError::Store { op, url, source }
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
        self.store
            .put(&self.path(rel), PutPayload::from(bytes.into()))
            .await
            .map_err(self.err("write", rel))?;
        Ok(())
    }

    /// Write an object only if none exists: the commit primitive. Returns
    /// `false` when another writer committed first.
    pub async fn put_new(&self, rel: &str, bytes: impl Into<Bytes>) -> Result<bool> {
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

    /// Stream a local file into the location (multipart for large files).
    pub async fn upload_file(&self, local: &FsPath, rel: &str) -> Result<()> {
        let mut file = tokio::fs::File::open(local).await.map_err(|source| StorageError::Local {
            op: "open",
            path: local.to_path_buf(),
            source,
        })?;
        let mut w = object_store::buffered::BufWriter::new(self.store.clone(), self.path(rel));
        let io = |source: std::io::Error| StorageError::Local {
            op: "upload",
            path: local.to_path_buf(),
            source,
        };
        tokio::io::copy(&mut file, &mut w).await.map_err(io)?;
        w.shutdown().await.map_err(io)?;
        Ok(())
    }

    /// Delete an object; a missing object is not an error.
    pub async fn delete(&self, rel: &str) -> Result<()> {
        match self.store.delete(&self.path(rel)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err("delete", rel)(e)),
        }
    }

    /// The names of the folders directly under `rel`, sorted.
    pub async fn list_dirs(&self, rel: &str) -> Result<Vec<String>> {
        let base = self.path(rel);
        let res = self.store.list_with_delimiter(Some(&base)).await.map_err(self.err("list", rel))?;
        let mut names: Vec<String> = res
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    /// The objects directly under `rel` (name, size), sorted by name.
    pub async fn list_files(&self, rel: &str) -> Result<Vec<(String, u64)>> {
        let base = self.path(rel);
        let res = self.store.list_with_delimiter(Some(&base)).await.map_err(self.err("list", rel))?;
        let mut files: Vec<(String, u64)> = res
            .objects
            .iter()
            .filter_map(|m| m.location.filename().map(|n| (n.to_string(), m.size)))
            .collect();
        files.sort();
        Ok(files)
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

    /// Open an object for sequential, blocking reads, with memory bounded by
    /// a small buffer whatever the object's size. Call from a blocking thread
    /// (`spawn_blocking`): remote stores are bridged to the runtime `handle`.
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
        let reader = object_store::buffered::BufReader::with_capacity(self.store.clone(), meta, 8 << 20);
        Ok(Box::new(tokio_util::io::SyncIoBridge::new_with_handle(reader, handle)))
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
}
