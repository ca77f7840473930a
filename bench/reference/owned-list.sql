-- The owner's page of 20, newest assignment first (the server's page query; the owner's
-- id is looked up by number in a 5,000-row table, one index probe).
\set o random(0, :count - 1)
SELECT * FROM leads WHERE owner_user_id = (SELECT id FROM bench_ref_keys WHERE n = :o)
  ORDER BY assigned_at DESC, id DESC LIMIT 20;
