-- Reference for `distribute`: copies of `leads` and `assignments` (same indexes), and the
-- owned leads cut into chunks of 50 ids.
DROP TABLE IF EXISTS bench_ref_leads, bench_ref_assignments, bench_ref_keys;
CREATE TABLE bench_ref_leads (LIKE leads INCLUDING ALL);
INSERT INTO bench_ref_leads SELECT * FROM leads;
CREATE TABLE bench_ref_assignments (LIKE assignments INCLUDING ALL);
CREATE TABLE bench_ref_keys AS
  SELECT (row_number() OVER (ORDER BY c) - 1)::int AS n, ids
  FROM (SELECT c, array_agg(id ORDER BY id) AS ids
        FROM (SELECT id, (row_number() OVER (ORDER BY id) - 1) / 50 AS c FROM leads WHERE owner_user_id IS NOT NULL) x
        GROUP BY c HAVING count(*) = 50) y;
CREATE UNIQUE INDEX ON bench_ref_keys (n);
ANALYZE;
