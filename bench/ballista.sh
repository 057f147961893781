#!/usr/bin/env bash
# Local engine vs Ballista (issue #9). Run by hand, not in CI.
#
# Usage: bench/ballista.sh [--scale 4] [--reps 3] [--month 2026-10] [--root DIR]
#                          [--engines local,standalone,df://host:50050] [--summary]
#
# Times `wasnaker report --month MONTH --out …` (views, every query of
# queries/ and the 12-month trend; no HTML/XLSX/signature) on each engine over
# the same lake: the one bench/run.sh ingested into ROOT/xSCALE/wasnaker/lake
# (run `bench/run.sh --scales SCALE` first). Runs alternate engine by engine so
# they see the same background load, each under /usr/bin/time -v. Prints the
# median wall time, CPU time and peak RSS per engine, and checks that every
# engine's CSVs and Parquet files are byte-identical to the local engine's.
#
# `standalone` starts a Ballista scheduler and executor inside the wasnaker
# process: every plan is serialised, scheduled in stages and shuffled over
# Arrow Flight on one machine. A df:// engine needs the lake on shared
# storage; then pass a config of your own with WASNAKER_CONFIG. --summary
# prints the table of the runs already made.
# The wasnaker binary: $WASNAKER_BIN if set, else `cargo build --release`.
set -euo pipefail
cd "$(dirname "$0")/.."

scale=4; reps=3; month="2026-10"; engines="local,standalone"; summary_only=0
root="${TMPDIR:-/tmp}/wasnaker-bench"
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale="$2"; shift 2 ;;
    --reps) reps="$2"; shift 2 ;;
    --month) month="$2"; shift 2 ;;
    --root) root="$2"; shift 2 ;;
    --engines) engines="$2"; shift 2 ;;
    --summary) summary_only=1; shift ;;
    -h|--help) sed -n '2,21p' "$0"; exit 0 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time -v)" >&2; exit 2; }
if [ -n "${WASNAKER_BIN:-}" ]; then
  bin="$WASNAKER_BIN"
else
  cargo build --release --bin wasnaker
  bin="${CARGO_TARGET_DIR:-target}/release/wasnaker"
fi
w="$root/x$scale/wasnaker"
base="${WASNAKER_CONFIG:-$w/wasnaker.toml}"
[ -f "$base" ] && [ -d "$w/lake" ] || { echo "no lake in $w: run bench/run.sh --scales $scale --root $root first" >&2; exit 2; }
res="$root/x$scale/results/ballista"; mkdir -p "$res"
echo "# report $month at ×$scale on $(nproc) cores, $(date -u +%F), lake $(du -sh "$w/lake" | cut -f1)"

IFS=, read -ra engine_list <<< "$engines"
name_of() { case "$1" in df://*) echo "remote" ;; *) echo "$1" ;; esac; }
for e in "${engine_list[@]}"; do
  n="$(name_of "$e")"
  grep -v '^\[engine\]\|^url = ' "$base" > "$w/engine-$n.toml"
  printf '\n[engine]\nurl = "%s"\n' "$e" >> "$w/engine-$n.toml"
done

for i in $(seq 1 "$((summary_only ? 0 : reps))"); do
  for e in "${engine_list[@]}"; do
    n="$(name_of "$e")"; out="$res/$n-r$i"
    rm -rf "$out.data"
    echo "  $n r$i: $(date -u +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
    /usr/bin/time -v -o "$out.time" "$bin" --config "$w/engine-$n.toml" --log warn report --month "$month" \
      --out "$out.data" --timings > "$out.out" 2> "$out.err" || { echo "  $n FAILED: see $out.err" >&2; tail -5 "$out.err" >&2; exit 1; }
    grep -E "Elapsed|Maximum resident" "$out.time" | sed 's/^\s*/    /'
  done
done

seconds() {  # wall seconds from a /usr/bin/time -v file
  awk -F': ' '/Elapsed/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }' "$1"
}
cpu() { awk -F': ' '/User time|System time/ { s += $2 } END { print s }' "$1"; }
rss() { awk -F': ' '/Maximum resident/ { printf "%.0f\n", $2 / 1024 }' "$1"; }
median() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo
echo "| engine | runs | median wall s | median CPU s | peak RSS MB | vs local (wall) | outputs vs local |"
echo "|---|---|---|---|---|---|---|"
local_wall=""
for e in "${engine_list[@]}"; do
  n="$(name_of "$e")"
  wall=$(for i in $(seq 1 "$reps"); do seconds "$res/$n-r$i.time"; done | median)
  c=$(for i in $(seq 1 "$reps"); do cpu "$res/$n-r$i.time"; done | median)
  r=$(for i in $(seq 1 "$reps"); do rss "$res/$n-r$i.time"; done | sort -g | tail -1)
  [ -z "$local_wall" ] && local_wall="$wall"
  ratio=$(awk -v a="$wall" -v b="$local_wall" 'BEGIN { printf "%.2f", a / b }')
  first="$(name_of "${engine_list[0]}")"
  if diff -r "$res/$first-r1.data" "$res/$n-r1.data" > "$res/$n-diff.txt"; then same="byte-identical"; else same="DIFFERENT (see $res/$n-diff.txt)"; fi
  echo "| $e | $reps | $wall | $c | $r | $ratio | $same |"
done
