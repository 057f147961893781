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
active_nibs AS (
  SELECT DISTINCT nib FROM employers WHERE status = 'ACTIVE' AND nib IS NOT NULL
),
bpjs_counts AS (
  SELECT
    cs.province_code,
    count(*) AS bpjs_complaints,
    count(*) FILTER (WHERE an.nib IS NOT NULL) AS bpjs_complaints_employer_active
  FROM complaint_state AS cs
  LEFT JOIN companies AS co ON co.company_id = cs.company_id
  LEFT JOIN active_nibs AS an ON an.nib = co.nib
  WHERE cs.received_in_month AND cs.violation_code = 'BPJS'
  GROUP BY cs.province_code
),
arrears_counts AS (
  -- the insurance system's BPS province code, mapped to Kemendagri
  SELECT
    p.code AS province_code,
    count(*) AS employers_arrears_3m,
    sum(e.arrears_amount_idr) AS arrears_amount_idr
  FROM employers AS e
  JOIN provinces AS p ON p.bps_code = e.province_code_bps
  WHERE e.status = 'ACTIVE' AND e.arrears_months >= 3
  GROUP BY p.code
),
province_rows AS (
  SELECT
    p.code AS province_code,
    p.name AS province_name,
    COALESCE(b.bpjs_complaints, 0) AS bpjs_complaints,
    COALESCE(b.bpjs_complaints_employer_active, 0) AS bpjs_complaints_employer_active,
    COALESCE(a.employers_arrears_3m, 0) AS employers_arrears_3m,
    COALESCE(a.arrears_amount_idr, 0) AS arrears_amount_idr
  FROM provinces AS p
  LEFT JOIN bpjs_counts AS b ON b.province_code = p.code
  LEFT JOIN arrears_counts AS a ON a.province_code = p.code
),
all_rows AS (
  SELECT
    '00' AS province_code,
    'INDONESIA' AS province_name,
    sum(bpjs_complaints) AS bpjs_complaints,
    sum(bpjs_complaints_employer_active) AS bpjs_complaints_employer_active,
    sum(employers_arrears_3m) AS employers_arrears_3m,
    sum(arrears_amount_idr) AS arrears_amount_idr
  FROM province_rows
  UNION ALL
  SELECT province_code, province_name, bpjs_complaints, bpjs_complaints_employer_active,
         employers_arrears_3m, arrears_amount_idr
  FROM province_rows
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
