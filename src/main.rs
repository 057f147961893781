//! The `wasnaker` binary: parse arguments, run, print the error chain.

use std::process::ExitCode;

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
