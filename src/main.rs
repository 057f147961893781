//! The `wasnaker` binary: parse arguments, run, print the error chain.

use std::process::ExitCode;

/// mimalloc, as DataFusion's own command line uses: the ingest makes and
/// frees a few small strings per field on several threads, where glibc's
/// allocator took a fifth of the CPU time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    wasnaker::tune_allocator();
    match wasnaker::cli::main() {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {}", wasnaker::error_chain(&err));
            ExitCode::from(1)
        }
    }
}
