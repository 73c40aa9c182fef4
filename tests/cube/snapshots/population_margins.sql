-- part population shift 0 strategy single
-- one_pass
WITH f AS (
  SELECT
    "t0"."region_gemeente" AS "k0",
    "t0"."year" AS "k1",
    "t0"."holding",
    "t0"."record_key",
    "t0"."holding_rows_year" AS "hr",
    COALESCE(TRUE AND (
      "t0"."income_decile" <= 4
    ), FALSE) AS "f1"
  FROM "fact_population" AS "t0"
), p AS (
  SELECT
    k0,
    k1,
    COUNT(*) AS n0,
    SUM(record_key) AS r0,
    COUNT(*) FILTER(WHERE
      f1) AS n1,
    SUM(record_key) FILTER(WHERE
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
  CAST(SUM(n0) AS BIGINT) AS n0,
  CAST(COALESCE(SUM(r0), 0) & 4294967295 AS BIGINT) AS key0,
  CAST(SUM(n1) AS BIGINT) AS n1,
  CAST(COALESCE(SUM(r1), 0) & 4294967295 AS BIGINT) AS key1
FROM p
GROUP BY
  GROUPING SETS (
    (k0, k1),
    (k1)
  )
-- one_pass on spark
WITH f AS (SELECT `t0`.`region_gemeente` AS `k0`, `t0`.`year` AS `k1`, `t0`.`holding`, `t0`.`record_key`, `t0`.`holding_rows_year` AS `hr`, COALESCE(TRUE AND (`t0`.`income_decile` <= 4), FALSE) AS `f1` FROM `fact_population` AS `t0`), p AS (SELECT k0, k1, COUNT(*) AS n0, SUM(record_key) AS r0, COUNT(*) FILTER(WHERE f1) AS n1, SUM(record_key) FILTER(WHERE f1) AS r1 FROM f GROUP BY k0, k1) SELECT k0, k1, GROUPING_ID(k0, k1) AS g, CAST(SUM(n0) AS BIGINT) AS n0, CAST(COALESCE(SUM(r0), 0) & 4294967295 AS BIGINT) AS key0, CAST(SUM(n1) AS BIGINT) AS n1, CAST(COALESCE(SUM(r1), 0) & 4294967295 AS BIGINT) AS key1 FROM p GROUP BY GROUPING SETS ((k0, k1), (k1))
