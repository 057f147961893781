//! Errors of the demo generator, grouped by what the caller can do about them.

use std::io;

/// Everything that can stop [`super::generate`].
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The options ask for something the generator cannot produce; fix the option named.
    #[error("invalid demo option `{option}`: {reason}")]
    InvalidOptions {
        /// The `DemoOptions` field at fault.
        option: &'static str,
        /// What is wrong and which values are accepted.
        reason: String,
    },
    /// A specification file compiled into the crate does not parse: a build bug, not a user mistake.
    #[error("embedded spec file {file} is malformed (record {record}): {reason}")]
    Spec {
        /// `spec/provinces.csv` or `spec/violations.csv`.
        file: &'static str,
        /// Data record (from 1) at fault, 0 for the header.
        record: u64,
        /// What is wrong.
        reason: String,
    },
    /// Compressing a generated file failed (in memory: a bug or exhausted memory).
    #[error("compressing generated file {path}")]
    Compress {
        /// Path of the file relative to the landing root.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// Writing a CSV record of a generated file failed.
    #[error("writing CSV of generated file {path}")]
    Csv {
        /// Path of the file relative to the landing root.
        path: String,
        /// The underlying CSV error.
        #[source]
        source: csv::Error,
    },
    /// The sink refused a generated file (for example: the landing folder is not writable).
    #[error("storing generated file {path}")]
    Sink {
        /// Path of the file relative to the landing root.
        path: String,
        /// Whatever the sink reported.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}
