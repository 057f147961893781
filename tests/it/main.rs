//! The integration tests: one binary (link once), one module per area.

mod cli;
mod common;
mod demo;
mod ingest;
mod lake;
mod monthly;
mod publish;
mod queries;
mod recompute;
mod report;
mod schedule;
mod workflow;
