-- part population shift 0 strategy single
-- one_pass
WITH f AS (SELECT
  "t0"."region_gemeente" AS "k0",
  "t0"."year" AS "k1",
  "t0"."holding",
  "t0"."record_key",
  "t0"."holding_rows_year" AS "hr",
  COALESCE(TRUE AND (
    "t0"."income_decile" <= 4
  ), FALSE) AS "f1"
FROM "fact_population" AS "t0")
SELECT k0, k1, GROUPING(k0, k1) AS g, count(*) AS n0, CAST(coalesce(sum(record_key), 0) % 4294967296 AS BIGINT) AS key0, count(*) FILTER (WHERE f1) AS n1, CAST(coalesce(sum(record_key) FILTER (WHERE f1), 0) % 4294967296 AS BIGINT) AS key1
FROM f GROUP BY GROUPING SETS ((k0, k1), (k1))
