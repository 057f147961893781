-- DuckDB translation of queries/data_quality.sql (bench/run.sh); differences from the
-- original are marked `-- duckdb:`. Parameters are substituted as typed
-- literals by bench/duckdb_bench.py.
-- table: data_quality
-- kind: report
-- title_id: Kualitas data ekstrak
-- title_en: Extract data quality
-- params: $period, $month_first_day, $month_last_day, $as_of
-- description: One row per source table (inspection system: companies,
--   inspectors, complaints, complaint_events, inspections; social insurance:
--   employers, contributions) about the nightly extracts dated in the month,
--   each night counted in its latest delivery only. Expected nights run from
--   the later of the 1st of the month and the first night the system ever
--   delivered (ingested or rejected) to the earlier of the last day of the
--   month and the as-of date (none when that range is empty or the system
--   never delivered). Received nights are the expected nights that were
--   ingested; missing dates are expected nights neither ingested nor rejected,
--   and rejected dates the expected nights whose delivery was rejected. Rows
--   read, accepted and quarantined are summed over the ingested nights. For
--   complaint events only, orphan events are the accepted event rows of those
--   nights whose complaint has no accepted complaint row in any extract up to
--   the as-of date.
WITH
source_tables AS (
  SELECT *
  FROM (VALUES
    ('inspection', 'companies', 1),
    ('inspection', 'inspectors', 2),
    ('inspection', 'complaints', 3),
    ('inspection', 'complaint_events', 4),
    ('inspection', 'inspections', 5),
    ('insurance', 'employers', 6),
    ('insurance', 'contributions', 7)
  ) AS t (source, table_name, table_order)
),
first_nights AS (
  SELECT source, min(extract_date) AS first_night
  FROM nights
  GROUP BY source
),
ranges AS (
  SELECT
    s.source,
    CASE
      WHEN f.first_night IS NULL THEN NULL
      WHEN f.first_night > CAST($month_first_day AS DATE) THEN f.first_night
      ELSE CAST($month_first_day AS DATE)
    END AS range_start,
    CASE
      WHEN CAST($as_of AS DATE) < CAST($month_last_day AS DATE) THEN CAST($as_of AS DATE)
      ELSE CAST($month_last_day AS DATE)
    END AS range_end
  FROM (VALUES ('inspection'), ('insurance')) AS s (source)
  LEFT JOIN first_nights AS f ON f.source = s.source
),
expected_nights AS (
  -- one row per expected night; an empty or undefined range gives none
  -- duckdb: generate_series over dates yields timestamps; cast back to DATE
  SELECT source, CAST(unnest(generate_series(CAST(range_start AS TIMESTAMP), CAST(range_end AS TIMESTAMP), INTERVAL '1' DAY)) AS DATE) AS night
  FROM ranges
  WHERE range_start IS NOT NULL AND range_start <= range_end
),
night_counts AS (
  SELECT
    x.source,
    count(*) AS extracts_expected,
    count(*) FILTER (WHERE n.state = 'ingested') AS extracts_received,
    string_agg(CASE WHEN n.state IS NULL THEN CAST(x.night AS VARCHAR) END, ' '
               ORDER BY x.night) AS missing_dates,
    string_agg(CASE WHEN n.state = 'rejected' THEN CAST(x.night AS VARCHAR) END, ' '
               ORDER BY x.night) AS rejected_dates
  FROM expected_nights AS x
  LEFT JOIN nights AS n ON n.source = x.source AND n.extract_date = x.night
  GROUP BY x.source
),
row_counts AS (
  SELECT
    t.source,
    t.table_name,
    sum(t.rows_read) AS rows_read,
    sum(t.rows_accepted) AS rows_accepted,
    sum(t.rows_quarantined) AS rows_quarantined
  FROM night_tables AS t
  JOIN ranges AS r ON r.source = t.source
  WHERE t.extract_date >= r.range_start AND t.extract_date <= r.range_end
  GROUP BY t.source, t.table_name
),
complaint_ids AS (
  SELECT DISTINCT complaint_id FROM complaints_history
),
orphans AS (
  SELECT count(*) AS orphan_events
  FROM complaint_events_history AS e
  JOIN ranges AS r ON r.source = 'inspection'
  LEFT JOIN complaint_ids AS c ON c.complaint_id = e.complaint_id
  WHERE e._extract_date >= r.range_start
    AND e._extract_date <= r.range_end
    AND c.complaint_id IS NULL
)
SELECT
  $period AS period,
  st.source,
  st.table_name AS "table",
  COALESCE(nc.extracts_expected, 0) AS extracts_expected,
  COALESCE(nc.extracts_received, 0) AS extracts_received,
  COALESCE(nc.missing_dates, '') AS missing_dates,
  COALESCE(nc.rejected_dates, '') AS rejected_dates,
  COALESCE(rc.rows_read, 0) AS rows_read,
  COALESCE(rc.rows_accepted, 0) AS rows_accepted,
  COALESCE(rc.rows_quarantined, 0) AS rows_quarantined,
  CASE WHEN st.table_name = 'complaint_events' THEN o.orphan_events END AS orphan_events
FROM source_tables AS st
LEFT JOIN night_counts AS nc ON nc.source = st.source
LEFT JOIN row_counts AS rc ON rc.source = st.source AND rc.table_name = st.table_name
CROSS JOIN orphans AS o
ORDER BY st.table_order
