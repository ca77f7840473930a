-- Reference for `intake`: a table shaped and indexed like `leads` (LIKE ... INCLUDING ALL).
DROP TABLE IF EXISTS bench_ref_leads;
CREATE TABLE bench_ref_leads (LIKE leads INCLUDING ALL);
