-- part dwellings shift 0 strategy rollup
-- statement
WITH s0_f AS (
  SELECT
    "t0"."region_wijk" AS "k0",
    "t0"."n",
    "t0"."rk",
    "t0"."sx_woz_value" AS "x1",
    "t0"."t1_woz_value" AS "t1_1",
    "t0"."t2_woz_value" AS "t2_1"
  FROM "zicht_rollups"."ru_dwellings_buurt_s" AS "t0"
  WHERE
    "t0"."region_gemeente" IN (1) AND "t0"."year" IN (2023)
), s1_f AS (
  SELECT
    "t0"."region_wijk" AS "k0",
    "t0"."holding",
    "t0"."alone_region_wijk" AS "a0",
    "t0"."n",
    "t0"."rk",
    "t0"."sx_woz_value" AS "x1"
  FROM "zicht_rollups"."ru_dwellings_buurt_m" AS "t0"
  WHERE
    "t0"."region_gemeente" IN (1) AND "t0"."year" IN (2023)
), s1_w AS (
  SELECT
    *
  FROM s1_f
), s1_h AS (
  SELECT
    k0,
    0 AS g,
    holding,
    SUM(n) AS n0,
    COALESCE(SUM(rk), 0) AS r0,
    COALESCE(SUM(x1), 0) AS s1
  FROM s1_w
  WHERE
    NOT a0
  GROUP BY
    k0,
    holding
  UNION ALL
  SELECT
    k0,
    0 AS g,
    holding,
    n AS n0,
    COALESCE(rk, 0) AS r0,
    COALESCE(x1, 0) AS s1
  FROM s1_w
  WHERE
    a0
  UNION ALL
  SELECT
    NULL AS k0,
    1 AS g,
    holding,
    SUM(n) AS n0,
    COALESCE(SUM(rk), 0) AS r0,
    COALESCE(SUM(x1), 0) AS s1
  FROM s1_w
  GROUP BY
    holding
)
SELECT
  0 AS src,
  k0,
  g,
  n0,
  key0,
  s1,
  top1,
  sec1,
  NULL AS c0,
  NULL AS rtop0
FROM (
  SELECT
    k0,
    GROUPING(k0) AS g,
    SUM(n) AS n0,
    CAST(COALESCE(SUM(rk), 0) & 4294967295 AS BIGINT) AS key0,
    CAST(CAST(COALESCE(SUM(x1), 0) AS BIGINT) AS DOUBLE) / 10000 AS s1,
    MAX(CAST(CAST(t1_1 AS BIGINT) AS DOUBLE) / 10000, 2) AS top1,
    MAX(CAST(CAST(t2_1 AS BIGINT) AS DOUBLE) / 10000) AS sec1
  FROM s0_f
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
  NULL AS sec1,
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
WITH s0_f AS (SELECT `t0`.`region_wijk` AS `k0`, `t0`.`n`, `t0`.`rk`, `t0`.`sx_woz_value` AS `x1`, `t0`.`t1_woz_value` AS `t1_1`, `t0`.`t2_woz_value` AS `t2_1` FROM `zicht_rollups`.`ru_dwellings_buurt_s` AS `t0` WHERE `t0`.`region_gemeente` IN (1) AND `t0`.`year` IN (2023)), s1_f AS (SELECT `t0`.`region_wijk` AS `k0`, `t0`.`holding`, `t0`.`alone_region_wijk` AS `a0`, `t0`.`n`, `t0`.`rk`, `t0`.`sx_woz_value` AS `x1` FROM `zicht_rollups`.`ru_dwellings_buurt_m` AS `t0` WHERE `t0`.`region_gemeente` IN (1) AND `t0`.`year` IN (2023)), s1_w AS (SELECT * FROM s1_f), s1_h AS (SELECT k0, 0 AS g, holding, SUM(n) AS n0, COALESCE(SUM(rk), 0) AS r0, COALESCE(SUM(x1), 0) AS s1 FROM s1_w WHERE NOT a0 GROUP BY k0, holding UNION ALL SELECT k0, 0 AS g, holding, n AS n0, COALESCE(rk, 0) AS r0, COALESCE(x1, 0) AS s1 FROM s1_w WHERE a0 UNION ALL SELECT NULL AS k0, 1 AS g, holding, SUM(n) AS n0, COALESCE(SUM(rk), 0) AS r0, COALESCE(SUM(x1), 0) AS s1 FROM s1_w GROUP BY holding) SELECT 0 AS src, k0, g, n0, key0, s1, top1, sec1, NULL AS c0, NULL AS rtop0 FROM (SELECT k0, GROUPING_ID(k0) AS g, SUM(n) AS n0, CAST(COALESCE(SUM(rk), 0) & 4294967295 AS BIGINT) AS key0, CAST(CAST(COALESCE(SUM(x1), 0) AS BIGINT) AS DOUBLE) / 10000 AS s1, SLICE(SORT_ARRAY(COLLECT_LIST(CAST(CAST(t1_1 AS BIGINT) AS DOUBLE) / 10000), FALSE), 1, 2) AS top1, MAX(CAST(CAST(t2_1 AS BIGINT) AS DOUBLE) / 10000) AS sec1 FROM s0_f GROUP BY GROUPING SETS ((k0), ())) AS t0 UNION ALL SELECT 1 AS src, k0, g, n0, key0, s1, top1, NULL AS sec1, c0, rtop0 FROM (SELECT k0, g, SUM(n0) AS n0, COUNT(*) AS c0, CAST(SUM(r0) & 4294967295 AS BIGINT) AS key0, SLICE(SORT_ARRAY(COLLECT_LIST(n0), FALSE), 1, 2) AS rtop0, CAST(CAST(SUM(s1) AS BIGINT) AS DOUBLE) / 10000 AS s1, SLICE(SORT_ARRAY(COLLECT_LIST(CAST(CAST(s1 AS BIGINT) AS DOUBLE) / 10000), FALSE), 1, 2) AS top1 FROM s1_h GROUP BY k0, g) AS t1
