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
-- the insurance system's BPS province code, mapped to Kemendagri
active_employers AS (
  SELECT
    e.nib,
    p.code AS province_code,
    e.arrears_months,
    e.arrears_amount_idr
  FROM employers AS e
  JOIN provinces AS p ON p.bps_code = e.province_code_bps
  WHERE e.status = 'ACTIVE'
),
-- counted in the complaint's province; a complaint without a company, or
-- whose company is missing from the registry or has no NIB, has no NIB
bpjs_complaints AS (
  SELECT
    co.nib,
    cs.province_code
  FROM complaint_state AS cs
  LEFT JOIN companies AS co ON co.company_id = cs.company_id
  WHERE cs.received_in_month AND cs.violation_code = 'BPJS'
),
-- per province, up to three rows: the complaints; those whose NIB is among
-- the active employers' (the few complaints are looked up in a hash table
-- that the employers stream through, no sort by NIB); the employers in
-- arrears
counts AS (
  SELECT province_code, count(*) AS bpjs_complaints, 0 AS bpjs_complaints_employer_active,
         0 AS employers_arrears_3m, CAST(NULL AS BIGINT) AS arrears_amount_idr
  FROM bpjs_complaints
  GROUP BY province_code
  UNION ALL
  SELECT province_code, 0, count(*), 0, CAST(NULL AS BIGINT)
  FROM bpjs_complaints
  WHERE nib IN (SELECT nib FROM active_employers)
  GROUP BY province_code
  UNION ALL
  SELECT province_code, 0, 0, count(*), sum(arrears_amount_idr)
  FROM active_employers
  WHERE arrears_months >= 3
  GROUP BY province_code
),
all_rows AS (
  -- each province twice, from one read: as itself and in the national sum
  -- (code 00)
  SELECT
    CASE WHEN n.national THEN '00' ELSE p.code END AS province_code,
    CASE WHEN n.national THEN 'INDONESIA' ELSE p.name END AS province_name,
    COALESCE(sum(counts.bpjs_complaints), 0) AS bpjs_complaints,
    COALESCE(sum(counts.bpjs_complaints_employer_active), 0) AS bpjs_complaints_employer_active,
    COALESCE(sum(counts.employers_arrears_3m), 0) AS employers_arrears_3m,
    COALESCE(sum(counts.arrears_amount_idr), 0) AS arrears_amount_idr
  FROM provinces AS p
  LEFT JOIN counts ON counts.province_code = p.code
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
