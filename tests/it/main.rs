//! The integration tests: one binary (link once), one module per area.

mod cli;
mod cloud;
mod common;
mod demo;
#[cfg(feature = "ballista")]
mod engine;
mod ingest;
mod lake;
mod monthly;
mod publish;
mod queries;
mod recompute;
mod report;
mod s3;
mod schedule;
mod storage;
mod workflow;
