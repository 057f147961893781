//! wasnaker: nightly ingest of labour-inspection and social-insurance extracts
//! into a pseudonymised Parquet lake, and a monthly report on complaint
//! follow-up computed by the SQL in `queries/` through Apache DataFusion.
//!
//! The data flows one way: landing → [`ingest`] → [`lake`] → [`query`] →
//! [`publish`], checked offline by [`verify`]. Each module's own
//! documentation says what it must never do.

pub mod clock;
pub mod config;
pub mod contract;
pub mod demo;
pub mod ingest;
pub mod lake;
pub mod publish;
pub mod query;
pub mod storage;
pub mod verify;
pub mod cli;
