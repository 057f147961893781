-- DuckDB translation of queries/complaint_state.sql (bench/run.sh); differences from the
-- original are marked `-- duckdb:`. Parameters are substituted as typed
-- literals by bench/duckdb_bench.py.
-- table: complaint_state
-- kind: view
-- title_id: Keadaan tiap pengaduan pada awal dan akhir bulan
-- title_en: State of each complaint at the start and end of the month
-- params: $month_start, $month_end, $cohort_start, $cohort_end, $sla_days
-- description: One row per complaint (its winning complaint row; events
--   without a complaint row are left out here and counted in data quality).
--   The status of a complaint at an instant T is the status of its event with
--   the latest event time before T (on a tie, the greatest event id wins); a
--   complaint with no such event that was received before T is RECEIVED.
--   Terminal statuses are REJECTED, REDIRECTED, RESOLVED, CLOSED_NO_VIOLATION,
--   WITHDRAWN and CLOSED_UNRESOLVED; a later non-terminal event re-opens a
--   complaint. A complaint is open at T when it was received before T and its
--   status at T is not terminal. Its first follow-up is its earliest event
--   with a follow-up status (INSPECTED, NOTA_1, NOTA_2, SANCTION_RECOMMENDED,
--   REFERRED_PPNS, RESOLVED, CLOSED_NO_VIOLATION), whether or not an
--   inspection came first; the delay to it counts as 0 when the event is dated
--   before the complaint was received. Month boundaries are midnight in
--   Jakarta (UTC+07:00) for every province. Age at month end is the number of
--   whole days from receipt to the end of the month. The SLA cohort is the
--   complaints received two months earlier, except those REJECTED or
--   REDIRECTED at month end without any follow-up before it; a cohort
--   complaint meets the SLA when its first follow-up came before month end and
--   at most $sla_days days after receipt.
WITH
-- one pass over the events, one row per complaint that has any: the status
-- of its latest event before each month boundary (latest event time, then
-- greatest event id) and its first follow-up
event_summary AS (
  SELECT
    e.complaint_id,
    -- duckdb: last_value(... ORDER BY ...) as arg_max over (event_at, event_id)
    arg_max(e.status, struct_pack(t := e.event_at, id := e.event_id))
      FILTER (WHERE e.event_at < $month_start) AS status_before_start,
    arg_max(e.status, struct_pack(t := e.event_at, id := e.event_id))
      FILTER (WHERE e.event_at < $month_end) AS status_before_end,
    min(e.event_at) FILTER (WHERE s.follow_up) AS first_follow_up_at
  FROM complaint_events AS e
  LEFT JOIN complaint_statuses AS s ON s.code = e.status
  GROUP BY e.complaint_id
),
statuses AS (
  SELECT
    c.complaint_id,
    c.province_code,
    c.violation_code,
    c.company_id,
    c.received_at,
    -- duckdb: epoch_ns for arrow_cast(.., 'Int64'), // for integer /
    epoch_ns(c.received_at) AS received_ns,
    ev.first_follow_up_at,
    epoch_ns(ev.first_follow_up_at) AS follow_up_ns,
    COALESCE(ev.status_before_start, CASE WHEN c.received_at < $month_start THEN 'RECEIVED' END)
      AS status_at_start,
    COALESCE(ev.status_before_end, CASE WHEN c.received_at < $month_end THEN 'RECEIVED' END)
      AS status_at_end
  FROM complaints AS c
  LEFT JOIN event_summary AS ev ON ev.complaint_id = c.complaint_id
),
flags AS (
  SELECT
    st.*,
    st.received_at >= $month_start AND st.received_at < $month_end AS received_in_month,
    st.received_at >= $cohort_start AND st.received_at < $cohort_end AS received_in_cohort,
    COALESCE(ts.terminal, false) AS terminal_at_start,
    COALESCE(te.terminal, false) AS terminal_at_end,
    COALESCE(st.first_follow_up_at >= $month_start AND st.first_follow_up_at < $month_end, false)
      AS followed_up_in_month,
    COALESCE(st.first_follow_up_at < $month_end, false) AS followed_up_before_end,
    CASE
      WHEN st.follow_up_ns IS NULL THEN NULL
      WHEN st.follow_up_ns > st.received_ns THEN st.follow_up_ns - st.received_ns
      ELSE 0
    END AS follow_up_delay_ns
  FROM statuses AS st
  LEFT JOIN complaint_statuses AS ts ON ts.code = st.status_at_start
  LEFT JOIN complaint_statuses AS te ON te.code = st.status_at_end
),
cohort AS (
  SELECT
    flags.*,
    received_in_cohort
      AND NOT (status_at_end IN ('REJECTED', 'REDIRECTED') AND NOT followed_up_before_end)
      AS in_sla_cohort
  FROM flags
)
SELECT
  complaint_id,
  province_code,
  violation_code,
  company_id,
  received_at,
  status_at_start,
  status_at_end,
  first_follow_up_at,
  -- nanoseconds from receipt to first follow-up, negative delays as 0
  follow_up_delay_ns,
  received_in_month,
  received_in_cohort,
  terminal_at_start,
  terminal_at_end,
  followed_up_in_month,
  followed_up_before_end,
  received_at < $month_end AND NOT terminal_at_end AS open_at_end,
  -- a complaint received in the month counts when terminal at month end
  terminal_at_end AND (NOT terminal_at_start OR received_in_month) AS closed_in_month,
  -- whole days (floor) from receipt to month end; 86 400 000 000 000 ns a day
  CASE
    WHEN received_at < $month_end
    THEN (epoch_ns($month_end) - received_ns) // 86400000000000
  END AS age_days_at_end,
  in_sla_cohort,
  in_sla_cohort
    AND followed_up_before_end
    AND follow_up_delay_ns <= $sla_days * 86400000000000 AS sla_met
FROM cohort
