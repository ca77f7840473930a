-- Reference for `detail`: up to 100,000 owned leads, numbered.
DROP TABLE IF EXISTS bench_ref_keys;
CREATE TABLE bench_ref_keys AS
  SELECT (row_number() OVER () - 1)::int AS n, id
  FROM (SELECT id FROM leads WHERE owner_user_id IS NOT NULL ORDER BY id LIMIT 100000) s;
CREATE UNIQUE INDEX ON bench_ref_keys (n);
ANALYZE bench_ref_keys;
