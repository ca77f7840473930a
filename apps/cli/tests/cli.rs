//! The `ldbds` binary end to end: exit codes, configuration errors, migrate, seed, and a
//! real server answering over TCP with the key it printed on its first start.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn ldbds(dir: &std::path::Path, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ldbds"));
    cmd.args(args).current_dir(dir).env_remove("RUST_LOG").env("LDBDS__DATA_DIR", dir.join("data"));
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().expect("run ldbds")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn help_reads_well_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = ldbds(dir.path(), &["--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for word in ["serve", "migrate", "seed", "openapi", "Exit codes"] {
        assert!(help.contains(word), "{word} in {help}");
    }
}

#[test]
fn an_unknown_subcommand_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(ldbds(dir.path(), &["frobnicate"], &[]).status.code(), Some(2));
}

#[test]
fn a_bad_setting_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let out = ldbds(dir.path(), &["migrate", "status"], &[("LDBDS__SERVER__BIND", "nowhere")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("server.bind"), "{}", text(&out.stderr));

    let out = ldbds(dir.path(), &["migrate", "status"], &[("LDBDS_ENV", "staging")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("LDBDS_ENV"));
}

#[test]
fn an_unreachable_database_is_a_runtime_failure() {
    let dir = tempfile::tempdir().unwrap();
    let out = ldbds(
        dir.path(),
        &["migrate", "status"],
        &[
            ("LDBDS__DATABASE__URL", "postgres://nobody@127.0.0.1:1/none"),
            ("LDBDS__DATABASE__CONNECT_TIMEOUT_SECS", "1"),
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
}

#[test]
fn migrate_and_seed_work_and_keys_are_issued_once() {
    let dir = tempfile::tempdir().unwrap();
    let up = ldbds(dir.path(), &["migrate", "up"], &[]);
    assert_eq!(up.status.code(), Some(0), "{}", text(&up.stderr));
    assert!(text(&up.stdout).contains("applied  m20261124_000001_foundation"));

    let first = ldbds(dir.path(), &["seed", "--demo"], &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(text(&first.stdout).matches("new API key").count(), 2);
    assert!(text(&first.stdout).contains("regions 51, AS reasons 8"));

    let second = ldbds(dir.path(), &["seed", "--demo"], &[]);
    assert!(text(&second.stdout).contains("no new API keys"));
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn http_get(port: u16, path: &str, key: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let key_line = key.map(|k| format!("X-API-Key: {k}\r\n")).unwrap_or_default();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n{key_line}Connection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

#[test]
fn the_first_start_prints_a_demo_key_that_reads_the_regions() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_ldbds"))
        .current_dir(dir.path())
        .env("LDBDS__DATA_DIR", dir.path().join("data"))
        .env("LDBDS__SERVER__BIND", format!("127.0.0.1:{port}"))
        .env("LDBDS__SERVER__WORKERS", "1")
        .env("LDBDS__LOG__LEVEL", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut partner_key = None;
    let mut operator_line = false;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        if line.contains("API key (partner") {
            partner_key = line.split_whitespace().last().map(str::to_owned);
        }
        operator_line |= line.contains("API key (operator");
        if line.contains("listening on") {
            break;
        }
    }
    let key = partner_key.expect("the partner key is printed on first start");
    assert!(operator_line, "the operator key is printed too");

    // The server may need a moment after printing to accept connections.
    let mut reply = (0, String::new());
    for _ in 0..50 {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            reply = http_get(port, "/api/v1/regions", Some(&key));
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(reply.0, 200, "{}", reply.1);
    assert_eq!(reply.1.matches("\"country\":\"KR\"").count(), 17);
    assert_eq!(http_get(port, "/api/v1/regions", None).0, 401);
    assert_eq!(http_get(port, "/docs/", None).0, 200);

    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "SIGTERM is a graceful shutdown");
}

#[test]
fn keys_rotate_moves_every_row_to_the_new_key_and_the_old_one_retires() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = ldbds(dir.path(), args, &[]);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    };
    run(&["seed", "--demo"]);
    let sso = run(&[
        "orgs",
        "set-sso",
        "--org",
        "mohom",
        "--redirect",
        "https://app.mohom.kr/",
        "--default",
        "https://app.mohom.kr/",
    ]);
    assert!(sso.contains("secret (shown once)"));
    assert!(run(&["keys", "status"]).contains("organizations.sso_secret: key 1: 1 rows"));
    assert!(run(&["keys", "new"]).contains("key 2 added"));
    let pending = run(&["keys", "status"]);
    assert!(pending.contains("active key: 2") && pending.contains("rows not under the active key: 1"), "{pending}");
    let early = ldbds(dir.path(), &["keys", "retire", "1"], &[]);
    assert_eq!(early.status.code(), Some(1), "retiring before rotating is refused");
    let rotated = run(&["keys", "rotate", "--batch", "10"]);
    assert!(rotated.contains("rotated 1/1 rows") && rotated.contains("rotation complete"), "{rotated}");
    assert!(run(&["keys", "status"]).contains("organizations.sso_secret: key 2: 1 rows"));
    assert!(run(&["keys", "retire", "1"]).contains("key 1 retired"));
    assert!(run(&["keys", "status"]).contains("rows not under the active key: 0"));
}

#[test]
fn api_keys_are_created_shown_once_and_revoked() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(ldbds(dir.path(), &["seed", "--demo"], &[]).status.code(), Some(0));
    let out = ldbds(dir.path(), &["keys", "create-api-key", "--org", "mohom", "--label", "crm"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let line = text(&out.stdout);
    assert!(line.contains("ldb_live_"), "{line}");
    let id = line.split_whitespace().nth(2).unwrap().to_owned();
    assert_eq!(ldbds(dir.path(), &["keys", "revoke", &id], &[]).status.code(), Some(0));
    assert_eq!(ldbds(dir.path(), &["keys", "revoke", &id], &[]).status.code(), Some(1), "revoked once");
    let unknown = ldbds(dir.path(), &["keys", "create-api-key", "--org", "nobody"], &[]);
    assert_eq!(unknown.status.code(), Some(1));
    let bad_scope = ldbds(dir.path(), &["keys", "create-api-key", "--org", "mohom", "--scopes", "leads,lead"], &[]);
    assert_eq!(bad_scope.status.code(), Some(1));
    assert!(text(&bad_scope.stderr).contains("unknown scope `lead`"), "{}", text(&bad_scope.stderr));
    let scoped = ldbds(dir.path(), &["keys", "create-api-key", "--org", "mohom", "--scopes", "intake"], &[]);
    assert_eq!(scoped.status.code(), Some(0), "{}", text(&scoped.stderr));
}

#[test]
fn production_refuses_to_start_without_encryption_keys() {
    let dir = tempfile::tempdir().unwrap();
    let vars = [
        ("LDBDS_ENV", "production"),
        ("LDBDS__DATABASE__URL", "postgres://nobody@127.0.0.1:1/none"),
        ("LDBDS__JWT__SECRET", "a-production-secret-of-at-least-32-bytes"),
    ];
    let out = ldbds(dir.path(), &["migrate", "status"], &vars);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("crypto.kek"), "{}", text(&out.stderr));
    assert!(!dir.path().join("data").join("dev-keys").exists(), "production never generates keys");
}

#[test]
fn import_takes_a_csv_reports_bad_rows_and_imports_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = ldbds(dir.path(), &["seed", "--demo"], &[]);
    assert_eq!(seeded.status.code(), Some(0), "{}", text(&seeded.stderr));
    let csv = dir.path().join("leads.csv");
    std::fs::write(
        &csv,
        "이름,연락처,지역\n홍길동,010-3333-0001,서울\n김철수,010-3333-0002,부산특별시\n이영희,010-3333-0003,부산\n",
    )
    .unwrap();
    let first = ldbds(dir.path(), &["import", "leads.csv", "--source", "TCB", "--product", "INS-HEALTH"], &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let out = text(&first.stdout);
    assert!(out.contains("imported:   2 (0 delivered to orders, 2 pooled)"), "{out}");
    assert!(out.contains("rejected:   1"), "{out}");
    let report = std::fs::read_to_string(dir.path().join("leads.errors.csv")).unwrap();
    assert_eq!(report, "row,field,reason\n3,region,must be a region code or name of GET /api/v1/regions\n");

    let again = ldbds(dir.path(), &["import", "leads.csv", "--source", "TCB", "--product", "INS-HEALTH"], &[]);
    assert!(text(&again.stdout).contains("imported:   0"), "{}", text(&again.stdout));
    assert!(text(&again.stdout).contains("duplicates: 2"), "{}", text(&again.stdout));

    for (args, message) in [
        (vec!["import", "leads.csv", "--source", "NOPE"], "no source with code NOPE"),
        (vec!["import", "leads.csv", "--source", "TCB", "--product", "NOPE"], "no product with id or code NOPE"),
        (vec!["import", "leads.txt", "--source", "TCB"], "only .csv and .xlsx files can be imported"),
    ] {
        let refused = ldbds(dir.path(), &args, &[]);
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
        assert!(text(&refused.stderr).contains(message), "{}", text(&refused.stderr));
    }
}

#[test]
fn counsel_queues_are_set_up_from_the_command_line_and_refusals_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = ldbds(dir.path(), &["seed", "--demo"], &[]);
    assert_eq!(seeded.status.code(), Some(0), "{}", text(&seeded.stderr));
    let add = [
        "counsel",
        "queue-add",
        "--group",
        "50",
        "--detail",
        "10020",
        "--name",
        "아웃바운드 1",
        "--policy",
        "WEIGHTED",
    ];
    let created = ldbds(dir.path(), &add, &[]);
    assert_eq!(created.status.code(), Some(0), "{}", text(&created.stderr));
    assert!(text(&created.stdout).contains("queue 50 10020 created"));
    let again = ldbds(dir.path(), &add, &[]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again.stderr).contains("counsel queue 50/10020 already exists"), "{}", text(&again.stderr));
    let fifo = ldbds(
        dir.path(),
        &["counsel", "queue-add", "--group", "20", "--detail", "1", "--name", "AS", "--policy", "FIFO"],
        &[],
    );
    assert_eq!(fifo.status.code(), Some(2));
    let listed = ldbds(dir.path(), &["counsel", "queues"], &[]);
    assert!(text(&listed.stdout).contains("50 10020"), "{}", text(&listed.stdout));
    let nobody =
        ldbds(dir.path(), &["counsel", "member-add", "--group", "50", "--detail", "10020", "--user", "nobody"], &[]);
    assert_eq!(nobody.status.code(), Some(2));
    assert!(text(&nobody.stderr).contains("no active user nobody"));
    let toggle = ldbds(dir.path(), &["counsel", "toggle", "--state", "Y", "999"], &[]);
    assert_eq!(toggle.status.code(), Some(2), "{}", text(&toggle.stderr));
}

/// `ldbds counsel queue-add` takes names through `QueueName::parse`, as the API does: the
/// same table runs through `POST /api/v1/counsel/queues` in `apps/api/tests/api/counsel/`.
#[test]
fn queue_names_are_judged_as_the_api_judges_them() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = ldbds(dir.path(), &["seed", "--demo"], &[]);
    assert_eq!(seeded.status.code(), Some(0), "{}", text(&seeded.stderr));
    for (i, (name, accepted)) in testkit::tables::QUEUE_NAMES.iter().enumerate() {
        let detail = format!("{}", 700 + i);
        let args = ["counsel", "queue-add", "--group", "10", "--detail", &detail, "--name", name];
        let out = ldbds(dir.path(), &args, &[]);
        if *accepted {
            assert_eq!(out.status.code(), Some(0), "{name:?}: {}", text(&out.stderr));
            assert!(text(&out.stdout).contains(&format!("({}, ROUND_ROBIN)", name.trim())), "{}", text(&out.stdout));
        } else {
            assert_eq!(out.status.code(), Some(2), "{name:?}: {}", text(&out.stderr));
            assert!(text(&out.stderr).contains("name: must be 1 to 100 printable characters"), "{}", text(&out.stderr));
        }
    }
}

/// Runs `ldbds` and asserts it exited 0; returns its stdout.
fn ok(dir: &std::path::Path, args: &[&str]) -> String {
    let out = ldbds(dir, args, &[]);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {}", text(&out.stderr));
    text(&out.stdout)
}

/// The tokens of the `ldbds counsel members` line of one manager, if listed:
/// autoDivNo, group, detail, login, `weight`, w, `capacity`, c, `open`, o, flag.
fn member_line(listing: &str, login: &str) -> Option<Vec<String>> {
    listing
        .lines()
        .map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
        .find(|tokens| tokens.get(3).is_some_and(|t| t == login))
}

#[test]
fn a_newcomer_sets_up_counsel_from_the_command_line_after_seed_demo() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    ok(dir, &["seed", "--demo"]);
    // The README's counsel example, verbatim, then a second manager and every
    // administration command.
    let kim = ok(
        dir,
        &[
            "users",
            "add",
            "--org",
            "ldbds-operator",
            "--mohom-id",
            "cs-1",
            "--name",
            "김상담",
            "--phone",
            "010-4000-0001",
            "--email",
            "cs1@example.com",
            "--role",
            "CS_MANAGER",
            "--team",
            "10141",
        ],
    );
    assert!(kim.starts_with("user created in ldbds-operator: cs-1 "), "{kim}");
    assert!(kim.contains("CS_MANAGER") && kim.contains("team 10141"), "{kim}");
    assert!(kim.contains("김*담") && kim.contains("010****0001"), "personal data masked: {kim}");
    assert!(!kim.contains("김상담") && !kim.contains("4000"), "{kim}");
    // Without --role the operator's first role: CS_MANAGER.
    let lee = ok(
        dir,
        &[
            "users",
            "add",
            "--org",
            "ldbds-operator",
            "--mohom-id",
            "cs-2",
            "--name",
            "Nguyễn Văn An",
            "--phone",
            "+84 912 345 678",
            "--email",
            "cs2@example.com",
            "--team",
            "10141",
        ],
    );
    assert!(lee.starts_with("user created in ldbds-operator: cs-2 ") && lee.contains("CS_MANAGER"), "{lee}");
    let users = ok(dir, &["users", "list", "--org", "ldbds-operator"]);
    assert_eq!(users.lines().count(), 2, "{users}");
    assert!(users.lines().next().unwrap().starts_with("cs-1 ") && users.contains("cs-2 "), "{users}");

    let queue = ok(
        dir,
        &["counsel", "queue-add", "--group", "50", "--detail", "10020", "--name", "아웃바운드", "--policy", "WEIGHTED"],
    );
    assert_eq!(queue, "queue 50 10020 created (아웃바운드, WEIGHTED)\n");
    let member_add = |user: &str, weight: &str, capacity: &str| {
        let args = ["--group", "50", "--detail", "10020", "--user", user, "--weight", weight, "--capacity", capacity];
        ok(dir, &[&["counsel", "member-add"][..], &args[..]].concat())
    };
    let added = member_add("cs-1", "2", "30");
    let first = member_line(&added, "cs-1").expect(&added);
    let second = member_add("cs-2", "1", "12");
    let second = member_line(&second, "cs-2").expect(&second);
    let (n1, n2) = (first[0].clone(), second[0].clone());
    assert_ne!(n1, n2, "each membership has its own autoDivNo");
    let row = |n: &str, login: &str, weight: &str, capacity: &str, flag: &str| {
        [n, "50", "10020", login, "weight", weight, "capacity", capacity, "open", "0", flag].map(str::to_owned).to_vec()
    };
    assert_eq!(first, row(&n1, "cs-1", "2", "30", "Y"));
    let members = || ok(dir, &["counsel", "members", "--group", "50", "--detail", "10020"]);
    let listed = members();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert_eq!(member_line(&listed, "cs-1"), Some(row(&n1, "cs-1", "2", "30", "Y")));
    assert_eq!(member_line(&listed, "cs-2"), Some(row(&n2, "cs-2", "1", "12", "Y")));
    assert_eq!(member_line(&ok(dir, &["counsel", "members"]), "cs-2"), Some(row(&n2, "cs-2", "1", "12", "Y")));

    let set = ok(dir, &["counsel", "member-set", &n2, "--weight", "3", "--capacity", "20"]);
    assert_eq!(member_line(&set, "cs-2"), Some(row(&n2, "cs-2", "3", "20", "Y")));
    assert_eq!(member_line(&members(), "cs-2"), Some(row(&n2, "cs-2", "3", "20", "Y")));

    let off = ok(dir, &["counsel", "toggle", "--state", "N", &n2]);
    assert_eq!(member_line(&off, "cs-2"), Some(row(&n2, "cs-2", "3", "20", "N")));
    let listed = members();
    assert_eq!(member_line(&listed, "cs-2"), Some(row(&n2, "cs-2", "3", "20", "N")));
    assert_eq!(member_line(&listed, "cs-1"), Some(row(&n1, "cs-1", "2", "30", "Y")), "only the named one");
    let on = ok(dir, &["counsel", "toggle", "--state", "Y", &n2]);
    assert_eq!(member_line(&on, "cs-2"), Some(row(&n2, "cs-2", "3", "20", "Y")));
    assert_eq!(member_line(&members(), "cs-2"), Some(row(&n2, "cs-2", "3", "20", "Y")));

    let removed = ok(dir, &["counsel", "member-remove", &n2]);
    assert_eq!(removed, format!("membership {n2} removed; 0 open case(s) went back to the queue\n"));
    let listed = members();
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert_eq!(member_line(&listed, "cs-2"), None);
    assert_eq!(member_line(&listed, "cs-1"), Some(row(&n1, "cs-1", "2", "30", "Y")));
    let again = ldbds(dir, &["counsel", "member-remove", &n2], &[]);
    assert_eq!(again.status.code(), Some(2), "removed once: {}", text(&again.stderr));
}

#[test]
fn users_add_refuses_bad_input_with_exit_2_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    ok(dir, &["seed", "--demo"]);
    let add = |org: &str, mohom_id: &str, phone: &str, role: &str| {
        let args = [
            "users",
            "add",
            "--org",
            org,
            "--mohom-id",
            mohom_id,
            "--name",
            "김상담",
            "--phone",
            phone,
            "--email",
            "cs@example.com",
            "--role",
            role,
        ];
        ldbds(dir, &args, &[])
    };
    assert_eq!(add("ldbds-operator", "cs-1", "010-4000-0001", "CS_MANAGER").status.code(), Some(0));
    for (out, message) in [
        (add("ldbds-operator", "cs-1", "010-4000-0001", "CS_MANAGER"), "a user with this mohomId already exists"),
        (add("ldbds-operator", "cs-9", "02-123-4567", "CS_MANAGER"), "phone: "),
        (add("ldbds-operator", "has space", "010-4000-0009", "BOSS"), "mohomId: "),
        (add("ldbds-operator", "cs-9", "010-4000-0009", "BOSS"), "role: must be one of"),
        (add("ldbds-operator", "cs-9", "010-4000-0009", "MEMBER"), "cannot hold MEMBER users"),
        (add("nowhere", "cs-9", "010-4000-0009", "CS_MANAGER"), "--org: no organization with code nowhere"),
    ] {
        assert_eq!(out.status.code(), Some(2), "{message}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(message), "{message} in {}", text(&out.stderr));
    }
    let both = add("ldbds-operator", "has space", "12", "CS_MANAGER");
    let stderr = text(&both.stderr);
    assert!(stderr.contains("mohomId: ") && stderr.contains("phone: "), "every bad field at once: {stderr}");
    let no_email = ldbds(
        dir,
        &[
            "users",
            "add",
            "--org",
            "ldbds-operator",
            "--mohom-id",
            "cs-9",
            "--name",
            "김상담",
            "--phone",
            "010-4000-0009",
        ],
        &[],
    );
    assert_eq!(no_email.status.code(), Some(2));
    assert!(text(&no_email.stderr).contains("--email"), "{}", text(&no_email.stderr));
    let users = ok(dir, &["users", "list", "--org", "ldbds-operator"]);
    assert_eq!(users.lines().count(), 1, "nothing refused was written: {users}");
}

#[test]
fn a_partner_is_onboarded_from_the_command_line_and_refusals_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    ok(dir.path(), &["seed", "--demo"]);
    let out = ok(dir.path(), &["orgs", "add", "--code", "partner-2", "--name", "Partner Two"]);
    assert!(out.contains("organization partner-2 (PARTNER) created"), "{out}");
    let out = ok(
        dir.path(),
        &["orgs", "sources", "add", "--org", "partner-2", "--source", "SRC2", "--product", "RE-HCM-APT"],
    );
    assert!(out.contains("source SRC2 of partner-2 created"), "{out}");
    let key = ok(dir.path(), &["keys", "create-api-key", "--org", "partner-2"]);
    assert!(key.contains("ldb_live_"), "{key}");
    std::fs::write(dir.path().join("leads.csv"), "name,phone,region\nLe Van C,0399777001,79\n").unwrap();
    let out = ok(dir.path(), &["import", "leads.csv", "--source", "SRC2"]);
    assert!(out.contains("imported:   1"), "the new source imports into its default product: {out}");

    for (args, message) in [
        (vec!["orgs", "add", "--code", "partner-2", "--name", "Again"], "an organization with this code exists"),
        (vec!["orgs", "add", "--code", "bad code", "--name", "N"], "code: must be 1 to 64 characters"),
        (vec!["orgs", "add", "--code", "p9", "--name", "N", "--kind", "OPERATOR"], "kind: must be PARTNER or PROVIDER"),
        (
            vec!["orgs", "sources", "add", "--org", "partner-2", "--source", "TCB", "--product", "RE-HCM-APT"],
            "a source with this code exists",
        ),
        (
            vec!["orgs", "sources", "add", "--org", "nobody", "--source", "S9", "--product", "RE-HCM-APT"],
            "no organization has this code",
        ),
        (
            vec!["orgs", "sources", "add", "--org", "partner-2", "--source", "S9", "--product", "NOPE"],
            "no product with id or code NOPE",
        ),
    ] {
        let refused = ldbds(dir.path(), &args, &[]);
        assert_eq!(refused.status.code(), Some(2), "{args:?}: {}", text(&refused.stderr));
        assert!(text(&refused.stderr).contains(message), "{args:?}: {}", text(&refused.stderr));
    }
    let nothing =
        ldbds(dir.path(), &["orgs", "sources", "add", "--org", "p9", "--source", "S9", "--product", "RE-HCM-APT"], &[]);
    assert_eq!(nothing.status.code(), Some(2), "the refused org p9 was not written");
}

#[test]
fn import_writes_its_statement_counts_by_kind_for_the_round_trip_budget() {
    let dir = tempfile::tempdir().unwrap();
    let seeded = ldbds(dir.path(), &["seed", "--demo"], &[]);
    assert_eq!(seeded.status.code(), Some(0), "{}", text(&seeded.stderr));
    std::fs::write(
        dir.path().join("leads.csv"),
        "이름,연락처,지역\n홍길동,010-3444-0001,서울\n김철수,010-3444-0002,부산\n",
    )
    .unwrap();
    let args = ["import", "leads.csv", "--source", "TCB", "--product", "INS-HEALTH"];
    let first = ldbds(dir.path(), &[&args[..], &["--statements-json", "counts.json"]].concat(), &[]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let counts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("counts.json")).unwrap()).unwrap();
    assert_eq!((counts["rows"].as_u64(), counts["batch"].as_u64()), (Some(2), Some(500)), "{counts}");
    let import = &counts["statements"]["import"];
    // Two valid rows: one batch, one transaction; the leads are inserted inside it.
    assert_eq!((import["begin"].as_u64(), import["commit"].as_u64()), (Some(1), Some(1)), "{counts}");
    assert!(import["insert"].as_u64().unwrap_or(0) >= 2, "{counts}");
    assert!(import["select"].as_u64().unwrap_or(0) >= 1, "{counts}");
    assert!(counts["statements"]["import-migrate"].is_object(), "the migrations' own use case: {counts}");
    // The source, product and regions are read once, under their own use case, so the
    // batch's own statements are what the budget judges. On SQLite this batch reads its
    // duplicates, its pools (creating them: SQLite's one writer knows them at 0 picks
    // without reading them back) and its lines, and writes no delivery: 3 beyond its
    // inserts.
    assert!(counts["statements"]["import-setup"]["select"].as_u64() >= Some(3), "{counts}");
    let all: u64 = import.as_object().unwrap().values().filter_map(serde_json::Value::as_u64).sum();
    let beyond = all - ["insert", "begin", "commit"].iter().filter_map(|k| import[k].as_u64()).sum::<u64>();
    assert_eq!(beyond, 3, "the batch's statements beyond its inserts: {counts}");

    // The variable is the flag's default; the same file again imports nothing.
    let again = ldbds(dir.path(), &args, &[("LDBDS_STATEMENTS_JSON", "again.json")]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again.stderr));
    let counts: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("again.json")).unwrap()).unwrap();
    assert_eq!(counts["rows"].as_u64(), Some(2), "{counts}");
    assert_eq!(counts["statements"]["import"]["insert"].as_u64(), None, "duplicates insert nothing: {counts}");
}

#[test]
fn webhook_endpoints_are_managed_from_the_command_line_and_refusals_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    ok(dir, &["seed", "--demo"]);
    let hook = "https://93.184.215.14/ldbds";
    let out = ok(dir, &["webhooks", "create", "--org", "mohom", "--url", hook, "--events", "lead.assigned,as.decided"]);
    assert!(
        out.contains("webhook endpoint created in mohom") && out.contains("events lead.assigned,as.decided"),
        "{out}"
    );
    let secret = out.lines().find_map(|l| l.strip_prefix("signing secret (shown once): ")).expect("secret").to_owned();
    assert!(secret.starts_with("whsec_"), "{out}");
    let id = out.split_whitespace().find(|t| uuid::Uuid::parse_str(t).is_ok()).expect("id").to_owned();

    let listed = ok(dir, &["webhooks", "list", "--org", "mohom"]);
    assert!(listed.contains(&id) && listed.contains("ENABLED") && !listed.contains("whsec_"), "{listed}");
    let disabled = ok(dir, &["webhooks", "disable", "--org", "mohom", "--id", &id]);
    assert!(disabled.contains("DISABLED") && disabled.contains("(disabled by the organization)"), "{disabled}");
    let shown = ok(dir, &["webhooks", "enable", "--org", "mohom", "--id", &id]);
    assert!(shown.contains("ENABLED") && !shown.contains("disabled by"), "{shown}");
    let shown = ok(dir, &["webhooks", "show", "--org", "mohom", "--id", &id]);
    assert!(shown.contains(hook) && !shown.contains("whsec_"), "{shown}");
    let pinged = ok(dir, &["webhooks", "test", "--org", "mohom", "--id", &id]);
    assert!(pinged.starts_with("ping evt_"), "{pinged}");
    let rotated = ok(dir, &["webhooks", "rotate-secret", "--org", "mohom", "--id", &id]);
    assert!(rotated.contains("whsec_") && !rotated.contains(&secret), "{rotated}");

    for (args, message) in [
        (vec!["webhooks", "create", "--org", "mohom", "--url", hook, "--events", "lead.eaten"], "unknown event type"),
        (vec!["webhooks", "create", "--org", "mohom", "--url", "https://10.0.0.1/x"], "must not point at a private"),
        (vec!["webhooks", "create", "--org", "nobody", "--url", hook], "no organization with code nobody"),
        (vec!["webhooks", "show", "--org", "ldbds-operator", "--id", &id], "no such webhook endpoint"),
    ] {
        let refused = ldbds(dir, &args, &[]);
        assert_eq!(refused.status.code(), Some(2), "{args:?}: {}", text(&refused.stderr));
        assert!(text(&refused.stderr).contains(message), "{args:?}: {}", text(&refused.stderr));
    }
    let listed = ok(dir, &["webhooks", "list", "--org", "mohom"]);
    assert_eq!(listed.lines().count(), 1, "nothing refused was written: {listed}");
    let out = ok(dir, &["webhooks", "delete", "--org", "mohom", "--id", &id]);
    assert!(out.contains("deleted"), "{out}");
    assert_eq!(ok(dir, &["webhooks", "list", "--org", "mohom"]), "");
}

#[test]
fn funnel_purge_runs_and_a_zero_retention_is_refused_naming_the_setting() {
    let dir = tempfile::tempdir().unwrap();
    let out = ldbds(dir.path(), &["funnel", "purge"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout)
            .contains("purged (retention 90 days): medical analyses 0, health sessions 0, identity verifications 0"),
        "{}",
        text(&out.stdout)
    );
    let refused = ldbds(dir.path(), &["funnel", "purge"], &[("LDBDS__FUNNEL__MEDICAL_RETENTION_DAYS", "0")]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("funnel.medical_retention_days"), "{}", text(&refused.stderr));
}
