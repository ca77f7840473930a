-- A lookup by the phone's blind-index column.
\set p random(0, :count - 1)
SELECT * FROM leads WHERE phone_bidx = (SELECT phone_bidx FROM bench_ref_keys WHERE n = :p);
