#!/usr/bin/env bash
# Side-by-side benchmark against DuckDB (issue #8). Run by hand, not in CI.
#
# Usage: bench/run.sh [--scales 1,2,4] [--reps 3] [--ingest-reps 1] [--month 2026-10]
#                     [--root DIR] [--landing SCALE=PATH]... [--threads N]
#                     [--duckdb-scales 1,2,4]
#
# For each scale N (the national demo landing × N, `DemoOptions.multiplier`):
#  1. generates the landing into ROOT/xN/landing unless it exists or
#     --landing N=PATH names an existing one (generation builds and runs the
#     bench_ingest example and stops it once the landing is written);
#  2. ingest: `wasnaker ingest` of every night into a fresh lake, and DuckDB
#     converting the same files to Parquet (ZSTD 3, the lake's settings);
#  3. report: `wasnaker report --month MONTH --out ...` (views, the five
#     report queries and the 12-month trend; no HTML/XLSX/signature) and
#     bench/duckdb_bench.py running bench/duckdb/*.sql (faithful translations
#     of queries/*.sql) over the same lake Parquet, trend included;
#  4. checks that DuckDB's five tables equal wasnaker's CSVs;
#  5. prints the table (median wall s, rows/s, peak RSS, ratio) and, with
#     several scales, the growth against the smallest.
# --duckdb-scales: the scales at which the DuckDB side also runs (default:
# all); the others time wasnaker only, for the growth table.
# Every timed command runs under /usr/bin/time -v. Results go to
# ROOT/xN/results/; a step whose result file exists (exit status 0) is not
# rerun, so an interrupted run resumes (delete results/ to measure again).
#
# The wasnaker binary: $WASNAKER_BIN if set, else `cargo build --release`.
# DuckDB: python3 with the `duckdb` package (pip install duckdb).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

scales="1,2,4"; duckdb_scales=""; reps=3; ingest_reps=1; month="2026-10"; threads=""
root="${TMPDIR:-/tmp}/wasnaker-bench"
declare -A landing_of=()
while [ $# -gt 0 ]; do
  case "$1" in
    --scales) scales="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --ingest-reps) ingest_reps="$2"; shift 2 ;;
    --month) month="$2"; shift 2 ;;
    --root) root="$2"; shift 2 ;;
    --landing) landing_of["${2%%=*}"]="${2#*=}"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --duckdb-scales) duckdb_scales="$2"; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

python3 -c 'import duckdb' 2>/dev/null || { echo "python3 -m pip install duckdb" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time -v)" >&2; exit 2; }
target="${CARGO_TARGET_DIR:-target}"
if [ -n "${WASNAKER_BIN:-}" ]; then
  bin="$WASNAKER_BIN"
else
  cargo build --release --bin wasnaker
  bin="$target/release/wasnaker"
fi
dd=(python3 "$repo/bench/duckdb_bench.py")
dd_threads=(); [ -n "$threads" ] && dd_threads=(--threads "$threads")

ok() { [ -f "$1" ] && grep -q "Exit status: 0" "$1"; }
# timed NAME CMD...: run under /usr/bin/time -v unless results/NAME.time is done
timed() {
  local name="$1"; shift
  if ok "$res/$name.time"; then echo "  $name: done before, kept"; return 0; fi
  echo "  $name: $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  printf '%s\tstart\t%s\t%s\n' "$name" "$(date +%s)" "$(cut -d' ' -f1 /proc/loadavg)" >> "$res/runs.tsv"
  /usr/bin/time -v -o "$res/$name.time" "$@" > "$res/$name.out" 2> "$res/$name.err" || {
    echo "  $name FAILED, see $res/$name.err" >&2; tail -5 "$res/$name.err" >&2; return 1; }
  printf '%s\tend\t%s\t%s\n' "$name" "$(date +%s)" "$(cut -d' ' -f1 /proc/loadavg)" >> "$res/runs.tsv"
  grep -E "Elapsed|Maximum resident" "$res/$name.time" | sed 's/^\s*/    /'
}

generate() {  # generate SCALE DIR: the national demo landing × SCALE
  local n="$1" dir="$2"
  echo "  generating national ×$n landing into $dir/landing (needs cargo)"
  cargo build --release --example bench_ingest
  "$target/release/examples/bench_ingest" --dir "$dir" --multiplier "$n" > "$dir/generate.out" 2> "$dir/generate.err" &
  local pid=$!
  until grep -q "generated national" "$dir/generate.err" 2>/dev/null; do
    kill -0 "$pid" 2>/dev/null || { cat "$dir/generate.err" >&2; exit 1; }
    sleep 2
  done
  kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true
  rm -rf "$dir/lake" "$dir/work"
}

IFS=, read -ra scale_list <<< "$scales"
for n in "${scale_list[@]}"; do
  dir="$root/x$n"; res="$dir/results"
  mkdir -p "$res"
  echo "# scale ×$n in $dir; $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -g | awk '/Mem:/{print $2}') GB RAM, $(date -u +%F)"
  # load average every 10 s while this scale runs (others may be busy too)
  ( while sleep 10; do printf '%s\t%s\n' "$(date +%s)" "$(cut -d' ' -f1 /proc/loadavg)"; done >> "$res/loadavg.tsv" ) &
  sampler=$!
  trap 'kill $sampler 2>/dev/null || true' EXIT

  landing="${landing_of[$n]:-$dir/landing}"
  [ -d "$landing/inspection" ] || generate "$n" "$dir"
  landing="$(cd "$landing" && pwd -P)"

  # --- ingest: wasnaker (validation, pseudonymisation, quarantine, lake) ---
  w="$dir/wasnaker"; mkdir -p "$w"
  [ -f "$w/key" ] || echo "bench-key-0123456789abcdef0123456789abcdef" > "$w/key"
  printf '[locations]\nlanding = "%s"\nlake = "lake"\npublish = "publish"\n[pseudonymisation]\nkey_file = "key"\n[ingest]\nwork_dir = "work"\nlate_after_hours = 100000\n[report]\nqueries_dir = "%s"\n' \
    "$landing" "$repo/queries" > "$w/wasnaker.toml"
  for i in $(seq 1 "$ingest_reps"); do
    if ! ok "$res/ingest-wasnaker-r$i.time"; then rm -rf "$w/lake" "$w/work"; mkdir -p "$w/work"; fi
    timed "ingest-wasnaker-r$i" "$bin" --config "$w/wasnaker.toml" --log warn ingest
  done
  duck=1; case ",${duckdb_scales:-$scales}," in *",$n,"*) ;; *) duck=0 ;; esac
  # --- ingest: DuckDB plain conversion of the same files ---
  for i in $(seq 1 "$((duck ? ingest_reps : 0))"); do
    if ! ok "$res/ingest-duckdb-r$i.time"; then rm -rf "$dir/duckdb-parquet"; fi
    timed "ingest-duckdb-r$i" "${dd[@]}" convert --landing "$landing" --out "$dir/duckdb-parquet" \
      --summary "$res/ingest-duckdb-r$i.json" "${dd_threads[@]}"
  done

  # --- report: alternate the sides so both see the same background load ---
  for i in $(seq 1 "$reps"); do
    ok "$res/report-wasnaker-r$i.time" || rm -rf "$res/report-wasnaker-r$i.data"
    timed "report-wasnaker-r$i" "$bin" --config "$w/wasnaker.toml" --log warn report --month "$month" \
      --out "$res/report-wasnaker-r$i.data" --timings
    [ "$duck" = 1 ] || continue
    timed "report-duckdb-r$i" "${dd[@]}" report --lake "$w/lake" --month "$month" --trend \
      --out "$res/report-duckdb-r$i.data" "${dd_threads[@]}"
  done

  if [ "$duck" = 1 ]; then
    echo "  outputs, wasnaker vs DuckDB (report-*-r1):"
    "${dd[@]}" compare "$res/report-wasnaker-r1.data/data" "$res/report-duckdb-r1.data" | tee "$res/compare.txt" \
      | sed 's/^/    /' || echo "    DIFFERENCES: see $res/compare.txt"
  fi
  kill "$sampler" 2>/dev/null || true
done

"${dd[@]}" summary --root "$root" --scales "$scales" --month "$month" | tee "$root/summary.md"
