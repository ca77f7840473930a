-- Reference for `owned-list`: the seeded owners numbered 0..count-1.
DROP TABLE IF EXISTS bench_ref_keys;
CREATE TABLE bench_ref_keys AS
  SELECT (row_number() OVER (ORDER BY id) - 1)::int AS n, id FROM users WHERE mohom_id LIKE 'o-%';
CREATE UNIQUE INDEX ON bench_ref_keys (n);
ANALYZE bench_ref_keys;
