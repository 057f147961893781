//! One instance of a job at a time, across processes.
//!
//! An exclusive `flock(2)` on `<state>/locks/<job>.lock`. The kernel drops
//! the lock when its holder exits for any reason (`kill -9` included), so a
//! crashed daemon cannot keep a job locked. The holder writes its pid into
//! the file for `wasnaker status`. The state folder must be on a local disk:
//! `flock` is not reliable over NFS and there is no such lock on object
//! stores.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use rustix::fs::{FlockOperation, flock};

/// A held job lock; dropping it releases the lock.
#[derive(Debug)]
pub struct JobLock {
    _file: File,
    pub path: PathBuf,
}

fn lock_path(locks_dir: &Path, job: &str) -> PathBuf {
    locks_dir.join(format!("{job}.lock"))
}

fn open(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    OpenOptions::new().read(true).write(true).create(true).truncate(false).open(path)
}

impl JobLock {
    /// Take the job's lock if nobody holds it; `Ok(None)` if someone does.
    pub fn try_acquire(locks_dir: &Path, job: &str) -> std::io::Result<Option<JobLock>> {
        let path = lock_path(locks_dir, job);
        let mut file = open(&path)?;
        match flock(&file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => return Ok(None),
            Err(e) => return Err(std::io::Error::from(e)),
        }
        file.set_len(0)?;
        file.seek(SeekFrom::Start(0))?;
        writeln!(file, "{}", std::process::id())?;
        Ok(Some(JobLock { _file: file, path }))
    }

    /// The pid of the process holding the job's lock, if it is held.
    pub fn holder(locks_dir: &Path, job: &str) -> std::io::Result<Option<u32>> {
        let path = lock_path(locks_dir, job);
        if !path.exists() {
            return Ok(None);
        }
        let mut file = open(&path)?;
        match flock(&file, FlockOperation::NonBlockingLockShared) {
            Ok(()) => {
                flock(&file, FlockOperation::Unlock).map_err(std::io::Error::from)?;
                Ok(None)
            }
            Err(rustix::io::Errno::WOULDBLOCK) => {
                let mut s = String::new();
                file.read_to_string(&mut s)?;
                Ok(Some(s.trim().parse().unwrap_or(0)))
            }
            Err(e) => Err(std::io::Error::from(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let first = JobLock::try_acquire(dir.path(), "nightly-ingest").unwrap().expect("free");
        assert!(JobLock::try_acquire(dir.path(), "nightly-ingest").unwrap().is_none());
        assert_eq!(JobLock::holder(dir.path(), "nightly-ingest").unwrap(), Some(std::process::id()));
        // Another job is independent.
        assert!(JobLock::try_acquire(dir.path(), "monthly-report").unwrap().is_some());
        drop(first);
        assert_eq!(JobLock::holder(dir.path(), "nightly-ingest").unwrap(), None);
        assert!(JobLock::try_acquire(dir.path(), "nightly-ingest").unwrap().is_some());
    }
}
