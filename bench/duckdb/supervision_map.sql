-- DuckDB translation of queries/supervision_map.sql (bench/run.sh); differences from the
-- original are marked `-- duckdb:`. Parameters are substituted as typed
-- literals by bench/duckdb_bench.py.
-- table: supervision_map
-- kind: report
-- title_id: Peta pengawasan ketenagakerjaan per provinsi
-- title_en: Labour-inspection capacity by province
-- params: $period, $workers_per_inspector, $companies_per_inspector_year, $window_12m_start, $month_last_day
-- description: For each of the 38 provinces, in code order, after a national
--   row (code 00, INDONESIA) whose counts are the sums of the province rows
--   and whose ratios are recomputed from those sums: companies in the
--   inspection system's registry; employers active in social insurance
--   (BPJS Ketenagakerjaan, placed by mapping the statistics-office province
--   code to the Kemendagri code), those of them without a business id (NIB)
--   that matches a registry company in any province, and their insured
--   workers; active labour inspectors; inspectors needed to cover the insured
--   workers at $workers_per_inspector workers each, and to inspect every
--   registry company once a year at $companies_per_inspector_year companies
--   each (both rounded up, computed per province; insured workers only, so a
--   lower bound); the shortfall of active inspectors against each need (never
--   below 0); companies and open complaints (from the follow-up table) per
--   active inspector (empty without inspectors); and registry companies with
--   at least one inspection of any type with a visit date in the twelve months
--   ending on the last day of the month, also as a percentage of the registry
--   (empty without companies). Ratios are exact, rounded half away from zero
--   to one decimal.
WITH
inspected_ids AS (
  SELECT DISTINCT company_id
  FROM inspections
  WHERE visit_date >= $window_12m_start AND visit_date <= $month_last_day
),
company_counts AS (
  -- by the snapshot's province
  SELECT
    c.province_code,
    count(*) AS companies_registry,
    count(i.company_id) AS companies_inspected_12m
  FROM companies AS c
  LEFT JOIN inspected_ids AS i ON i.company_id = c.company_id
  GROUP BY c.province_code
),
registry_nibs AS (
  SELECT DISTINCT nib FROM companies WHERE nib IS NOT NULL
),
employer_counts AS (
  -- the insurance system's BPS province code, mapped to Kemendagri
  SELECT
    p.code AS province_code,
    count(*) AS employers_insured_active,
    count(*) FILTER (WHERE r.nib IS NULL) AS employers_not_in_registry,
    sum(e.registered_workers) AS workers_insured
  FROM employers AS e
  JOIN provinces AS p ON p.bps_code = e.province_code_bps
  LEFT JOIN registry_nibs AS r ON r.nib = e.nib
  WHERE e.status = 'ACTIVE'
  GROUP BY p.code
),
inspector_counts AS (
  SELECT province_code, count(*) AS inspectors_active
  FROM inspectors
  WHERE active
  GROUP BY province_code
),
province_counts AS (
  SELECT
    p.code AS province_code,
    p.name AS province_name,
    COALESCE(cc.companies_registry, 0) AS companies_registry,
    COALESCE(ec.employers_insured_active, 0) AS employers_insured_active,
    COALESCE(ec.employers_not_in_registry, 0) AS employers_not_in_registry,
    COALESCE(ec.workers_insured, 0) AS workers_insured,
    COALESCE(ic.inspectors_active, 0) AS inspectors_active,
    COALESCE(f.open_at_end, 0) AS open_at_end,
    COALESCE(cc.companies_inspected_12m, 0) AS companies_inspected_12m
  FROM provinces AS p
  LEFT JOIN company_counts AS cc ON cc.province_code = p.code
  LEFT JOIN employer_counts AS ec ON ec.province_code = p.code
  LEFT JOIN inspector_counts AS ic ON ic.province_code = p.code
  LEFT JOIN followup_by_province AS f ON f.province_code = p.code
),
province_needs AS (
  SELECT
    province_counts.*,
    -- ceil(a / b) = (a + b - 1) / b for a >= 0, b > 0
    (workers_insured + $workers_per_inspector - 1) // $workers_per_inspector AS inspectors_needed,
    (companies_registry + $companies_per_inspector_year - 1) // $companies_per_inspector_year
      AS inspectors_needed_workload
  FROM province_counts
),
province_rows AS (
  SELECT
    province_needs.*,
    CASE WHEN inspectors_needed > inspectors_active
         THEN inspectors_needed - inspectors_active ELSE 0 END AS inspector_gap,
    CASE WHEN inspectors_needed_workload > inspectors_active
         THEN inspectors_needed_workload - inspectors_active ELSE 0 END AS inspector_gap_workload
  FROM province_needs
),
all_rows AS (
  -- each province row twice, from one read: as itself and in the national
  -- row (code 00), whose counts are the sums of the province rows
  SELECT
    CASE WHEN n.national THEN '00' ELSE r.province_code END AS province_code,
    CASE WHEN n.national THEN 'INDONESIA' ELSE r.province_name END AS province_name,
    sum(r.companies_registry) AS companies_registry,
    sum(r.employers_insured_active) AS employers_insured_active,
    sum(r.employers_not_in_registry) AS employers_not_in_registry,
    sum(r.workers_insured) AS workers_insured,
    sum(r.inspectors_active) AS inspectors_active,
    sum(r.open_at_end) AS open_at_end,
    sum(r.companies_inspected_12m) AS companies_inspected_12m,
    sum(r.inspectors_needed) AS inspectors_needed,
    sum(r.inspectors_needed_workload) AS inspectors_needed_workload,
    sum(r.inspector_gap) AS inspector_gap,
    sum(r.inspector_gap_workload) AS inspector_gap_workload
  FROM province_rows AS r
  CROSS JOIN (VALUES (false), (true)) AS n (national)
  GROUP BY 1, 2
)
SELECT
  $period AS period,
  province_code,
  province_name,
  companies_registry,
  employers_insured_active,
  employers_not_in_registry,
  workers_insured,
  inspectors_active,
  inspectors_needed,
  inspectors_needed_workload,
  inspector_gap,
  inspector_gap_workload,
  -- a / b to one decimal, half away from zero: tenths = (20a + b) / 2b
  CASE WHEN inspectors_active > 0 THEN
    CAST(
      CAST((20 * companies_registry + inspectors_active) // (2 * inspectors_active) AS DECIMAL(18, 0))
        * CAST('0.1' AS DECIMAL(2, 1))
      AS DECIMAL(18, 1))
  END AS companies_per_inspector,
  CASE WHEN inspectors_active > 0 THEN
    CAST(
      CAST((20 * open_at_end + inspectors_active) // (2 * inspectors_active) AS DECIMAL(18, 0))
        * CAST('0.1' AS DECIMAL(2, 1))
      AS DECIMAL(18, 1))
  END AS open_complaints_per_inspector,
  companies_inspected_12m,
  -- percent: tenths = (2000a + b) / 2b
  CASE WHEN companies_registry > 0 THEN
    CAST(
      CAST((2000 * companies_inspected_12m + companies_registry) // (2 * companies_registry)
           AS DECIMAL(18, 0))
        * CAST('0.1' AS DECIMAL(2, 1))
      AS DECIMAL(18, 1))
  END AS coverage_12m_pct
FROM all_rows
ORDER BY province_code
