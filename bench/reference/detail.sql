-- One lead by id with its assignment history, in one statement (the server's detail: the
-- lead and its assignments).
\set k random(0, :count - 1)
SELECT * FROM leads l LEFT JOIN assignments a ON a.lead_id = l.id
  WHERE l.id = (SELECT id FROM bench_ref_keys WHERE n = :k);
