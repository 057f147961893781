//! Putting a built bundle under `<root>/<YYYY-MM>/` so that it becomes
//! visible complete or not at all, then regenerating `<root>/index.html`.
//!
//! **Local roots** (a folder on disk): the bundle is written into a hidden
//! staging folder `<root>/.staging-<YYYY-MM>-<pid>/` (every file and folder
//! fsynced), which is then swapped with `<root>/<YYYY-MM>/` by one
//! `renameat2(RENAME_EXCHANGE)` (Linux, through `rustix`): at every instant
//! the month's folder is either the complete old bundle or the complete new
//! one, and a `kill -9` at any point leaves one of the two. After the
//! exchange the staging name holds the old bundle, which is deleted. A first
//! publication (no old folder) is a plain `rename`. Leftovers of a killed run
//! (`.staging-*`) are invisible to readers and to `index.html` and are
//! removed by the next publish. We chose the exchange over
//! "rename old away, rename new in" because the latter has a window in which
//! the month is missing; that two-rename path remains only as the fallback
//! for file systems or kernels without `RENAME_EXCHANGE` (and other OSes),
//! where a crash in the window leaves the month absent (never partial) until
//! the next publish. One publisher per root at a time (the scheduler's lock).
//!
//! **Object stores** (S3 and the like) have no folder rename; each object
//! is replaced atomically (one PUT), a folder is not. There `SHA256SUMS` is
//! the commit marker: the old bundle's `SHA256SUMS.sig` and `SHA256SUMS` are
//! deleted first (the month stops claiming completeness), then every other
//! file is written, files of the old bundle that the new one lacks are
//! deleted, and `SHA256SUMS` and then `SHA256SUMS.sig` are written last. A
//! reader (and `wasnaker verify`, and `index.html`, which marks such a month
//! "tidak lengkap") takes a month as published only when its `SHA256SUMS`
//! (and signature) verify; a crash mid-publish leaves a month that fails
//! that check, never one that passes with mixed files. Re-publishing a
//! bundle with the same `SHA256SUMS` (the same month, `as_of` and lake: a
//! re-run) skips the deletion: every file is rewritten with the bytes the
//! standing `SHA256SUMS` lists, so the month verifies at every instant.
//!
//! `index.html` is always written last, by an atomic put.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};

use super::{Bundle, PublishError, SIG, SUMS, index};
use crate::storage::Location;

/// Prefix of staging folders in a local root.
pub const STAGING_PREFIX: &str = ".staging-";

/// Publish a bundle under `<root>/<YYYY-MM>/` and regenerate `index.html`.
pub async fn publish(root: &Location, bundle: &Bundle) -> Result<(), PublishError> {
    for rel in bundle.files.keys() {
        check_rel(rel)?;
    }
    match root.local_root() {
        Some(dir) => {
            let dir = dir.to_path_buf();
            let b = bundle.clone();
            tokio::task::spawn_blocking(move || publish_local(&dir, &b))
                .await
                .map_err(|e| PublishError::Local {
                    op: "publish (task)",
                    path: PathBuf::new(),
                    source: std::io::Error::other(e),
                })??;
        }
        None => publish_object_store(root, bundle).await?,
    }
    index::regenerate(root).await
}

/// A bundle path must be relative, made of plain names.
fn check_rel(rel: &str) -> Result<(), PublishError> {
    let ok = !rel.is_empty()
        && !rel.starts_with('/')
        && !rel.contains('\\')
        && rel
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != ".." && !part.starts_with('.'));
    if ok {
        Ok(())
    } else {
        Err(PublishError::Input {
            message: format!("bundle path {rel:?} is not a plain relative path"),
        })
    }
}

fn io_err<'a>(op: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> PublishError + 'a {
    move |source| PublishError::Local {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Remove what killed runs left: every `.staging-*` entry of the root.
pub fn clean_staging(root: &Path) -> Result<Vec<String>, PublishError> {
    let mut removed = Vec::new();
    let entries = match fs::read_dir(root) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(removed),
        Err(e) => return Err(io_err("list", root)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io_err("list", root))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.starts_with(STAGING_PREFIX) {
            continue;
        }
        let path = entry.path();
        let is_dir = entry.file_type().map_err(io_err("inspect", &path))?.is_dir();
        if is_dir {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        }
        .map_err(io_err("remove leftover", &path))?;
        removed.push(name);
    }
    removed.sort();
    Ok(removed)
}

fn sync_dir(dir: &Path) -> Result<(), PublishError> {
    fs::File::open(dir).and_then(|f| f.sync_all()).map_err(io_err("sync folder", dir))
}

/// Write every file of the bundle into `staging` (created here), durably.
pub fn write_staging(staging: &Path, bundle: &Bundle) -> Result<(), PublishError> {
    fs::create_dir(staging).map_err(io_err("create staging folder", staging))?;
    let mut dirs = std::collections::BTreeSet::new();
    dirs.insert(staging.to_path_buf());
    for (rel, bytes) in &bundle.files {
        let path = staging.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_err("create folder", parent))?;
            dirs.insert(parent.to_path_buf());
        }
        let mut f = fs::File::create(&path).map_err(io_err("create", &path))?;
        f.write_all(bytes).map_err(io_err("write", &path))?;
        f.sync_all().map_err(io_err("sync", &path))?;
    }
    // Children before parents, so every entry is durable before the swap.
    for dir in dirs.iter().rev() {
        sync_dir(dir)?;
    }
    Ok(())
}

/// How the staging folder took the month's place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Swap {
    /// First publication of the month: plain rename.
    New,
    /// Atomic exchange with the old bundle (now at the staging path).
    Exchanged,
    /// Fallback: old renamed away, new renamed in (now at the staging path).
    TwoRenames,
}

/// Put `staging` in the place of `target`; the old bundle, if any, ends up
/// at the `staging` path.
pub fn swap_in(staging: &Path, target: &Path) -> Result<Swap, PublishError> {
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, staging, CWD, target, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(Swap::Exchanged),
            Err(rustix::io::Errno::NOENT) if !target.exists() => {
                fs::rename(staging, target).map_err(io_err("rename into place", target))?;
                return Ok(Swap::New);
            }
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS | rustix::io::Errno::OPNOTSUPP) => {}
            Err(e) => return Err(io_err("exchange into place", target)(e.into())),
        }
    }
    if !target.exists() {
        fs::rename(staging, target).map_err(io_err("rename into place", target))?;
        return Ok(Swap::New);
    }
    let old = staging.with_extension("old");
    fs::rename(target, &old).map_err(io_err("move old bundle away", target))?;
    fs::rename(staging, target).map_err(io_err("rename into place", target))?;
    fs::rename(&old, staging).map_err(io_err("move old bundle", &old))?;
    Ok(Swap::TwoRenames)
}

/// The local publication: stage, swap, clean up.
pub fn publish_local(root: &Path, bundle: &Bundle) -> Result<Swap, PublishError> {
    let month = bundle.month.to_string();
    fs::create_dir_all(root).map_err(io_err("create folder", root))?;
    let removed = clean_staging(root)?;
    if !removed.is_empty() {
        tracing::warn!(month = %month, leftovers = ?removed, "removed staging folders left by an interrupted publish");
    }
    let staging = root.join(format!("{STAGING_PREFIX}{month}-{}", std::process::id()));
    write_staging(&staging, bundle)?;
    let target = root.join(&month);
    let how = swap_in(&staging, &target)?;
    sync_dir(root)?;
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(io_err("remove old bundle", &staging))?;
    }
    tracing::info!(month = %month, files = bundle.files.len(), swap = ?how, "bundle published");
    Ok(how)
}

fn store_err(root: &Location, rel: &str) -> impl FnOnce(crate::storage::StorageError) -> PublishError {
    let url = root.url_of(rel);
    move |source| PublishError::Storage {
        url,
        source: Box::new(source),
    }
}

/// Files of a bundle written to an object store at the same time.
const PUTS: usize = 8;

async fn publish_object_store(root: &Location, bundle: &Bundle) -> Result<(), PublishError> {
    let month = bundle.month.to_string();
    let at = |rel: &str| format!("{month}/{rel}");
    // 0. What the month holds now: one listing of its prefix (a missing
    //    bucket or refused credentials stop the publication here).
    let existing = root.list_all(&month).await.map_err(store_err(root, &month))?;
    let old_sums = match existing.iter().any(|(p, _)| *p == at(SUMS)) {
        true => root.get_opt(&at(SUMS)).await.map_err(store_err(root, &at(SUMS)))?,
        false => None,
    };
    // 1. The old bundle stops claiming completeness — unless the new one has
    //    the very same SHA256SUMS: then every file is rewritten with the bytes
    //    that file already lists, and the month verifies at every instant.
    let same_sums = old_sums
        .as_deref()
        .is_some_and(|old| Some(old) == bundle.files.get(SUMS).map(Vec::as_slice));
    if !same_sums {
        for rel in [SIG, SUMS] {
            root.delete(&at(rel)).await.map_err(store_err(root, &at(rel)))?;
        }
    }
    // 2. Every file but the checksums and signature, a few at a time.
    futures::stream::iter(bundle.files.iter().filter(|(r, _)| *r != SUMS && *r != SIG))
        .map(|(rel, bytes)| async move { root.put(&at(rel), bytes.clone()).await.map_err(store_err(root, &at(rel))) })
        .buffer_unordered(PUTS)
        .try_collect::<Vec<()>>()
        .await?;
    // 3. Files of an earlier bundle of this month that this one lacks.
    for (path, _) in existing {
        let rel = path.strip_prefix(&format!("{month}/")).unwrap_or(&path);
        if !bundle.files.contains_key(rel) {
            root.delete(&path).await.map_err(store_err(root, &path))?;
        }
    }
    // 4. Checksums, then the signature: the month is complete.
    for rel in [SUMS, SIG] {
        if let Some(bytes) = bundle.files.get(rel) {
            root.put(&at(rel), bytes.clone()).await.map_err(store_err(root, &at(rel)))?;
        }
    }
    tracing::info!(month = %month, files = bundle.files.len(), kept_complete = same_sums, "bundle published (object store)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_paths_that_escape() {
        for bad in ["", "/etc/x", "../x", "a/../b", "a//b", ".hidden", "a\\b"] {
            assert!(check_rel(bad).is_err(), "{bad:?}");
        }
        for good in ["report.html", "data/x.csv"] {
            assert!(check_rel(good).is_ok(), "{good:?}");
        }
    }
}
