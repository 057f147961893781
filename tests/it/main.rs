//! The integration tests: one binary (link once), one module per area.

mod cli;
mod common;
mod demo;
mod ingest;
mod lake;
mod publish;
mod queries;
mod report;
mod workflow;
