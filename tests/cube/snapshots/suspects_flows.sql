-- part drug_suspects shift 0 strategy distinct
-- one_pass
WITH f AS (
  SELECT
    "t0"."residence_gemeente" AS "k0",
    "t0"."offence_gemeente" AS "k1",
    "t0"."holding",
    "t0"."record_key",
    "t0"."holding_rows_year" AS "hr"
  FROM "fact_suspects" AS "t0"
  WHERE
    "t0"."year" IN (2023)
)
SELECT
  k0,
  k1,
  0 AS g,
  COUNT(*) AS n0,
  CAST(COALESCE(SUM(record_key), 0) & 4294967295 AS BIGINT) AS key0,
  COUNT(DISTINCT holding) AS c0
FROM f
GROUP BY
  k0,
  k1
-- one_pass on spark
WITH f AS (SELECT `t0`.`residence_gemeente` AS `k0`, `t0`.`offence_gemeente` AS `k1`, `t0`.`holding`, `t0`.`record_key`, `t0`.`holding_rows_year` AS `hr` FROM `fact_suspects` AS `t0` WHERE `t0`.`year` IN (2023)) SELECT k0, k1, 0 AS g, COUNT(*) AS n0, CAST(COALESCE(SUM(record_key), 0) & 4294967295 AS BIGINT) AS key0, COUNT(DISTINCT holding) AS c0 FROM f GROUP BY k0, k1
