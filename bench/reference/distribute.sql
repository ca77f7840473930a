-- One transaction: the 50 leads' owner columns updated (UPDATE ... WHERE id = ANY), and
-- 50 assignment rows inserted (one multi-row INSERT: fewer round trips than 50, so a
-- stricter reference). Inserted rows are closed (ended_at) so repeats never collide.
\set c random(0, :count - 1)
\set m random(1, 8)
BEGIN;
UPDATE bench_ref_leads SET owner_user_id = 'member-' || :m, assignment_id = gen_random_uuid()::text,
  assignment_source = 'DISTRIBUTED', last_distributed_at = 1, updated_at = 1
  WHERE id = ANY(ARRAY(SELECT unnest(ids) FROM bench_ref_keys WHERE n = :c));
INSERT INTO bench_ref_assignments (id, lead_id, owner_user_id, owner_org_id, source, assigned_at, ended_at)
  SELECT gen_random_uuid()::text, unnest(ids), 'member-' || :m, 'bench-org', 'DISTRIBUTED', 1, 1
  FROM bench_ref_keys WHERE n = :c;
END;
