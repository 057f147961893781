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

// The binaries' global allocator, whose options `tune_mimalloc` sets.
extern crate mimalloc as _;

/// Allocator settings, called first thing by the binaries: mimalloc (their
/// global allocator) and glibc's malloc (what C code such as zstd uses).
pub fn tune_allocator() {
    tune_mimalloc();
    tune_glibc();
}

/// mimalloc commits the arenas it reserves from now on as they are used,
/// rather than at once (unless `MIMALLOC_ARENA_EAGER_COMMIT`, or its old name
/// `MIMALLOC_EAGER_REGION_COMMIT`, says otherwise): on the x1 lake the
/// report's peak RSS is 1.55 GB instead of 1.9 GB. (The variable itself, read
/// before `main`, also covers the first arena: 1.2 GB.)
fn tune_mimalloc() {
    // `mi_option_arena_eager_commit` in mimalloc.h (v3 and v2, as vendored by
    // libmimalloc-sys 0.1.49), which exports no constant for it.
    const MI_OPTION_ARENA_EAGER_COMMIT: std::ffi::c_int = 4;
    unsafe extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    let set_by_user = ["MIMALLOC_ARENA_EAGER_COMMIT", "MIMALLOC_EAGER_REGION_COMMIT"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    if !set_by_user {
        // SAFETY: sets an allocator option; mimalloc allows it at any time.
        unsafe { mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) }
    }
}

/// glibc keeps freed buffers of every thread's arena instead of reusing them,
/// so a long ingest's RSS grows far beyond what it holds. Fewer arenas and
/// returning large blocks to the system keep RSS near the live size.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_glibc() {
    // SAFETY: mallopt only sets allocator parameters; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_glibc() {}
