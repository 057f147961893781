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

/// Two allocator settings, each unless its environment variable is set:
/// - mimalloc commits the arenas it reserves from now on as they are used,
///   rather than at once (`MIMALLOC_ARENA_EAGER_COMMIT`, or its old name
///   `MIMALLOC_EAGER_REGION_COMMIT`): on the x1 lake the report's peak RSS is
///   1.55 GB instead of 1.9 GB (the variable itself, read before `main`, also
///   covers the first arena: 1.2 GB);
/// - no transparent huge pages for this process (`MIMALLOC_ALLOW_THP`, which
///   mimalloc reads before `main`; setting its option here would come too
///   late, so the process asks the kernel, as mimalloc itself does): with
///   them the kernel zeroes 2 MiB at each first touch, a fifth of the
///   report's samples in `clear_page`; without, the x1 report takes 3.5-3.6 s
///   instead of 3.7-4.0 s and peaks at 0.82-0.86 GB instead of 0.98-1.03 GB.
fn tune_mimalloc() {
    // The position of `mi_option_arena_eager_commit` in `mi_option_t` of
    // mimalloc.h (v3, as vendored by libmimalloc-sys 0.1.49, which Cargo.lock
    // pins), which exports no constant for it.
    const MI_OPTION_ARENA_EAGER_COMMIT: std::ffi::c_int = 4;
    unsafe extern "C" {
        fn mi_option_set(option: std::ffi::c_int, value: std::ffi::c_long);
    }
    let set_by_user = |vars: &[&str]| vars.iter().any(|v| std::env::var_os(v).is_some());
    if !set_by_user(&["MIMALLOC_ARENA_EAGER_COMMIT", "MIMALLOC_EAGER_REGION_COMMIT"]) {
        // SAFETY: sets an allocator option; mimalloc allows it at any time.
        unsafe { mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) }
    }
    #[cfg(target_os = "linux")]
    if !set_by_user(&["MIMALLOC_ALLOW_THP"]) {
        // SAFETY: only sets a flag of this process (`THP_enabled: 0` in
        // /proc/self/status); a kernel without THP returns an error, ignored.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
        }
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
