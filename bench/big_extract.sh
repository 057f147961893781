#!/usr/bin/env bash
# Memory bound of ingest: one night with a 2.2 GB (uncompressed) complaints
# extract of 1,000,000 rows. Prints wall time and peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-/tmp/wasnaker-big}"
rm -rf "$dir" && mkdir -p "$dir"
python3 bench/big_extract.py "$dir"
printf '[locations]\nlanding = "landing"\nlake = "lake"\npublish = "publish"\n[pseudonymisation]\nkey_file = "key"\n[ingest]\nwork_dir = "work"\nlate_after_hours = 100000\n' > "$dir/wasnaker.toml"
echo "bench-key-0123456789abcdef0123456789abcdef" > "$dir/key"
cargo build --release
/usr/bin/time -f "wall %e s, peak RSS %M KB" target/release/wasnaker --config "$dir/wasnaker.toml" --log warn ingest
