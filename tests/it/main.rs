//! The integration tests: one binary (link once), one module per area.

mod cli;
mod common;
mod ingest;
mod lake;
mod publish;
