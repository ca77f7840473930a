//! The second LibreOffice-written counsel fixture (`fixtures/counsel/ob_cases_ok.xlsx`,
//! good rows only) read by the import's reader and stored by the repository, on both
//! databases.
//!
//! Invariants checked:
//! - every data row becomes exactly one case, in file order, with `mbrNo`, `ordNo` and
//!   `accpCont` as typed (a number cell read as its digits, an empty cell as none);
//! - the customer's name and phone come back decrypted, the phone in its one E.164 form
//!   (a number cell's lost leading zero restored, a legacy Vietnamese `01x` number
//!   renumbered), and both are stored sealed and blind-indexed;
//! - the cases go to the members by weight until each is at capacity; the rest wait,
//!   oldest first, and no member ever holds more than its capacity.

use domain::counsel::{AssignKind, CaseOutcome, CaseStatus, QueueKey};
use domain::counsel_sheet::{CaseTypes, ColumnMap};
use domain::reference::AllocationPolicy;
use infra::counsel_excel::read_cases;
use testkit::TestDb;

use crate::counsel::{check_rows, join, manager, queue, scalar, t0, world};

testkit::on_both_backends! { tokio::test(flavor = "multi_thread", worker_threads = 2);
    the_libreoffice_fixture_becomes_one_case_per_row_assigned_by_weight_up_to_capacity => fixture_body;
}

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/counsel/ob_cases_ok.xlsx");
/// The sheet's columns; the last one (비고, remarks) is not imported.
const COLUMNS: &str = "mbrNo,ordNo,accpCont,custNm,custTelNo,skip";
/// The outbound type of the upload: its cases go to queue `50`/`10030`.
const OB_TYP_NO: &str = "10030";

/// One stored case: mbrNo, ordNo, accpCont, customer name, customer phone (E.164).
type Stored = (Option<String>, Option<String>, Option<String>, String, String);

fn expected() -> Vec<Stored> {
    let row = |mbr: Option<&str>, ord: Option<&str>, accp: Option<&str>, name: &str, tel: &str| {
        (mbr.map(str::to_owned), ord.map(str::to_owned), accp.map(str::to_owned), name.to_owned(), tel.to_owned())
    };
    vec![
        row(Some("M1001"), Some("ORD-20261201-001"), Some("상담 예약 변경 요청"), "김민준", "+821034567890"),
        row(Some("M1002"), None, Some("배송지 변경"), "이서연", "+821087654321"),
        row(None, Some("ORD-VN-1003"), Some("Khách muốn đổi sản phẩm"), "Lê Thị Hoa", "+84903123456"),
        row(Some("M1004"), Some("ORD-1004"), Some("Hỏi về giao hàng"), "Phạm Minh Tuấn", "+84763456789"),
        row(Some("20020"), Some("ORD-1005"), Some("회원번호가 숫자 셀"), "최지우", "+821022223333"),
        row(Some("M1006"), Some("ORD-1006"), None, "Đặng Văn Nam", "+84987654321"),
    ]
}

async fn fixture_body(db: TestDb) {
    let w = world(&db).await;
    let k: QueueKey = queue(&w, OB_TYP_NO, AllocationPolicy::Weighted).await;
    // Weights 1 and 2, two places each: four cases fit, two must wait.
    let a = join(&w, &k, &manager(&w, "fx-a").await, 1, 2, true).await;
    let b = join(&w, &k, &manager(&w, "fx-b").await, 2, 2, true).await;

    let bytes = std::fs::read(FIXTURE).expect("fixtures/counsel/ob_cases_ok.xlsx");
    let map = ColumnMap::parse(COLUMNS).unwrap();
    let cases = read_cases(&bytes, &map, &CaseTypes::parse("10", OB_TYP_NO).unwrap()).unwrap();
    assert_eq!(cases.len(), 6, "one case per data row, the header skipped");
    let outcomes: Vec<CaseOutcome> = w.repo.create_cases(&k, &cases, "importer", t0()).await.unwrap();
    assert_eq!(outcomes.len(), 6);

    // Smooth weighted round robin over weights 1/2: B, A, B; then B is full and A takes
    // the fourth, and A is full too: the last two wait.
    let assigned: Vec<Option<i64>> = outcomes.iter().map(|o| o.assignee.map(|(n, _)| n)).collect();
    let (an, bn) = (Some(a.auto_div_no), Some(b.auto_div_no));
    assert_eq!(assigned, vec![bn, an, bn, an, None, None]);

    let mut stored = Vec::new();
    for (o, want) in outcomes.iter().zip(&assigned) {
        let c = w.repo.case(o.cnsl_no).await.unwrap().expect("every outcome is a stored case");
        assert_eq!(c.queue, k);
        assert_eq!((c.cnsl_typ_no.as_str(), c.ob_typ_no.as_deref()), ("10", Some(OB_TYP_NO)));
        assert_eq!(c.auto_div_no, *want);
        match want {
            Some(_) => {
                assert_eq!((c.status, c.assign_kind), (CaseStatus::Assigned, Some(AssignKind::Auto)));
                assert_eq!(c.assignee_user_id, o.assignee.map(|(_, user)| user));
            }
            None => assert_eq!((c.status, c.assignee_user_id), (CaseStatus::Waiting, None)),
        }
        let name = c.cust_nm.expect("the name decrypts").as_str().to_owned();
        let tel = c.cust_tel.expect("the phone decrypts").e164().to_owned();
        stored.push((c.mbr_no, c.ord_no, c.accp_cont, name, tel));
    }
    assert_eq!(stored, expected());

    // The waiting ones are the last two rows of the file, oldest first.
    let waiting: Vec<_> = w.repo.waiting_cases(Some(&k)).await.unwrap().iter().map(|c| c.cnsl_no).collect();
    assert_eq!(waiting, vec![outcomes[4].cnsl_no, outcomes[5].cnsl_no]);
    let members = w.repo.memberships(None, Some(OB_TYP_NO), None).await.unwrap();
    let loads: Vec<(i64, u64, u32)> = members.iter().map(|m| (m.auto_div_no, m.open_cases, m.terms.capacity)).collect();
    assert_eq!(loads, vec![(a.auto_div_no, 2, 2), (b.auto_div_no, 2, 2)]);

    // Personal data is sealed and indexed in the rows, never stored as typed.
    let sealed = scalar(
        &db,
        "SELECT COUNT(*) FROM counsel_cases WHERE cust_nm_enc IS NOT NULL AND cust_tel_enc IS NOT NULL \
         AND cust_tel_bidx IS NOT NULL",
    )
    .await;
    assert_eq!(sealed, 6);
    check_rows(&db).await;
}
