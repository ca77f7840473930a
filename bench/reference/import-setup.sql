-- Reference for `import`: the CSV's five columns, indexed like the lookups leads have
-- (phone, email, name).
DROP TABLE IF EXISTS bench_ref_import;
CREATE TABLE bench_ref_import (name text, phone text, region text, email text, birth_date text);
CREATE INDEX ON bench_ref_import (phone);
CREATE INDEX ON bench_ref_import (email);
CREATE INDEX ON bench_ref_import (name);
