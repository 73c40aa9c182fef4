-- part dwellings shift 0 strategy split
-- statement
WITH s0_f AS (
  SELECT
    "t0"."region_wijk" AS "k0",
    "t0"."holding",
    "t0"."record_key",
    "t0"."holding_rows_year" AS "hr",
    COALESCE("t0"."woz_value", 0) * 10000 AS "x1"
  FROM "fact_dwellings" AS "t0"
  WHERE
    "t0"."region_gemeente" IN (1) AND "t0"."year" IN (2023)
), s1_f AS (
  SELECT
    "t0"."region_wijk" AS "k0",
    "t0"."holding",
    "t0"."record_key",
    "t0"."holding_rows_year" AS "hr",
    COALESCE("t0"."woz_value", 0) * 10000 AS "x1"
  FROM "fact_dwellings" AS "t0"
  WHERE
    "t0"."region_gemeente" IN (1) AND "t0"."year" IN (2023)
), s1_h AS (
  SELECT
    k0,
    GROUPING(k0) AS g,
    holding,
    COUNT(*) AS n0,
    COALESCE(SUM(record_key), 0) AS r0,
    COALESCE(SUM(x1), 0) AS s1
  FROM s1_f
  WHERE
    hr > 1
  GROUP BY
    GROUPING SETS (
      (k0, holding),
      (holding)
    )
)
SELECT
  0 AS src,
  k0,
  g,
  n0,
  key0,
  s1,
  top1,
  NULL AS c0,
  NULL AS rtop0
FROM (
  SELECT
    k0,
    GROUPING(k0) AS g,
    COUNT(*) AS n0,
    CAST(COALESCE(SUM(record_key), 0) & 4294967295 AS BIGINT) AS key0,
    CAST(CAST(COALESCE(SUM(x1), 0) AS BIGINT) AS DOUBLE) / 10000 AS s1,
    MAX(CAST(CAST(x1 AS BIGINT) AS DOUBLE) / 10000, 2) AS top1
  FROM s0_f
  WHERE
    hr = 1
  GROUP BY
    GROUPING SETS (
      (k0),
      ()
    )
) AS t0
UNION ALL
SELECT
  1 AS src,
  k0,
  g,
  n0,
  key0,
  s1,
  top1,
  c0,
  rtop0
FROM (
  SELECT
    k0,
    g,
    SUM(n0) AS n0,
    COUNT(*) AS c0,
    CAST(SUM(r0) & 4294967295 AS BIGINT) AS key0,
    MAX(n0, 2) AS rtop0,
    CAST(CAST(SUM(s1) AS BIGINT) AS DOUBLE) / 10000 AS s1,
    MAX(CAST(CAST(s1 AS BIGINT) AS DOUBLE) / 10000, 2) AS top1
  FROM s1_h
  GROUP BY
    k0,
    g
) AS t1
-- statement on spark
WITH s0_f AS (SELECT `t0`.`region_wijk` AS `k0`, `t0`.`holding`, `t0`.`record_key`, `t0`.`holding_rows_year` AS `hr`, COALESCE(`t0`.`woz_value`, 0) * 10000 AS `x1` FROM `fact_dwellings` AS `t0` WHERE `t0`.`region_gemeente` IN (1) AND `t0`.`year` IN (2023)), s1_f AS (SELECT `t0`.`region_wijk` AS `k0`, `t0`.`holding`, `t0`.`record_key`, `t0`.`holding_rows_year` AS `hr`, COALESCE(`t0`.`woz_value`, 0) * 10000 AS `x1` FROM `fact_dwellings` AS `t0` WHERE `t0`.`region_gemeente` IN (1) AND `t0`.`year` IN (2023)), s1_h AS (SELECT k0, GROUPING(k0) AS g, holding, COUNT(*) AS n0, COALESCE(SUM(record_key), 0) AS r0, COALESCE(SUM(x1), 0) AS s1 FROM s1_f WHERE hr > 1 GROUP BY GROUPING SETS ((k0, holding), (holding))) SELECT 0 AS src, k0, g, n0, key0, s1, top1, NULL AS c0, NULL AS rtop0 FROM (SELECT k0, GROUPING_ID(k0) AS g, COUNT(*) AS n0, CAST(COALESCE(SUM(record_key), 0) & 4294967295 AS BIGINT) AS key0, CAST(CAST(COALESCE(SUM(x1), 0) AS BIGINT) AS DOUBLE) / 10000 AS s1, SLICE(SORT_ARRAY(COLLECT_LIST(CAST(CAST(x1 AS BIGINT) AS DOUBLE) / 10000), FALSE), 1, 2) AS top1 FROM s0_f WHERE hr = 1 GROUP BY GROUPING SETS ((k0), ())) AS t0 UNION ALL SELECT 1 AS src, k0, g, n0, key0, s1, top1, c0, rtop0 FROM (SELECT k0, g, SUM(n0) AS n0, COUNT(*) AS c0, CAST(SUM(r0) & 4294967295 AS BIGINT) AS key0, SLICE(SORT_ARRAY(COLLECT_LIST(n0), FALSE), 1, 2) AS rtop0, CAST(CAST(SUM(s1) AS BIGINT) AS DOUBLE) / 10000 AS s1, SLICE(SORT_ARRAY(COLLECT_LIST(CAST(CAST(s1 AS BIGINT) AS DOUBLE) / 10000), FALSE), 1, 2) AS top1 FROM s1_h GROUP BY k0, g) AS t1
-- exact
WITH f AS (
  SELECT
    "t0"."region_wijk" AS "k0",
    "t0"."holding",
    "t0"."record_key",
    "t0"."holding_rows_year" AS "hr",
    COALESCE("t0"."woz_value", 0) * 10000 AS "x1"
  FROM "fact_dwellings" AS "t0"
  WHERE
    "t0"."region_gemeente" IN (1) AND "t0"."year" IN (2023)
), h AS (
  SELECT
    k0,
    GROUPING(k0) AS g,
    holding,
    COUNT(*) AS n0,
    COALESCE(SUM(record_key), 0) AS r0,
    COALESCE(SUM(x1), 0) AS s1
  FROM f
  GROUP BY
    GROUPING SETS (
      (k0, holding),
      (holding)
    )
)
SELECT
  k0,
  g,
  SUM(n0) AS n0,
  COUNT(*) AS c0,
  CAST(SUM(r0) & 4294967295 AS BIGINT) AS key0,
  MAX(n0, 2) AS rtop0,
  CAST(CAST(SUM(s1) AS BIGINT) AS DOUBLE) / 10000 AS s1,
  MAX(CAST(CAST(s1 AS BIGINT) AS DOUBLE) / 10000, 2) AS top1
FROM h
GROUP BY
  k0,
  g
-- exact on spark
WITH f AS (SELECT `t0`.`region_wijk` AS `k0`, `t0`.`holding`, `t0`.`record_key`, `t0`.`holding_rows_year` AS `hr`, COALESCE(`t0`.`woz_value`, 0) * 10000 AS `x1` FROM `fact_dwellings` AS `t0` WHERE `t0`.`region_gemeente` IN (1) AND `t0`.`year` IN (2023)), h AS (SELECT k0, GROUPING(k0) AS g, holding, COUNT(*) AS n0, COALESCE(SUM(record_key), 0) AS r0, COALESCE(SUM(x1), 0) AS s1 FROM f GROUP BY GROUPING SETS ((k0, holding), (holding))) SELECT k0, g, SUM(n0) AS n0, COUNT(*) AS c0, CAST(SUM(r0) & 4294967295 AS BIGINT) AS key0, SLICE(SORT_ARRAY(COLLECT_LIST(n0), FALSE), 1, 2) AS rtop0, CAST(CAST(SUM(s1) AS BIGINT) AS DOUBLE) / 10000 AS s1, SLICE(SORT_ARRAY(COLLECT_LIST(CAST(CAST(s1 AS BIGINT) AS DOUBLE) / 10000), FALSE), 1, 2) AS top1 FROM h GROUP BY k0, g
