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
