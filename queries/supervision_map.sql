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
company_counts AS (
  SELECT province_code, count(*) AS companies_registry
  FROM companies
  GROUP BY province_code
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
inspected_counts AS (
  SELECT province_code, count(*) AS companies_inspected_12m
  FROM companies
  WHERE company_id IN (
    SELECT company_id
    FROM inspections
    WHERE visit_date >= $window_12m_start AND visit_date <= $month_last_day
  )
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
    COALESCE(xc.companies_inspected_12m, 0) AS companies_inspected_12m
  FROM provinces AS p
  LEFT JOIN company_counts AS cc ON cc.province_code = p.code
  LEFT JOIN employer_counts AS ec ON ec.province_code = p.code
  LEFT JOIN inspector_counts AS ic ON ic.province_code = p.code
  LEFT JOIN followup_by_province AS f ON f.province_code = p.code
  LEFT JOIN inspected_counts AS xc ON xc.province_code = p.code
),
province_needs AS (
  SELECT
    province_counts.*,
    -- ceil(a / b) = (a + b - 1) / b for a >= 0, b > 0
    (workers_insured + $workers_per_inspector - 1) / $workers_per_inspector AS inspectors_needed,
    (companies_registry + $companies_per_inspector_year - 1) / $companies_per_inspector_year
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
national_row AS (
  SELECT
    '00' AS province_code,
    'INDONESIA' AS province_name,
    sum(companies_registry) AS companies_registry,
    sum(employers_insured_active) AS employers_insured_active,
    sum(employers_not_in_registry) AS employers_not_in_registry,
    sum(workers_insured) AS workers_insured,
    sum(inspectors_active) AS inspectors_active,
    sum(open_at_end) AS open_at_end,
    sum(companies_inspected_12m) AS companies_inspected_12m,
    sum(inspectors_needed) AS inspectors_needed,
    sum(inspectors_needed_workload) AS inspectors_needed_workload,
    sum(inspector_gap) AS inspector_gap,
    sum(inspector_gap_workload) AS inspector_gap_workload
  FROM province_rows
),
all_rows AS (
  SELECT province_code, province_name, companies_registry, employers_insured_active,
         employers_not_in_registry, workers_insured, inspectors_active, open_at_end,
         companies_inspected_12m, inspectors_needed, inspectors_needed_workload,
         inspector_gap, inspector_gap_workload
  FROM national_row
  UNION ALL
  SELECT province_code, province_name, companies_registry, employers_insured_active,
         employers_not_in_registry, workers_insured, inspectors_active, open_at_end,
         companies_inspected_12m, inspectors_needed, inspectors_needed_workload,
         inspector_gap, inspector_gap_workload
  FROM province_rows
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
      CAST((20 * companies_registry + inspectors_active) / (2 * inspectors_active) AS DECIMAL(18, 0))
        * CAST('0.1' AS DECIMAL(2, 1))
      AS DECIMAL(18, 1))
  END AS companies_per_inspector,
  CASE WHEN inspectors_active > 0 THEN
    CAST(
      CAST((20 * open_at_end + inspectors_active) / (2 * inspectors_active) AS DECIMAL(18, 0))
        * CAST('0.1' AS DECIMAL(2, 1))
      AS DECIMAL(18, 1))
  END AS open_complaints_per_inspector,
  companies_inspected_12m,
  -- percent: tenths = (2000a + b) / 2b
  CASE WHEN companies_registry > 0 THEN
    CAST(
      CAST((2000 * companies_inspected_12m + companies_registry) / (2 * companies_registry)
           AS DECIMAL(18, 0))
        * CAST('0.1' AS DECIMAL(2, 1))
      AS DECIMAL(18, 1))
  END AS coverage_12m_pct
FROM all_rows
ORDER BY province_code
