#!/usr/bin/env bash
# Ingest benchmark at national scale (run by hand, not in CI).
# Usage: bench/ingest.sh [MULTIPLIER]   — prints per-table throughput and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo run --release --example bench_ingest -- --multiplier "${1:-1}"
