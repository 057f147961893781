-- DuckDB translation of queries/followup_by_violation.sql (bench/run.sh); differences from the
-- original are marked `-- duckdb:`. Parameters are substituted as typed
-- literals by bench/duckdb_bench.py.
-- table: followup_by_violation
-- kind: report
-- title_id: Tindak lanjut pengaduan per jenis pelanggaran
-- title_en: Complaint follow-up by violation
-- params: $period
-- description: For each of the 13 violation codes, in the order of the
--   violation list, nationally: complaints received in the month, complaints
--   open at month end, those of them never followed up before month end, and
--   the median number of days from receipt to first follow-up over the
--   complaints first followed up in the month (defined as in the table by
--   province: a follow-up dated before receipt counts as 0 days; for an even
--   count the mean of the two middle values; empty when there are none;
--   rounded half away from zero to one decimal). A complaint's violation is
--   that of its latest complaint row.
WITH
ranked AS (
  -- one read of complaint_state: the position of each delay among the
  -- complaints of its violation first followed up in the month (the
  -- partition with followed_up_in_month true)
  SELECT
    complaint_state.*,
    row_number() OVER (PARTITION BY violation_code, followed_up_in_month
                       ORDER BY follow_up_delay_ns) AS position,
    count(*) OVER (PARTITION BY violation_code, followed_up_in_month) AS n
  FROM complaint_state
),
middles AS (
  SELECT
    ranked.*,
    -- the middle value (odd n) or the two middle values (even n)
    followed_up_in_month AND (position = (n + 1) // 2 OR position = (n + 2) // 2) AS is_middle
  FROM ranked
),
counts AS (
  SELECT
    violation_code,
    count(*) FILTER (WHERE received_in_month) AS received,
    count(*) FILTER (WHERE open_at_end) AS open_at_end,
    count(*) FILTER (WHERE open_at_end AND NOT followed_up_before_end) AS open_not_followed_up,
    -- twice the median = 2 × the middle value, or the sum of the two
    CASE WHEN count(*) FILTER (WHERE is_middle) = 1
         THEN 2 * sum(follow_up_delay_ns) FILTER (WHERE is_middle)
         ELSE sum(follow_up_delay_ns) FILTER (WHERE is_middle) END AS twice_median_ns
  FROM middles
  GROUP BY violation_code
)
SELECT
  $period AS period,
  v.code AS violation_code,
  v.name AS violation_name,
  COALESCE(c.received, 0) AS received,
  COALESCE(c.open_at_end, 0) AS open_at_end,
  COALESCE(c.open_not_followed_up, 0) AS open_not_followed_up,
  CAST(
    CAST((c.twice_median_ns + 8640000000000) // 17280000000000 AS DECIMAL(18, 0))
      * CAST('0.1' AS DECIMAL(2, 1))
    AS DECIMAL(18, 1)) AS median_days_to_follow_up
FROM violations AS v
LEFT JOIN counts AS c ON c.violation_code = v.code
ORDER BY v.ord
