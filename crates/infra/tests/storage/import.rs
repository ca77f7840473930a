//! `ldbds import` on both databases: CSV and XLSX files with good, bad, blank and
//! duplicate rows; the error report; delivery to an open order; a re-run imports nothing.

use std::path::Path;
use std::sync::Arc;

use domain::identity::{MohomId, Role, User, UserStatus};
use domain::order::NewOrderLines;
use domain::pii::{Email, PersonName, PhoneNumber};
use domain::ports::{ReferenceRepository, UserRepository};
use infra::import::{ImportError, ImportOptions, ImportSource, ImportSummary, import_file};
use infra::leads::SeaLeadRepository;
use infra::orders::SeaOrderRepository;
use infra::reference::SeaReferenceRepository;
use infra::statements::{self, Kind};
use infra::users::SeaUserRepository;
use sea_orm::{ConnectionTrait, DbBackend, Statement};
use testkit::TestDb;
use time::OffsetDateTime;

testkit::on_both_backends! { tokio::test;
    a_csv_import_reports_bad_rows_and_a_rerun_imports_nothing_twice => csv_body;
    an_xlsx_import_reads_numbers_dates_and_delivers_to_open_orders => xlsx_body;
    a_file_without_the_required_columns_writes_nothing => bad_header_body;
    an_import_batch_writes_its_lines_orders_and_pools_once => batch_writes_body;
}

struct Setup {
    leads: SeaLeadRepository,
    product: domain::reference::Product,
    regions: Vec<domain::reference::Region>,
    from: ImportSource,
}

async fn setup(db: &TestDb) -> Setup {
    infra::fixtures::seed_demo(&db.db, OffsetDateTime::now_utc()).await.unwrap();
    let conn = db.db.conn();
    let source = infra::orgs::find_source(conn, "TCB").await.unwrap().unwrap();
    let product_id = infra::fixtures::product_id_by_code(conn, "INS-HEALTH").await.unwrap().unwrap();
    let reference = SeaReferenceRepository::new(conn.clone());
    Setup {
        leads: SeaLeadRepository::new(db.db.clone(), Arc::new(testkit::keyring())),
        product: reference.find_product(product_id).await.unwrap().unwrap(),
        regions: reference.list_regions(None).await.unwrap(),
        from: ImportSource { org_id: source.org_id, source_id: source.id },
    }
}

async fn count(db: &TestDb, sql: &str) -> i64 {
    let row = db.db.conn().query_one_raw(Statement::from_string(db.db.backend(), sql)).await.unwrap().unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

async fn run(s: &Setup, path: &Path, batch: usize) -> Result<ImportSummary, ImportError> {
    let mut options = ImportOptions::for_file(path);
    options.batch_size = batch;
    let mut calls = 0;
    let result = import_file(&s.leads, &s.product, &s.regions, s.from, path, &options, |_| calls += 1).await;
    if result.is_ok() {
        assert!(calls >= 1, "progress is reported at least at the end");
    }
    result
}

async fn csv_body(db: TestDb) {
    let s = setup(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leads.csv");
    let mut text = String::from("\u{feff}이름,연락처,지역,이메일,유입경로\n");
    for i in 0..23 {
        text.push_str(&format!("고객{i},010-3100-{i:04},서울특별시,c{i}@example.com,web\n"));
    }
    text.push_str("나쁜행,02-123-4567,화성,bad,web\n"); // row 25: three bad fields
    text.push_str(",,,,\n"); // row 26: blank, skipped
    text.push_str("\"쉼표, 이름\",010 3100 0000,서울,,\n"); // row 27: same phone as row 2
    text.push_str("짧은행\n"); // row 28: phone and region missing
    std::fs::write(&path, text).unwrap();

    let first = run(&s, &path, 5).await.unwrap();
    assert_eq!(
        (first.rows, first.imported, first.pooled, first.duplicates, first.rejected),
        (26, 23, 23, 1, 2),
        "{first:?}"
    );
    assert_eq!(first.ignored_columns, vec!["유입경로".to_owned()]);
    let report_path = first.report.clone().expect("a report");
    let report = std::fs::read_to_string(&report_path).unwrap();
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "row,field,reason");
    for field in ["region", "phone", "email"] {
        assert!(lines.iter().any(|l| l.starts_with(&format!("25,{field},"))), "{field} in {report}");
    }
    assert!(lines.iter().any(|l| l.starts_with("28,phone,")), "{report}");
    assert!(lines.iter().any(|l| l.starts_with("28,region,")), "{report}");
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM leads").await, 23);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM leads WHERE status = 'POOL' AND region = '서울'").await, 23);

    // The same file again: nothing new; the report is written again.
    let again = run(&s, &path, 7).await.unwrap();
    assert_eq!((again.imported, again.duplicates, again.rejected), (0, 24, 2), "{again:?}");
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM leads").await, 23);
}

async fn buyer(db: &TestDb) -> User {
    named_buyer(db, "import-buyer").await
}

async fn named_buyer(db: &TestDb, name: &str) -> User {
    let org = infra::fixtures::org_id_by_code(db.db.conn(), "mohom").await.unwrap().unwrap();
    let now = OffsetDateTime::now_utc();
    let user = User {
        id: domain::ids::new_id(),
        org_id: org,
        mohom_id: MohomId::parse(name).unwrap(),
        role: Role::Member,
        team_id: None,
        name: PersonName::parse("구매자").unwrap(),
        phone: Some(PhoneNumber::parse("010-1234-5678").unwrap()),
        email: Some(Email::parse("b@example.com").unwrap()),
        status: UserStatus::Active,
        created_at: now,
        updated_at: now,
    };
    SeaUserRepository::new(db.db.conn().clone(), Arc::new(testkit::keyring())).insert(&user).await.unwrap();
    user
}

async fn xlsx_body(db: TestDb) {
    let s = setup(&db).await;
    // An open order of 3 in 부산 takes the first three 부산 leads.
    let user = buyer(&db).await;
    let lines = NewOrderLines::parse(&[("부산".to_owned(), 3)], None, |_| true).unwrap();
    SeaOrderRepository::new(db.db.clone(), Arc::new(testkit::keyring()))
        .create(&user, &s.product, &lines, None, OffsetDateTime::now_utc())
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leads.xlsx");
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (c, label) in ["Name", "Phone", "Region", "Birth date", "성별"].iter().enumerate() {
        sheet.write_string(0, u16::try_from(c).unwrap(), *label).unwrap();
    }
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy-mm-dd");
    for r in 1..=5u32 {
        sheet.write_string(r, 0, format!("고객{r}")).unwrap();
        // Typed as a number: the leading zero is gone in the file.
        sheet.write_number(r, 1, f64::from(1_031_000_000 + r)).unwrap();
        sheet.write_string(r, 2, "부산").unwrap();
        let birthday = rust_xlsxwriter::ExcelDateTime::from_ymd(1990, 1, u8::try_from(r).unwrap()).unwrap();
        sheet.write_datetime_with_format(r, 3, &birthday, &date_format).unwrap();
        sheet.write_string(r, 4, if r % 2 == 0 { "여" } else { "남" }).unwrap();
    }
    // Row 8 (a gap at 7): a region that does not exist.
    sheet.write_string(7, 0, "고객X").unwrap();
    sheet.write_string(7, 1, "010-3100-9999").unwrap();
    sheet.write_string(7, 2, "Atlantis").unwrap();
    book.save(&path).unwrap();

    let summary = run(&s, &path, 2).await.unwrap();
    assert_eq!(
        (summary.rows, summary.imported, summary.delivered, summary.pooled, summary.rejected),
        (6, 5, 3, 2, 1),
        "{summary:?}"
    );
    let report = std::fs::read_to_string(summary.report.unwrap()).unwrap();
    assert!(report.contains("8,region,"), "{report}");
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM leads WHERE status = 'ASSIGNED'").await, 3);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM assignments WHERE source = 'ORDER'").await, 3);
    assert_eq!(count(&db, "SELECT delivered AS n FROM orders").await, 3);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM leads WHERE gender = 'FEMALE'").await, 2);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM leads WHERE birth_date_enc IS NOT NULL").await, 5);
}

async fn bad_header_body(db: TestDb) {
    let s = setup(&db).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("leads.csv");
    std::fs::write(&path, "이름,메모\n홍길동,hello\n").unwrap();
    let err = run(&s, &path, 10).await.unwrap_err();
    assert_eq!(err.to_string(), "the header has no `phone` column");
    let txt = dir.path().join("leads.txt");
    std::fs::write(&txt, "name,phone,region\n").unwrap();
    assert!(matches!(run(&s, &txt, 10).await, Err(ImportError::Format(_))));
    let latin1 = dir.path().join("latin1.csv");
    std::fs::write(&latin1, b"name,phone,region\n\xe9,010-1234-5678,\xc0\n").unwrap();
    assert!(matches!(run(&s, &latin1, 10).await, Err(ImportError::NotUtf8 { row: 2 })));
    let broken = dir.path().join("broken.xlsx");
    std::fs::write(&broken, b"PK\x03\x04 not really a zip").unwrap();
    assert!(matches!(run(&s, &broken, 10).await, Err(ImportError::Xlsx(_))));
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM leads").await, 0);
    assert!(!dir.path().join("leads.errors.csv").exists());
}

/// A file of 500 leads in 서울 and 부산, imported in one batch of 500.
fn five_hundred(dir: &Path, name: &str, prefix: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut text = String::from("name,phone,region\n");
    for i in 0..500 {
        let region = if i % 2 == 0 { "서울" } else { "부산" };
        text.push_str(&format!("고객{i},010-{prefix}-{i:04},{region}\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

/// The statements of one import under `use_case`, by kind.
async fn import_counted(
    s: &Setup,
    path: &Path,
    use_case: &str,
) -> (ImportSummary, std::collections::BTreeMap<Kind, u64>) {
    let summary = statements::scoped(use_case.to_owned(), run(s, path, 500)).await.unwrap();
    let counts =
        statements::snapshot().into_iter().filter(|c| c.use_case == use_case).map(|c| (c.kind, c.total)).collect();
    (summary, counts)
}

fn of(counts: &std::collections::BTreeMap<Kind, u64>, kind: Kind) -> u64 {
    counts.get(&kind).copied().unwrap_or(0)
}

/// The budget of one import batch of 500: one transaction; on PostgreSQL at most 3
/// statements beyond its inserts (the duplicate lookup that locks the pools, the lines
/// with their orders, and the lines, orders and pools written by one data-modifying CTE,
/// counted as `Other`); on SQLite, which has no data-modifying CTEs,
/// one `UPDATE` per table, in process.
fn batch_budget(counts: &std::collections::BTreeMap<Kind, u64>, postgres: bool) {
    assert_eq!(
        (of(counts, Kind::Begin), of(counts, Kind::Commit), of(counts, Kind::Rollback)),
        (1, 1, 0),
        "{counts:?}"
    );
    let beyond: u64 =
        counts.iter().filter(|(k, _)| !matches!(k, Kind::Insert | Kind::Begin | Kind::Commit)).map(|(_, n)| n).sum();
    if postgres {
        assert_eq!((of(counts, Kind::Update), of(counts, Kind::Other)), (0, 1), "lines, orders, pools: {counts:?}");
        assert_eq!(of(counts, Kind::Select), 2, "duplicates with the pools' lock, lines with orders: {counts:?}");
        assert!(beyond <= 3, "beyond the inserts: {counts:?}");
    } else {
        assert_eq!(of(counts, Kind::Update), 3, "lines, orders, pools: {counts:?}");
        assert!(of(counts, Kind::Select) <= 3, "duplicates, pools, lines with orders: {counts:?}");
        assert!(beyond <= 6, "beyond the inserts: {counts:?}");
    }
}

/// One batch of 500 into the lines of one owner, then into the lines of 40 owners (two
/// regions each): the touched lines, orders and pools are each one `UPDATE`.
async fn batch_writes_body(db: TestDb) {
    let s = setup(&db).await;
    let orders = SeaOrderRepository::new(db.db.clone(), Arc::new(testkit::keyring()));
    let now = OffsetDateTime::now_utc();
    let postgres = db.db.backend() == DbBackend::Postgres;
    let backend = if postgres { "postgres" } else { "sqlite" };
    let dir = tempfile::tempdir().unwrap();

    // One owner: one order with a line in each region.
    let user = named_buyer(&db, "import-one").await;
    let lines = NewOrderLines::parse(&[("서울".to_owned(), 300), ("부산".to_owned(), 300)], None, |_| true).unwrap();
    orders.create(&user, &s.product, &lines, None, now).await.unwrap();
    let one = format!("import-test-one-owner-{backend}");
    let (summary, counts) = import_counted(&s, &five_hundred(dir.path(), "one.csv", "3200"), &one).await;
    eprintln!("statements, an import batch of 500 into 1 owner's lines ({backend}): {counts:?}");
    assert_eq!((summary.imported, summary.delivered), (500, 500), "{summary:?}");
    batch_budget(&counts, postgres);

    // 40 owners, each with a line of 5 in both regions: with the first order's last 50 in
    // each region, exactly the 250 leads of each region; 41 orders' 82 lines touched.
    for k in 0..40 {
        let user = named_buyer(&db, &format!("import-many-{k}")).await;
        let lines = NewOrderLines::parse(&[("서울".to_owned(), 5), ("부산".to_owned(), 5)], None, |_| true).unwrap();
        orders.create(&user, &s.product, &lines, None, now).await.unwrap();
    }
    let many = format!("import-test-many-owners-{backend}");
    let (summary, counts) = import_counted(&s, &five_hundred(dir.path(), "many.csv", "3300"), &many).await;
    eprintln!("statements, an import batch of 500 into 40 owners' lines ({backend}): {counts:?}");
    assert_eq!(summary.imported, 500, "{summary:?}");
    assert_eq!(summary.delivered, 500, "{summary:?}");
    batch_budget(&counts, postgres);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM order_lines WHERE delivered > quantity").await, 0);
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM order_lines l WHERE l.delivered <> \
                    (SELECT COUNT(*) FROM assignments a WHERE a.order_line_id = l.id)"
        )
        .await,
        0,
        "each line's count is its assignments"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM orders o WHERE o.delivered <> \
                    (SELECT COALESCE(SUM(l.delivered), 0) FROM order_lines l WHERE l.order_id = o.id)"
        )
        .await,
        0,
        "each order's count is its lines'"
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM orders WHERE status = 'COMPLETED'").await,
        41,
        "every order filled"
    );
}
