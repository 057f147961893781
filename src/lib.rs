//! wasnaker: nightly ingest of labour-inspection and social-insurance extracts
//! into a pseudonymised Parquet lake, and a monthly report on complaint
//! follow-up computed by the SQL in `queries/` through Apache DataFusion.
//!
//! The data flows one way: landing → [`ingest`] → [`lake`] → [`query`] →
//! [`publish`], checked offline by [`verify`]. Each module's own
//! documentation says what it must never do.

pub mod check;
pub mod cli;
pub mod clock;
pub mod config;
pub mod contract;
pub mod demo;
pub mod engine;
pub mod ingest;
pub mod lake;
pub mod monthly;
pub mod publish;
pub mod query;
pub mod schedule;
pub mod storage;
pub mod verify;

/// An error and its causes, each once, joined by `: ` (what the binary and
/// the run history print). Many messages already include their cause's
/// text, which `{:#}` would print a second time.
pub fn error_chain(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let c = cause.to_string();
        if !text.contains(&c) {
            text.push_str(": ");
            text.push_str(&c);
        }
    }
    text
}

/// glibc keeps freed buffers of every thread's arena instead of reusing them,
/// so a long ingest's RSS grows far beyond what it holds. Fewer arenas and
/// returning large blocks to the system keep RSS near the live size. The
/// binaries allocate through mimalloc; this still tunes what C code (zstd)
/// allocates, and the library's own tests.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn tune_allocator() {
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn tune_allocator() {}
