#!/usr/bin/env python3
"""DuckDB side of the wasnaker benchmark (bench/run.sh; issue #8).

  convert  --landing L --out O
      Plain conversion of every complete night of a landing area: each
      contract file -> one Parquet file, ZSTD level 3, 256 Ki-row row groups,
      the lake's settings (src/lake/mod.rs `parquet_properties`):
      COPY (SELECT * FROM read_csv/read_json(...)) TO ... (FORMAT parquet).
      No validation, no pseudonymisation, no latest-wins.

  report   --lake LAKE --month M --out DIR [--as-of D] [--trend]
      The five report tables of month M over wasnaker's lake Parquet, with the
      semantics of docs/lake-views.md rebuilt in DuckDB: the ledger
      (lake/ledger/*/*/v*.json) picks each night's latest ingested delivery
      and the extracts <= as_of; incremental tables keep the latest extract
      per key; snapshot tables are rebuilt from their change-file chain as of
      the month's last day (_op = 'U' rows of the latest extract per key,
      stale snapshots refused); employers get their Kemendagri province from
      the BPS code through spec/provinces.csv. Queries are bench/duckdb/*.sql
      (translations of queries/*.sql). Writes DIR/<table>.csv in the
      published CSV format and DIR/timings.json. --trend also runs the
      12-month trend that `wasnaker report` computes (complaint_state +
      followup_by_province for each of the 12 months ending with M).

  compare  WASNAKER_DATA_DIR DUCKDB_DIR
      Compares the five CSVs byte for byte and, on a difference, cell by cell.

  lake-rows --lake LAKE --month M
      Rows stored in the lake files the month's views read (for rows/s).

  summary  --root ROOT --scales 1,2,4 --month M
      The results table of bench/run.sh (markdown), from ROOT/xN/results.
"""

import argparse
import csv
import datetime as dt
import decimal
import glob
import io
import json
import os
import re
import sys
import time

REPORTS = ["data_quality", "followup_by_province", "followup_by_violation",
           "insurance_crosscheck", "supervision_map"]
# (system, table, kind, key) in the order of extracts.md
TABLES = [
    ("inspection", "companies", "snapshot", ["company_id"]),
    ("inspection", "inspectors", "snapshot", ["inspector_id"]),
    ("inspection", "complaints", "incremental", ["complaint_id"]),
    ("inspection", "complaint_events", "incremental", ["event_id"]),
    ("inspection", "inspections", "incremental", ["inspection_id"]),
    ("insurance", "employers", "snapshot", ["npp"]),
    ("insurance", "contributions", "incremental", ["npp", "period"]),
]
FILES = {"companies": "csv", "inspectors": "csv", "complaints": "csv",
         "complaint_events": "csv", "inspections": "csv",
         "employers": "jsonl", "contributions": "jsonl"}
# spec/extracts.md, "Codes": (code, name_id, terminal, follow_up)
STATUSES = [
    ("RECEIVED", "Diterima", False, False),
    ("VERIFIED", "Terverifikasi", False, False),
    ("REJECTED", "Ditolak / tidak memenuhi syarat", True, False),
    ("REDIRECTED", "Dialihkan", True, False),
    ("ASSIGNED", "Didisposisi", False, False),
    ("INSPECTED", "Diperiksa", False, True),
    ("NOTA_1", "Nota Pemeriksaan I", False, True),
    ("NOTA_2", "Nota Pemeriksaan II", False, True),
    ("SANCTION_RECOMMENDED", "Rekomendasi sanksi administratif", False, True),
    ("REFERRED_PPNS", "Dilimpahkan ke PPNS", False, True),
    ("RESOLVED", "Selesai", True, True),
    ("CLOSED_NO_VIOLATION", "Ditutup, tidak ada pelanggaran", True, True),
    ("WITHDRAWN", "Dicabut", True, False),
    ("CLOSED_UNRESOLVED", "Ditutup tanpa penyelesaian", True, False),
]
MAX_SNAPSHOT_AGE_DAYS = 7
NL = b"\n"
JAKARTA = dt.timezone(dt.timedelta(hours=7))
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def connect(threads=None, memory_limit=None):
    import duckdb
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    if memory_limit:
        con.execute(f"SET memory_limit = '{memory_limit}'")
    try:
        con.execute("SET TimeZone = 'UTC'")
    except Exception:  # ICU missing: epoch_ns/comparisons do not depend on it
        pass
    return con


def q(s):
    return "'" + str(s).replace("'", "''") + "'"


# ---------------------------------------------------------------- convert

def convert(args):
    con = connect(args.threads, args.memory_limit)
    total_rows = 0
    total_bytes = 0
    files = 0
    t0 = time.monotonic()
    for system in ("inspection", "insurance"):
        for night_dir in sorted(glob.glob(os.path.join(args.landing, system, "*"))):
            if not os.path.exists(os.path.join(night_dir, "_DONE")):
                continue  # still being written
            night = os.path.basename(night_dir)
            out_dir = os.path.join(args.out, system, night)
            os.makedirs(out_dir, exist_ok=True)
            for _, table, _, _ in (t for t in TABLES if t[0] == system):
                ext = FILES[table]
                src = os.path.join(night_dir, f"{table}.{ext}.gz")
                reader = (f"read_csv({q(src)})" if ext == "csv"
                          else f"read_json({q(src)}, format = 'newline_delimited')")
                dst = os.path.join(out_dir, f"{table}.parquet")
                n = con.execute(
                    f"COPY (SELECT * FROM {reader}) TO {q(dst)} (FORMAT parquet, "
                    "COMPRESSION zstd, COMPRESSION_LEVEL 3, ROW_GROUP_SIZE 262144)"
                ).fetchone()[0]
                total_rows += n
                total_bytes += os.path.getsize(src)
                files += 1
    secs = time.monotonic() - t0
    summary = {"files": files, "rows": total_rows, "gz_bytes": total_bytes, "seconds": secs}
    print(json.dumps(summary))
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f)


# ---------------------------------------------------------------- ledger

def load_ledger(lake):
    entries = {}
    for p in glob.glob(os.path.join(lake, "ledger", "*", "*", "v*.json")):
        with open(p) as f:
            e = json.load(f)
        entries.setdefault((e["system"], e["night"]), []).append(e)
    for v in entries.values():
        v.sort(key=lambda e: e["version"])
    return entries


def effective(ledger, system, night):
    for e in reversed(ledger.get((system, night), [])):
        if e["status"] == "ingested":
            return e
    return None


def nights_of(ledger, system):
    return sorted(n for (s, n) in ledger if s == system)


def effective_nights(ledger, system, upto):
    out = []
    for n in nights_of(ledger, system):
        if n <= upto:
            e = effective(ledger, system, n)
            if e:
                out.append(e)
    return out


def file_of(entry, table):
    for f in entry["files"]:
        if f["table"] == table:
            return f
    return None


def snapshot_chain(ledger, system, table, entry):
    """Change files that rebuild the snapshot of `entry`, oldest first, and their rows."""
    files, rows = [], 0
    cursor = (entry["night"], entry["version"])
    while cursor:
        e = next((d for d in ledger.get((system, cursor[0]), []) if d["version"] == cursor[1]), None)
        f = file_of(e, table) if e else None
        if f is None:
            break
        rows += f["rows_stored"]
        if f["data"]:
            files.append(f["data"])
        cursor = (f["base"]["night"], f["base"]["version"]) if f["base"] else None
    files.reverse()
    return files, rows


def month_bounds(month):
    y, m = map(int, month.split("-"))
    first = dt.date(y, m, 1)
    nxt = dt.date(y + (m == 12), m % 12 + 1, 1)
    return first, nxt


def add_months(month, k):
    y, m = map(int, month.split("-"))
    i = y * 12 + (m - 1) + k
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def plan(lake, month, as_of=None, allow_stale=False):
    ledger = load_ledger(lake)
    latest = [n for (s, n) in ledger if effective(ledger, s, n)]
    if not latest:
        raise SystemExit("the lake has no ingested extract yet")
    as_of = as_of or max(latest)
    first, nxt = month_bounds(month)
    last_day = (nxt - dt.timedelta(days=1)).isoformat()
    files, rows = {}, {}
    for system, table, kind, _ in TABLES:
        if kind == "incremental":
            fs = [file_of(e, table) for e in effective_nights(ledger, system, as_of)]
            fs = [f for f in fs if f]
            files[table] = [f["data"] for f in fs if f["data"]]
            rows[table] = sum(f["rows_stored"] for f in fs)
        else:
            day = min(last_day, as_of)
            eff = effective_nights(ledger, system, day)
            if not eff:
                raise SystemExit(f"{table}: no snapshot on or before {day} (as_of {as_of}) for month {month}")
            e = eff[-1]
            age = (dt.date.fromisoformat(last_day) - dt.date.fromisoformat(e["night"])).days
            if age > MAX_SNAPSHOT_AGE_DAYS and not allow_stale:
                raise SystemExit(f"{table}: snapshot {e['night']} is {age} days older than {last_day}")
            files[table], rows[table] = snapshot_chain(ledger, system, table, e)
    bookkeeping_nights, night_tables = [], []
    order = {t[1]: i + 1 for i, t in enumerate(TABLES)}
    for system in ("inspection", "insurance"):
        for n in nights_of(ledger, system):
            if n > as_of:
                continue
            e = effective(ledger, system, n)
            bookkeeping_nights.append((system, n, "ingested" if e else "rejected"))
            if e:
                for f in e["files"]:
                    night_tables.append((system, f["table"], order[f["table"]], n,
                                         f["rows_read"], f["rows_accepted"], f["rows_quarantined"]))
    return {"as_of": as_of, "files": files, "rows": rows,
            "nights": bookkeeping_nights, "night_tables": night_tables}


# ---------------------------------------------------------------- views

def create_views(con, lake, p):
    spec = os.path.join(REPO, "spec")
    con.execute(f"""CREATE OR REPLACE TABLE provinces AS
        SELECT code, bps_code, name, CAST(tile_row AS BIGINT) AS tile_row, CAST(tile_col AS BIGINT) AS tile_col
        FROM read_csv({q(os.path.join(spec, 'provinces.csv'))}, header = true,
             types = {{'code': 'VARCHAR', 'bps_code': 'VARCHAR', 'name': 'VARCHAR'}})""")
    con.execute(f"""CREATE OR REPLACE TABLE violations AS
        SELECT code, name, name_en, CAST(row_number() OVER () AS BIGINT) AS ord
        FROM read_csv({q(os.path.join(spec, 'violations.csv'))}, header = true, all_varchar = true)""")
    con.execute("CREATE OR REPLACE TABLE complaint_statuses (code VARCHAR, name_id VARCHAR, terminal BOOLEAN, follow_up BOOLEAN)")
    con.executemany("INSERT INTO complaint_statuses VALUES (?, ?, ?, ?)", [list(s) for s in STATUSES])
    con.execute("CREATE OR REPLACE TABLE nights (source VARCHAR, extract_date DATE, state VARCHAR)")
    if p["nights"]:
        con.executemany("INSERT INTO nights VALUES (?, CAST(? AS DATE), ?)", [list(r) for r in p["nights"]])
    con.execute("""CREATE OR REPLACE TABLE night_tables (source VARCHAR, table_name VARCHAR, table_order BIGINT,
        extract_date DATE, rows_read BIGINT, rows_accepted BIGINT, rows_quarantined BIGINT)""")
    if p["night_tables"]:
        con.executemany("INSERT INTO night_tables VALUES (?, ?, ?, CAST(? AS DATE), ?, ?, ?)",
                        [list(r) for r in p["night_tables"]])
    for system, table, kind, key in TABLES:
        paths = [os.path.join(lake, f) for f in p["files"][table]]
        if not paths:
            raise SystemExit(f"{table}: no lake file to read")
        lst = "[" + ", ".join(q(x) for x in paths) + "]"
        con.execute(f"CREATE OR REPLACE VIEW lake_{table} AS SELECT * FROM read_parquet({lst})")
        k = ", ".join(key)
        latest = (f"(SELECT *, row_number() OVER (PARTITION BY {k} ORDER BY _extract_date DESC) AS _rn "
                  f"FROM lake_{table}) WHERE _rn = 1")
        if kind == "incremental":
            con.execute(f"CREATE OR REPLACE VIEW {table}_history AS SELECT * FROM lake_{table}")
            con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * EXCLUDE (_rn) FROM {latest}")
        elif table == "employers":
            # BPS province code -> Kemendagri through provinces (an unmapped code drops the row, as in wasnaker)
            con.execute(f"""CREATE OR REPLACE VIEW employers AS
                SELECT e.* EXCLUDE (province_code, _op, _row_hash, _rn),
                       p.code AS province_code, e.province_code AS province_code_bps
                FROM (SELECT * FROM {latest} AND _op = 'U') e JOIN provinces p ON p.bps_code = e.province_code""")
        else:
            con.execute(f"CREATE OR REPLACE VIEW {table} AS SELECT * EXCLUDE (_op, _row_hash, _rn) FROM {latest} AND _op = 'U'")


def params_for(month, as_of, sla_days=30, workers_per_inspector=20000, companies_per_inspector_year=60):
    def midnight(d):  # Jakarta midnight as a UTC instant literal
        t = dt.datetime(d.year, d.month, d.day, tzinfo=JAKARTA).astimezone(dt.timezone.utc)
        return f"TIMESTAMPTZ '{t.strftime('%Y-%m-%d %H:%M:%S')}+00'"
    first, nxt = month_bounds(month)
    cfirst, cnext = month_bounds(add_months(month, -2))
    wfirst, _ = month_bounds(add_months(month, -11))
    return {
        "period": q(month),
        "month_start": midnight(first), "month_end": midnight(nxt),
        "month_first_day": f"DATE '{first}'", "month_last_day": f"DATE '{nxt - dt.timedelta(days=1)}'",
        "cohort_start": midnight(cfirst), "cohort_end": midnight(cnext),
        "window_12m_start": f"DATE '{wfirst}'", "as_of": f"DATE '{as_of}'",
        "sla_days": str(sla_days), "workers_per_inspector": str(workers_per_inspector),
        "companies_per_inspector_year": str(companies_per_inspector_year),
    }


def bind(sql, params):
    def rep(m):
        if m.group(1) not in params:
            raise SystemExit(f"unknown parameter ${m.group(1)}")
        return params[m.group(1)]
    # parameters only outside comments (comments mention $names too)
    lines = []
    for line in sql.splitlines():
        code, sep, comment = line.partition("--")
        lines.append(re.sub(r"\$([a-z_0-9]+)", rep, code) + sep + comment)
    return "\n".join(lines)


def load_sql(name):
    with open(os.path.join(HERE, "duckdb", f"{name}.sql")) as f:
        return f.read()


def fmt(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, decimal.Decimal):
        return format(v, "f")
    return str(v)


def write_csv(path, names, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    for r in rows:
        w.writerow([fmt(v) for v in r])
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(buf.getvalue())


def report(args):
    timings = []

    def step(name, t0, rows=None):
        timings.append({"step": name, "seconds": time.monotonic() - t0, "rows": rows})
        print(f"{name:<48} {timings[-1]['seconds']:9.3f} {'' if rows is None else rows:>6}", file=sys.stderr)

    t_all = time.monotonic()
    con = connect(args.threads, args.memory_limit)
    t0 = time.monotonic()
    p = plan(args.lake, args.month, args.as_of, args.allow_stale_snapshot)
    create_views(con, args.lake, p)
    step("open lake views (ledger + views)", t0)
    params = params_for(args.month, p["as_of"])
    os.makedirs(args.out, exist_ok=True)
    # queries in file order, as wasnaker runs them: complaint_state is a view
    con.execute("CREATE OR REPLACE VIEW complaint_state AS " + bind(load_sql("complaint_state"), params))
    for name in REPORTS:
        t0 = time.monotonic()
        # materialised for the later queries (supervision_map reads
        # followup_by_province), as wasnaker registers each report table;
        # CTAS keeps the query's ORDER BY (preserve_insertion_order)
        con.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS " + bind(load_sql(name), params))
        cur = con.execute(f"SELECT * FROM {name}")
        names = [d[0] for d in cur.description]
        rows = cur.fetchall()
        step(f"report {name}", t0, len(rows))
        write_csv(os.path.join(args.out, f"{name}.csv"), names, rows)
    if args.trend:
        t0 = time.monotonic()
        for k in range(-11, 1):
            m = add_months(args.month, k)
            pm = params_for(m, p["as_of"])
            con.execute("CREATE OR REPLACE VIEW complaint_state AS " + bind(load_sql("complaint_state"), pm))
            con.execute(bind(load_sql("followup_by_province"), pm)).fetchall()
        step("trend: followup_by_province (+ complaint_state) x 12 months", t0)
    total = time.monotonic() - t_all
    print(f"{'total':<48} {total:9.3f}", file=sys.stderr)
    with open(os.path.join(args.out, "timings.json"), "w") as f:
        json.dump({"as_of": p["as_of"], "steps": timings, "total": total,
                   "lake_rows": sum(p["rows"].values())}, f, indent=1)


# ---------------------------------------------------------------- compare

def compare(args):
    ok = True
    for name in REPORTS:
        a = os.path.join(args.wasnaker, f"{name}.csv")
        b = os.path.join(args.duckdb, f"{name}.csv")
        ba, bb = open(a, "rb").read(), open(b, "rb").read()
        if ba == bb:
            print(f"{name}: identical ({ba.count(NL) - 1} rows)")
            continue
        ok = False
        ra = list(csv.reader(io.StringIO(ba.decode())))
        rb = list(csv.reader(io.StringIO(bb.decode())))
        diffs = []
        if ra[0] != rb[0]:
            diffs.append(f"header: {ra[0]} vs {rb[0]}")
        if len(ra) != len(rb):
            diffs.append(f"rows: {len(ra) - 1} vs {len(rb) - 1}")
        for i, (x, y) in enumerate(zip(ra[1:], rb[1:]), 1):
            for j, (u, v) in enumerate(zip(x, y)):
                if u != v:
                    diffs.append(f"row {i} ({x[1] if len(x) > 1 else ''}) {ra[0][j]}: wasnaker {u!r} duckdb {v!r}")
        print(f"{name}: DIFFERENT, {len(diffs)} difference(s)")
        for d in diffs[:20]:
            print("   ", d)
    sys.exit(0 if ok else 1)


def lake_rows(args):
    p = plan(args.lake, args.month, args.as_of, True)
    print(sum(p["rows"].values()))


# ---------------------------------------------------------------- summary

def gnu_time(path):
    """(wall seconds, peak RSS kB, exit status, user+system CPU s) from a `/usr/bin/time -v` file."""
    wall = rss = status = None
    cpu = 0.0
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("Elapsed (wall clock)"):
                parts = [float(x) for x in line.rsplit(" ", 1)[1].split(":")]
                wall = sum(p * 60 ** i for i, p in enumerate(reversed(parts)))
            elif line.startswith("Maximum resident set size"):
                rss = int(line.rsplit(" ", 1)[1])
            elif line.startswith(("User time", "System time")):
                cpu += float(line.rsplit(" ", 1)[1])
            elif line.startswith("Exit status"):
                status = int(line.rsplit(" ", 1)[1])
    return wall, rss, status, cpu


def median(xs):
    xs = sorted(xs)
    n = len(xs)
    return None if n == 0 else (xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2)


def runs(res, prefix):
    out = []
    for p in sorted(glob.glob(os.path.join(res, f"{prefix}-r*.time"))):
        wall, rss, status, cpu = gnu_time(p)
        if status == 0:
            out.append((p[:-5], wall, rss, cpu))
    return out


def wasnaker_subset(err_path):
    """Seconds of `open lake views` + the report queries from --timings (trend excluded)."""
    total = 0.0
    with open(err_path) as f:
        for line in f:
            m = re.match(r"^(open lake views|report \S+|view \S+)\s+([0-9.]+)", line)
            if m:
                total += float(m.group(2))
    return total


def ingest_rows(lake):
    rows = 0
    for entries in load_ledger(lake).values():
        for e in entries:
            if e["status"] == "ingested":
                rows += sum(f["rows_read"] for f in e["files"])
    return rows


def load_during(res, prefix):
    """Mean 1-minute load average sampled while runs of `prefix` were going."""
    spans, cur = [], {}
    p = os.path.join(res, "runs.tsv")
    if not os.path.exists(p):
        return None
    for line in open(p):
        name, what, ts, _ = line.rstrip("\n").split("\t")
        if not name.startswith(prefix):
            continue
        if what == "start":
            cur[name] = int(ts)
        elif name in cur:
            spans.append((cur.pop(name), int(ts)))
    samples = []
    lp = os.path.join(res, "loadavg.tsv")
    if os.path.exists(lp):
        for line in open(lp):
            ts, la = line.split("\t")
            if any(a <= int(ts) <= b for a, b in spans):
                samples.append(float(la))
    return sum(samples) / len(samples) if samples else None


def summary(args):
    scales = [int(x) for x in args.scales.split(",")]
    print(f"# wasnaker vs DuckDB {__import__('duckdb').__version__}, month {args.month}")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    print(f"machine: {os.cpu_count()} cores, {cpu}, {mem / 1048576:.0f} GB RAM; {dt.date.today()}")
    growth = {}
    for n in scales:
        d = os.path.join(args.root, f"x{n}")
        res = os.path.join(d, "results")
        if not os.path.isdir(res):
            continue
        lake = os.path.join(d, "wasnaker", "lake")
        print(f"\n## scale x{n}\n")
        print("| side | step | runs | median wall s | rows/s | peak RSS MB | median CPU s | wasnaker/DuckDB wall | wasnaker/DuckDB CPU | wasnaker/DuckDB RSS | mean load |")
        print("|---|---|---|---|---|---|---|---|---|---|---|")
        ing_rows = ingest_rows(lake) if os.path.isdir(lake) else None
        dconv = [json.load(open(r[0] + ".json")) for r in runs(res, "ingest-duckdb") if os.path.exists(r[0] + ".json")]
        rep_rows = sum(plan(lake, args.month, None, True)["rows"].values()) if os.path.isdir(lake) else None
        rows_of = {"ingest-wasnaker": ing_rows, "ingest-duckdb": dconv[0]["rows"] if dconv else None,
                   "report-wasnaker": rep_rows, "report-duckdb": rep_rows}
        label = {"ingest-wasnaker": "ingest: validate, pseudonymise, write lake",
                 "ingest-duckdb": "ingest: plain CSV/JSONL -> Parquet",
                 "report-wasnaker": "report: views + 5 queries + 12-month trend (process)",
                 "report-duckdb": "report: views + 5 queries + 12-month trend (process)"}
        stats = {}
        for prefix in ("ingest-wasnaker", "ingest-duckdb", "report-wasnaker", "report-duckdb"):
            rs = runs(res, prefix)
            if rs:
                stats[prefix] = (len(rs), median([r[1] for r in rs]), max(r[2] for r in rs) / 1024,
                                 median([r[3] for r in rs]))
        sub = {}
        rw = runs(res, "report-wasnaker")
        rd = runs(res, "report-duckdb")
        if rw:
            sub["report-wasnaker"] = median([wasnaker_subset(r[0] + ".err") for r in rw])
        if rd:
            sub["report-duckdb"] = median([
                sum(s["seconds"] for s in json.load(open(os.path.join(r[0] + ".data", "timings.json")))["steps"]
                    if not s["step"].startswith("trend")) for r in rd])
        for step in ("ingest", "report"):
            w, k = f"{step}-wasnaker", f"{step}-duckdb"
            for prefix in (w, k):
                if prefix not in stats:
                    continue
                cnt, wall, rss, cpu = stats[prefix]
                rows = rows_of.get(prefix)
                ratio_t = ratio_c = ratio_m = ""
                if prefix == w and k in stats:
                    ratio_t = f"{wall / stats[k][1]:.2f}"
                    ratio_c = f"{cpu / stats[k][3]:.2f}"
                    ratio_m = f"{rss / stats[k][2]:.2f}"
                la = load_during(res, prefix)
                rps = f"{rows / wall:,.0f}" if rows else ""
                print(f"| {prefix.split('-')[1]} | {label[prefix]} | {cnt} | {wall:.1f} | {rps} | {rss:,.0f} | "
                      f"{cpu:.1f} | {ratio_t} | {ratio_c} | {ratio_m} | {'' if la is None else f'{la:.1f}'} |")
            if step == "report" and sub:
                for prefix in (w, k):
                    if prefix in sub:
                        r = f"{sub[w] / sub[k]:.2f}" if prefix == w and k in sub else ""
                        print(f"| {prefix.split('-')[1]} | report: views + 5 queries only (in-process timer) | "
                              f"{stats[prefix][0]} | {sub[prefix]:.1f} | {rep_rows / sub[prefix]:,.0f} | | | {r} | | | |")
        print(f"\nrows: ingest = data rows of the landing files ({ing_rows}); report = rows stored in the lake files "
              f"the month's views read ({rep_rows}). Peak RSS is the max over runs (GNU time).")
        cmp = os.path.join(res, "compare.txt")
        if os.path.exists(cmp):
            print("\noutputs (wasnaker CSV vs DuckDB):\n\n" + "".join("    " + l for l in open(cmp)))
        growth[n] = stats
    if len(growth) > 1:
        base = min(growth)
        print(f"\n## growth against x{base}\n")
        print("| scale | step | time × | peak RSS × |")
        print("|---|---|---|---|")
        for n in sorted(growth):
            for prefix, (cnt, wall, rss, _) in growth[n].items():
                b = growth[base].get(prefix)
                if b:
                    print(f"| x{n} | {prefix} | {wall / b[1]:.2f} | {rss / b[2]:.2f} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert")
    c.add_argument("--landing", required=True)
    c.add_argument("--out", required=True)
    c.add_argument("--summary")
    r = sub.add_parser("report")
    r.add_argument("--lake", required=True)
    r.add_argument("--month", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--as-of")
    r.add_argument("--allow-stale-snapshot", action="store_true")
    r.add_argument("--trend", action="store_true")
    for x in (c, r):
        x.add_argument("--threads", type=int)
        x.add_argument("--memory-limit")
    k = sub.add_parser("compare")
    k.add_argument("wasnaker")
    k.add_argument("duckdb")
    lr = sub.add_parser("lake-rows")
    lr.add_argument("--lake", required=True)
    lr.add_argument("--month", required=True)
    lr.add_argument("--as-of")
    sm = sub.add_parser("summary")
    sm.add_argument("--root", required=True)
    sm.add_argument("--scales", required=True)
    sm.add_argument("--month", required=True)
    args = ap.parse_args()
    {"convert": convert, "report": report, "compare": compare, "lake-rows": lake_rows, "summary": summary}[args.cmd](args)


if __name__ == "__main__":
    main()
