-- part population shift 0 strategy single
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
-- holding pass
WITH f AS (SELECT
  "t0"."region_gemeente" AS "k0",
  "t0"."year" AS "k1",
  "t0"."holding",
  "t0"."record_key",
  "t0"."holding_rows_year" AS "hr",
  COALESCE(TRUE AND (
    "t0"."income_decile" <= 4
  ), FALSE) AS "f1"
FROM "fact_population" AS "t0"),
h AS (SELECT k0, k1, GROUPING(k0, k1) AS g, holding, count(*) AS n0, coalesce(sum(record_key), 0) AS r0, count(*) FILTER (WHERE f1) AS n1, coalesce(sum(record_key) FILTER (WHERE f1), 0) AS r1
FROM f {where} GROUP BY GROUPING SETS ((k0, k1, holding), (k1, holding)))
SELECT k0, k1, g, sum(n0) AS n0, count(*) AS c0, CAST(sum(r0) % 4294967296 AS BIGINT) AS key0, max(n0, 2) AS rtop0, sum(n1) AS n1, count(*) FILTER (WHERE n1 > 0) AS c1, CAST(sum(r1) % 4294967296 AS BIGINT) AS key1, max(n1, 2) FILTER (WHERE n1 > 0) AS rtop1
FROM h GROUP BY k0, k1, g
