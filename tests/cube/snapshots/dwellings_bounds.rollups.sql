-- part dwellings shift 0 strategy rollup
-- one_pass
WITH f AS (SELECT
  "t0"."region_wijk" AS "k0",
  "t0"."n",
  "t0"."rk",
  "t0"."sx_woz_value" AS "x1",
  "t0"."t1_woz_value" AS "t1_1",
  "t0"."t2_woz_value" AS "t2_1"
FROM "zicht_rollups"."ru_dwellings_buurt_s" AS "t0"
WHERE
  "t0"."region_gemeente" IN (1) AND "t0"."year" IN (2023))
SELECT k0, GROUPING(k0) AS g, sum(n) AS n0, CAST(coalesce(sum(rk), 0) % 4294967296 AS BIGINT) AS key0, CAST(CAST(coalesce(sum(x1), 0) AS BIGINT) AS DOUBLE) / 10000 AS s1, list_slice(list_reverse_sort(list_filter(list_concat(max(CAST(CAST(t1_1 AS BIGINT) AS DOUBLE) / 10000, 2), [max(CAST(CAST(t2_1 AS BIGINT) AS DOUBLE) / 10000)]), lambda v: v IS NOT NULL)), 1, 2) AS top1
FROM f GROUP BY GROUPING SETS ((k0), ())
-- holding
WITH f AS (SELECT
  "t0"."region_wijk" AS "k0",
  "t0"."holding",
  "t0"."n",
  "t0"."rk",
  "t0"."sx_woz_value" AS "x1"
FROM "zicht_rollups"."ru_dwellings_buurt_m" AS "t0"
WHERE
  "t0"."region_gemeente" IN (1) AND "t0"."year" IN (2023)),
h AS (SELECT k0, GROUPING(k0) AS g, holding, sum(n) AS n0, coalesce(sum(rk), 0) AS r0, coalesce(sum(x1), 0) AS s1
FROM f {where} GROUP BY GROUPING SETS ((k0, holding), (holding)))
SELECT k0, g, sum(n0) AS n0, count(*) AS c0, CAST(sum(r0) % 4294967296 AS BIGINT) AS key0, max(n0, 2) AS rtop0, CAST(CAST(sum(s1) AS BIGINT) AS DOUBLE) / 10000 AS s1, max(CAST(CAST(s1 AS BIGINT) AS DOUBLE) / 10000, 2) AS top1
FROM h GROUP BY k0, g
