-- Reference for `search-phone`: up to 10,000 blind indexes of used leads, numbered.
DROP TABLE IF EXISTS bench_ref_keys;
CREATE TABLE bench_ref_keys AS
  SELECT (row_number() OVER () - 1)::int AS n, phone_bidx
  FROM (SELECT phone_bidx FROM leads WHERE used_at IS NOT NULL ORDER BY id LIMIT 10000) s;
CREATE UNIQUE INDEX ON bench_ref_keys (n);
ANALYZE bench_ref_keys;
