-- One INSERT of a lead-sized row (six 32-byte "ciphertexts", four 64-hex "blind indexes")
-- into a table with the same indexes as `leads`.
\set r random(1, 2000000000)
INSERT INTO bench_ref_leads (id, product_id, provider_org_id, region, status, name_enc, phone_enc, email_enc,
  birth_date_enc, name_bidx, phone_bidx, phone_last4_bidx, email_bidx, enc_key_id, created_at, updated_at)
VALUES (gen_random_uuid()::text, 'bench-product', 'bench-org', '79', 'POOLED',
  decode(md5(:r::text || 'n') || md5(:r::text), 'hex'), decode(md5(:r::text || 'p') || md5(:r::text), 'hex'),
  decode(md5(:r::text || 'e') || md5(:r::text), 'hex'), decode(md5(:r::text || 'b') || md5(:r::text), 'hex'),
  md5(:r::text || 'n') || md5(:r::text), md5(:r::text || 'p') || md5(:r::text),
  md5(:r::text || 'l') || md5(:r::text), md5(:r::text || 'e') || md5(:r::text), 1,
  (extract(epoch from clock_timestamp()) * 1000)::bigint, (extract(epoch from clock_timestamp()) * 1000)::bigint);
