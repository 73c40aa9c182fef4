-- part population shift 0 strategy rollup
-- statement
WITH f AS (
  SELECT
    "t0"."region_gemeente" AS "k0",
    "t0"."year" AS "k1",
    "t0"."n",
    "t0"."rk",
    "t0"."flag_d4b63b5ed275" AS "f1"
  FROM "zicht_rollups"."ru_population_region_flags_s" AS "t0"
), p AS (
  SELECT
    k0,
    k1,
    SUM(n) AS n0,
    SUM(rk) AS r0,
    SUM(n) FILTER(WHERE
      f1) AS n1,
    SUM(rk) FILTER(WHERE
      f1) AS r1
  FROM f
  GROUP BY
    k0,
    k1
)
SELECT
  k0,
  k1,
  GROUPING(k0, k1) AS g,
  SUM(n0) AS n0,
  CAST(COALESCE(SUM(r0), 0) & 4294967295 AS BIGINT) AS key0,
  SUM(n1) AS n1,
  CAST(COALESCE(SUM(r1), 0) & 4294967295 AS BIGINT) AS key1
FROM p
GROUP BY
  GROUPING SETS (
    (k0, k1),
    (k1)
  )
-- statement on spark
WITH f AS (SELECT `t0`.`region_gemeente` AS `k0`, `t0`.`year` AS `k1`, `t0`.`n`, `t0`.`rk`, `t0`.`flag_d4b63b5ed275` AS `f1` FROM `zicht_rollups`.`ru_population_region_flags_s` AS `t0`), p AS (SELECT k0, k1, SUM(n) AS n0, SUM(rk) AS r0, SUM(n) FILTER(WHERE f1) AS n1, SUM(rk) FILTER(WHERE f1) AS r1 FROM f GROUP BY k0, k1) SELECT k0, k1, GROUPING_ID(k0, k1) AS g, SUM(n0) AS n0, CAST(COALESCE(SUM(r0), 0) & 4294967295 AS BIGINT) AS key0, SUM(n1) AS n1, CAST(COALESCE(SUM(r1), 0) & 4294967295 AS BIGINT) AS key1 FROM p GROUP BY GROUPING SETS ((k0, k1), (k1))
