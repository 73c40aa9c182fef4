-- part dwellings shift 0 strategy bounds
WITH f AS (SELECT
  "t0"."region_wijk" AS "k0",
  "t0"."holding",
  "t0"."record_key",
  "t0"."holding_rows_year" AS "hr",
  COALESCE(TRUE, FALSE) AS "f0",
  COALESCE(TRUE, FALSE) AS "f1",
  COALESCE(CAST("t0"."woz_value" AS DOUBLE), 0) AS "x1"
FROM "fact_dwellings" AS "t0"
WHERE
  "t0"."region_gemeente" IN (1) AND "t0"."year" IN (2023))
SELECT k0, GROUPING(k0) AS g, count(*) FILTER (WHERE f0) AS n0, count(*) FILTER (WHERE f0) AS c0, CAST(coalesce(sum(record_key) FILTER (WHERE f0), 0) % 4294967296 AS BIGINT) AS key0, sum(CAST(1 AS DOUBLE) / hr) FILTER (WHERE f0) AS lb0, max(hr) FILTER (WHERE f0) AS mr0, count(*) FILTER (WHERE f1) AS n1, count(*) FILTER (WHERE f1) AS c1, CAST(coalesce(sum(record_key) FILTER (WHERE f1), 0) % 4294967296 AS BIGINT) AS key1, sum(CAST(1 AS DOUBLE) / hr) FILTER (WHERE f1) AS lb1, max(hr) FILTER (WHERE f1) AS mr1, coalesce(sum(x1) FILTER (WHERE f1), 0) AS s1, max(x1, 2) FILTER (WHERE f1) AS top1
FROM f GROUP BY GROUPING SETS ((k0), ())
-- holding pass
WITH f AS (SELECT
  "t0"."region_wijk" AS "k0",
  "t0"."holding",
  "t0"."record_key",
  "t0"."holding_rows_year" AS "hr",
  COALESCE(TRUE, FALSE) AS "f0",
  COALESCE(TRUE, FALSE) AS "f1",
  COALESCE(CAST("t0"."woz_value" AS DOUBLE), 0) AS "x1"
FROM "fact_dwellings" AS "t0"
WHERE
  "t0"."region_gemeente" IN (1) AND "t0"."year" IN (2023)),
h AS (SELECT k0, GROUPING(k0) AS g, holding, count(*) FILTER (WHERE f0) AS n0, coalesce(sum(record_key) FILTER (WHERE f0), 0) AS r0, count(*) FILTER (WHERE f1) AS n1, coalesce(sum(record_key) FILTER (WHERE f1), 0) AS r1, coalesce(sum(x1) FILTER (WHERE f1), 0) AS s1
FROM f {where} GROUP BY GROUPING SETS ((k0, holding), (holding)))
SELECT k0, g, sum(n0) AS n0, count(*) FILTER (WHERE n0 > 0) AS c0, CAST(sum(r0) % 4294967296 AS BIGINT) AS key0, sum(n1) AS n1, count(*) FILTER (WHERE n1 > 0) AS c1, CAST(sum(r1) % 4294967296 AS BIGINT) AS key1, sum(s1) AS s1, max(s1, 2) FILTER (WHERE n1 > 0) AS top1
FROM h GROUP BY k0, g
