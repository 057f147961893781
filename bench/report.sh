#!/usr/bin/env bash
# Report benchmark at national scale (run by hand, not in CI).
# Usage: bench/report.sh [MONTH] [DIR]
#   MONTH  report month (default 2026-10, the complete month of the 62 national nights)
#   DIR    bench folder (default $TMPDIR/wasnaker-bench-x1, the one bench/ingest.sh uses)
# If DIR has no ingested lake yet, runs the national ingest benchmark first
# (generation ~3 min, ingest ~7 min on 2 cores). Then times
# `wasnaker report --month MONTH --timings` (the whole monthly job: lake
# views, every query of queries/, the 12-month trend, HTML/XLSX, signing,
# publish) and prints the time of each step and query, and the peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
month="${1:-2026-10}"
dir="${2:-${TMPDIR:-/tmp}/wasnaker-bench-x1}"
target="${CARGO_TARGET_DIR:-target}"

if [ ! -d "$dir/lake/ledger" ]; then
  cargo run --release --example bench_ingest -- --dir "$dir"
fi
cargo build --release --bin wasnaker

key="$dir/signing_ed25519"
if [ ! -f "$key" ] && command -v ssh-keygen >/dev/null 2>&1; then
  ssh-keygen -q -t ed25519 -N '' -C wasnaker-bench -f "$key"
fi
{
  printf '[locations]\nlanding = "landing"\nlake = "lake"\npublish = "publish"\n'
  printf '[report]\nqueries_dir = "%s"\n' "$PWD/queries"
  if [ -f "$key" ]; then printf '[signing]\nkey_file = "signing_ed25519"\n'; fi
} > "$dir/report-bench.toml"
rm -rf "$dir/publish"

echo "# report benchmark: month $month over $dir/lake ($(du -sh "$dir/lake" | cut -f1)), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/time -v -o "$dir/report-time.txt" \
  "$target/release/wasnaker" --config "$dir/report-bench.toml" --log warn report --month "$month" --timings
grep -E "Elapsed \(wall clock\)|Maximum resident set size|User time|System time" "$dir/report-time.txt"
