-- DuckDB translation of queries/followup_by_province.sql (bench/run.sh); differences from the
-- original are marked `-- duckdb:`. Parameters are substituted as typed
-- literals by bench/duckdb_bench.py.
-- table: followup_by_province
-- kind: report
-- title_id: Tindak lanjut pengaduan per provinsi
-- title_en: Complaint follow-up by province
-- params: $period
-- description: For each of the 38 provinces, in code order, after a national
--   row (code 00, INDONESIA) computed over all complaints: complaints received
--   in the month; complaints whose first follow-up (first inspection, order,
--   referral or conclusion) fell in the month; complaints that became closed
--   in the month (terminal at month end and not at month start, or received in
--   the month and terminal at its end — a comparison of the two month ends,
--   not a count of closing events); complaints open at month end, and of those
--   the ones never followed up before month end, by age at month end (0–30,
--   31–90, 91–180, 181 days or more); the median number of days from receipt
--   to first follow-up over the complaints first followed up in the month (a
--   follow-up dated before receipt counts as 0 days; for an even count the
--   mean of the two middle values; empty when there are none); and the SLA:
--   of the complaints received two months earlier (leaving out those rejected
--   or redirected by month end without any follow-up; withdrawn ones stay
--   in), how many were first followed up within the SLA days (inclusive)
--   before month end, and that share in percent (empty when the cohort is
--   empty). Months run from midnight to midnight in Jakarta time (UTC+07:00)
--   for every province. Figures are exact and rounded half away from zero to
--   one decimal.
WITH
scoped AS (
  -- every complaint twice, from one read of complaint_state: in its
  -- province and in the national scope 00
  SELECT
    CASE WHEN n.national THEN '00' ELSE cs.province_code END AS scope_code,
    cs.*
  FROM complaint_state AS cs
  CROSS JOIN (VALUES (false), (true)) AS n (national)
),
ranked AS (
  -- the position of each delay among the complaints of its scope first
  -- followed up in the month (the partition with followed_up_in_month true)
  SELECT
    scoped.*,
    row_number() OVER (PARTITION BY scope_code, followed_up_in_month
                       ORDER BY follow_up_delay_ns) AS position,
    count(*) OVER (PARTITION BY scope_code, followed_up_in_month) AS n
  FROM scoped
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
    scope_code,
    count(*) FILTER (WHERE received_in_month) AS received,
    count(*) FILTER (WHERE followed_up_in_month) AS followed_up_in_month,
    count(*) FILTER (WHERE closed_in_month) AS closed_in_month,
    count(*) FILTER (WHERE open_at_end) AS open_at_end,
    count(*) FILTER (WHERE open_at_end AND NOT followed_up_before_end) AS open_not_followed_up,
    count(*) FILTER (WHERE open_at_end AND NOT followed_up_before_end
                     AND age_days_at_end <= 30) AS not_followed_up_0_30,
    count(*) FILTER (WHERE open_at_end AND NOT followed_up_before_end
                     AND age_days_at_end >= 31 AND age_days_at_end <= 90) AS not_followed_up_31_90,
    count(*) FILTER (WHERE open_at_end AND NOT followed_up_before_end
                     AND age_days_at_end >= 91 AND age_days_at_end <= 180) AS not_followed_up_91_180,
    count(*) FILTER (WHERE open_at_end AND NOT followed_up_before_end
                     AND age_days_at_end >= 181) AS not_followed_up_over_180,
    count(*) FILTER (WHERE in_sla_cohort) AS sla_cohort,
    count(*) FILTER (WHERE sla_met) AS sla_met,
    -- twice the median = 2 × the middle value, or the sum of the two
    CASE WHEN count(*) FILTER (WHERE is_middle) = 1
         THEN 2 * sum(follow_up_delay_ns) FILTER (WHERE is_middle)
         ELSE sum(follow_up_delay_ns) FILTER (WHERE is_middle) END AS twice_median_ns
  FROM middles
  GROUP BY scope_code
),
scopes AS (
  SELECT '00' AS province_code, 'INDONESIA' AS province_name
  UNION ALL
  SELECT code AS province_code, name AS province_name FROM provinces
)
SELECT
  $period AS period,
  s.province_code,
  s.province_name,
  COALESCE(c.received, 0) AS received,
  COALESCE(c.followed_up_in_month, 0) AS followed_up_in_month,
  COALESCE(c.closed_in_month, 0) AS closed_in_month,
  COALESCE(c.open_at_end, 0) AS open_at_end,
  COALESCE(c.open_not_followed_up, 0) AS open_not_followed_up,
  COALESCE(c.not_followed_up_0_30, 0) AS not_followed_up_0_30,
  COALESCE(c.not_followed_up_31_90, 0) AS not_followed_up_31_90,
  COALESCE(c.not_followed_up_91_180, 0) AS not_followed_up_91_180,
  COALESCE(c.not_followed_up_over_180, 0) AS not_followed_up_over_180,
  -- days to one decimal, half away from zero: tenths of a day are
  -- 8 640 000 000 000 ns, so tenths = (twice_ns + 8.64e12) / 1.728e13
  CAST(
    CAST((c.twice_median_ns + 8640000000000) // 17280000000000 AS DECIMAL(18, 0))
      * CAST('0.1' AS DECIMAL(2, 1))
    AS DECIMAL(18, 1)) AS median_days_to_follow_up,
  COALESCE(c.sla_cohort, 0) AS sla_cohort,
  COALESCE(c.sla_met, 0) AS sla_met,
  -- percent to one decimal, half away from zero:
  -- tenths = (2000 × met + cohort) / (2 × cohort)
  CASE WHEN c.sla_cohort > 0 THEN
    CAST(
      CAST((2000 * c.sla_met + c.sla_cohort) // (2 * c.sla_cohort) AS DECIMAL(18, 0))
        * CAST('0.1' AS DECIMAL(2, 1))
      AS DECIMAL(18, 1))
  END AS sla_met_pct
FROM scopes AS s
LEFT JOIN counts AS c ON c.scope_code = s.province_code
ORDER BY s.province_code
