-- DuckDB translation of queries/insurance_crosscheck.sql (bench/run.sh); differences from the
-- original are marked `-- duckdb:`. Parameters are substituted as typed
-- literals by bench/duckdb_bench.py.
-- table: insurance_crosscheck
-- kind: report
-- title_id: Pemeriksaan silang dengan BPJS Ketenagakerjaan
-- title_en: Cross-check with social insurance
-- params: $period
-- description: For each of the 38 provinces, in code order, after a national
--   row (code 00, INDONESIA) that sums them: complaints received in the month
--   about non-enrolment in social insurance (violation BPJS), counted in the
--   complaint's province; those of them whose company, looked up in the
--   inspection system's registry, has a business id (NIB) equal to that of an
--   employer active in social insurance in any province (a complaint without a
--   company, or whose company is missing from the registry or has no NIB, is
--   not matched); and employers active in social insurance that owe three or
--   more months of contributions, with the total amount owed in rupiah, placed
--   in the province obtained by mapping the statistics-office code to the
--   Kemendagri code.
WITH
-- employers is read once: its ACTIVE employers and this month's BPJS
-- complaints (with the NIB of their company in the registry) go into one
-- list, so that each complaint can see whether an ACTIVE employer of any
-- province has its NIB
facts AS (
  -- the insurance system's BPS province code, mapped to Kemendagri
  SELECT
    true AS is_employer,
    e.nib,
    p.code AS province_code,
    e.arrears_months,
    e.arrears_amount_idr
  FROM employers AS e
  JOIN provinces AS p ON p.bps_code = e.province_code_bps
  WHERE e.status = 'ACTIVE'
  UNION ALL
  -- counted in the complaint's province; a complaint without a company, or
  -- whose company is missing from the registry or has no NIB, has no NIB
  SELECT
    false AS is_employer,
    co.nib,
    cs.province_code,
    CAST(NULL AS BIGINT) AS arrears_months,
    CAST(NULL AS BIGINT) AS arrears_amount_idr
  FROM complaint_state AS cs
  LEFT JOIN companies AS co ON co.company_id = cs.company_id
  WHERE cs.received_in_month AND cs.violation_code = 'BPJS'
),
matched AS (
  SELECT
    facts.*,
    nib IS NOT NULL
      AND max(CASE WHEN is_employer THEN 1 ELSE 0 END) OVER (PARTITION BY nib) = 1
      AS nib_of_active_employer
  FROM facts
),
counts AS (
  SELECT
    province_code,
    count(*) FILTER (WHERE NOT is_employer) AS bpjs_complaints,
    count(*) FILTER (WHERE NOT is_employer AND nib_of_active_employer)
      AS bpjs_complaints_employer_active,
    count(*) FILTER (WHERE is_employer AND arrears_months >= 3) AS employers_arrears_3m,
    sum(arrears_amount_idr) FILTER (WHERE is_employer AND arrears_months >= 3)
      AS arrears_amount_idr
  FROM matched
  GROUP BY province_code
),
province_rows AS (
  SELECT
    p.code AS province_code,
    p.name AS province_name,
    COALESCE(c.bpjs_complaints, 0) AS bpjs_complaints,
    COALESCE(c.bpjs_complaints_employer_active, 0) AS bpjs_complaints_employer_active,
    COALESCE(c.employers_arrears_3m, 0) AS employers_arrears_3m,
    COALESCE(c.arrears_amount_idr, 0) AS arrears_amount_idr
  FROM provinces AS p
  LEFT JOIN counts AS c ON c.province_code = p.code
),
all_rows AS (
  -- each province row twice, from one read: as itself and in the national
  -- sum (code 00)
  SELECT
    CASE WHEN n.national THEN '00' ELSE r.province_code END AS province_code,
    CASE WHEN n.national THEN 'INDONESIA' ELSE r.province_name END AS province_name,
    sum(r.bpjs_complaints) AS bpjs_complaints,
    sum(r.bpjs_complaints_employer_active) AS bpjs_complaints_employer_active,
    sum(r.employers_arrears_3m) AS employers_arrears_3m,
    sum(r.arrears_amount_idr) AS arrears_amount_idr
  FROM province_rows AS r
  CROSS JOIN (VALUES (false), (true)) AS n (national)
  GROUP BY 1, 2
)
SELECT
  $period AS period,
  province_code,
  province_name,
  bpjs_complaints,
  bpjs_complaints_employer_active,
  employers_arrears_3m,
  arrears_amount_idr
FROM all_rows
ORDER BY province_code
