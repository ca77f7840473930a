#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use time::macros::date;

use super::*;

/// The one case [`known`] knows: 김민수, 010-2222-0001.
const KNOWN_CASE: Uuid = Uuid::from_u128(0x0190_0000_0000_7000_8000_0000_0000_0001);

fn known() -> HashMap<Uuid, KnownCustomer> {
    let customer = KnownCustomer {
        name: Some(PersonName::parse("김민수").unwrap()),
        phone: Some(PhoneNumber::parse("010-2222-0001").unwrap()),
    };
    HashMap::from([(KNOWN_CASE, customer)])
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

fn types() -> CaseTypes {
    CaseTypes::parse("10", "OB7").unwrap()
}

fn map() -> ColumnMap {
    ColumnMap::parse("mbrNo,ordNo,accpCont,custNm,custTelNo").unwrap()
}

fn reasons(e: &ValidationError) -> Vec<String> {
    e.0.iter().map(|f| format!("{}: {}", f.field, f.reason)).collect()
}

#[test]
fn column_keys_parse_in_any_case_or_as_korean_labels() {
    let m = ColumnMap::parse(" MBRNO , ordno,skip,고객명,고객연락처,Skip").unwrap();
    use ColumnKey::*;
    assert_eq!(m.columns(), &[MbrNo, OrdNo, Skip, CustNm, CustTelNo, Skip]);
    assert_eq!(m.position(CustTelNo), Some(4));
    assert_eq!(m.position(AccpCont), None);
    assert_eq!(m.len(), 6);
}

#[test]
fn a_column_list_reports_every_mistake_on_excel_columns() {
    let e = ColumnMap::parse("mbrNo,,phone,mbrNo").unwrap_err();
    assert!(e.0.iter().all(|f| f.field == "excelColumns"), "{e:?}");
    let all = reasons(&e).join("\n");
    assert!(all.contains("item 2 (column B) is empty"), "{all}");
    assert!(all.contains("item 3 (column C) `phone` is no column key"), "{all}");
    assert!(all.contains("item 4 (column D) names `mbrNo` again (first at item 1)"), "{all}");
    assert!(all.contains("must name the `custTelNo` column"), "{all}");
    assert_eq!(e.0.len(), 4);

    assert_eq!(ColumnMap::parse("  ").unwrap_err().0.len(), 1);
    let e = ColumnMap::parse("accpCont,custNm,custTelNo").unwrap_err();
    assert_eq!(reasons(&e), vec!["excelColumns: must name the `mbrNo` or the `ordNo` column"]);
    assert!(ColumnMap::parse(&vec!["skip"; 65].join(",")).is_err());
    assert!(ColumnMap::parse("ordNo,custTelNo").is_ok());
}

#[test]
fn type_numbers_are_checked_once_and_together_with_the_columns() {
    assert_eq!(types().cnsl_typ_no(), "10");
    assert_eq!(types().ob_typ_no(), "OB7");
    let e = CaseTypes::parse("", "a-b").unwrap_err();
    assert_eq!(e.0.iter().map(|f| f.field.as_str()).collect::<Vec<_>>(), vec!["cnslTypNo", "obTypNo"]);
    assert!(CaseTypes::parse(&"1".repeat(21), "1").is_err());
    let e = parse_request("custNm", "10", "").unwrap_err();
    let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
    assert_eq!(fields, vec!["excelColumns", "excelColumns", "obTypNo"]);
    assert!(parse_request("mbrNo,custTelNo", "10", "20").is_ok());
}

#[test]
fn column_letters_count_like_a_spreadsheet() {
    assert_eq!(column_letters(0), "A");
    assert_eq!(column_letters(25), "Z");
    assert_eq!(column_letters(26), "AA");
    assert_eq!(column_letters(16_383), "XFD");
}

#[test]
fn a_good_row_becomes_a_case_of_the_request_types() {
    let cells =
        [text(" M001 "), text("ORD-2026-0001"), text("배송 문의\n재방문 요청"), text("홍길동"), text("010-1234-5678")];
    let case = validate_row(&map(), 2, &cells, &types()).unwrap().unwrap();
    assert_eq!(case.mbr_no.as_deref(), Some("M001"));
    assert_eq!(case.ord_no.as_deref(), Some("ORD-2026-0001"));
    assert_eq!(case.accp_cont.as_deref(), Some("배송 문의\n재방문 요청"));
    assert_eq!(case.cust_nm.as_ref().map(PersonName::as_str), Some("홍길동"));
    assert_eq!(case.cust_tel.as_ref().map(PhoneNumber::e164), Some("+821012345678"));
    assert_eq!(case.cnsl_typ_no, "10");
    assert_eq!(case.ob_typ_no.as_deref(), Some("OB7"));
    assert_eq!(case.as_id, None);
}

#[test]
fn optional_columns_may_be_blank_or_absent_and_extra_cells_are_ignored() {
    let m = ColumnMap::parse("ordNo,custTelNo").unwrap();
    let cells = [Cell::Number(20_261_125.0), text("0912345678"), text("ignored"), Cell::Number(1.5)];
    let case = validate_row(&m, 9, &cells, &types()).unwrap().unwrap();
    assert_eq!(case.ord_no.as_deref(), Some("20261125"));
    assert_eq!(case.mbr_no, None);
    assert_eq!(case.cust_tel.unwrap().e164(), "+84912345678");
    let cells = [text("M1"), Cell::Empty, text(" "), Cell::Empty, text("+84 91 234 5678")];
    let case = validate_row(&map(), 3, &cells, &types()).unwrap().unwrap();
    assert_eq!((case.ord_no, case.accp_cont, case.cust_nm.is_none()), (None, None, true));
}

#[test]
fn a_numeric_phone_gets_its_leading_zero_back_and_a_legacy_vn_number_is_renumbered() {
    let row = |tel: Cell| [text("M1"), Cell::Empty, Cell::Empty, Cell::Empty, tel];
    let kr = validate_row(&map(), 2, &row(Cell::Number(1_012_345_678.0)), &types()).unwrap().unwrap();
    assert_eq!(kr.cust_tel.unwrap().e164(), "+821012345678");
    let vn = validate_row(&map(), 2, &row(Cell::Number(912_345_678.0)), &types()).unwrap().unwrap();
    assert_eq!(vn.cust_tel.unwrap().e164(), "+84912345678");
    let legacy = validate_row(&map(), 2, &row(text("01662345678")), &types()).unwrap().unwrap();
    assert_eq!(legacy.cust_tel.unwrap().e164(), "+84362345678");
    let intl = validate_row(&map(), 2, &row(Cell::Number(821_012_345_678.0)), &types()).unwrap().unwrap();
    assert_eq!(intl.cust_tel.unwrap().e164(), "+821012345678");
}

#[test]
fn negative_fractional_and_masked_phones_are_refused() {
    for (cell, reason) in [
        (Cell::Number(-700_000_000.0), "must be text or a whole positive number"),
        (Cell::Number(8_210_123_456.78), "must be text or a whole positive number"),
        (Cell::Number(f64::NAN), "must be text or a whole positive number"),
        (
            text("010-****-5678"),
            "is masked: a masked value from an export can only come back in a row that names its case (cnslNo)",
        ),
        (text("02-123-4567"), "is not a Korean or Vietnamese mobile number"),
    ] {
        let cells = [text("M1"), Cell::Empty, Cell::Empty, Cell::Empty, cell.clone()];
        let errors = validate_row(&map(), 4, &cells, &types()).unwrap_err();
        assert_eq!(errors, vec![RowError { row: 4, column: ColumnKey::CustTelNo, reason: reason.into() }], "{cell:?}");
    }
}

#[test]
fn every_bad_cell_of_a_row_is_reported_with_its_row_and_column() {
    let cells = [text("has space"), Cell::Number(1e20), Cell::Text("x".repeat(2_001)), text("홍*동"), text("1234")];
    let errors = validate_row(&map(), 17, &cells, &types()).unwrap_err();
    let columns: Vec<&str> = errors.iter().map(|e| e.column.as_str()).collect();
    assert_eq!(columns, vec!["mbrNo", "ordNo", "accpCont", "custNm", "custTelNo"]);
    assert!(errors.iter().all(|e| e.row == 17 && !e.reason.is_empty()));
    assert!(errors[2].reason.contains("2000"));
}

#[test]
fn required_values_are_reported_missing_once() {
    let errors = validate_row(&map(), 5, &[Cell::Empty, Cell::Empty, text("내용만 있음")], &types()).unwrap_err();
    let got: Vec<(&str, &str)> = errors.iter().map(|e| (e.column.as_str(), e.reason.as_str())).collect();
    assert_eq!(got, vec![("custTelNo", "is required"), ("mbrNo", "is required: a row needs mbrNo or ordNo")]);
    // Only ordNo listed: the missing number is reported on it.
    let m = ColumnMap::parse("ordNo,custNm,custTelNo").unwrap();
    let errors = validate_row(&m, 6, &[Cell::Empty, text("Nguyễn Văn A"), text("0912345678")], &types()).unwrap_err();
    assert_eq!(errors[0].column, ColumnKey::OrdNo);
    // A bad mbrNo is not reported again as missing.
    let errors = validate_row(
        &map(),
        7,
        &[text("한글번호"), Cell::Empty, Cell::Empty, Cell::Empty, text("01012345678")],
        &types(),
    )
    .unwrap_err();
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].column, ColumnKey::MbrNo);
}

#[test]
fn control_characters_in_content_are_refused_but_line_breaks_are_kept() {
    let row = |c: &str| [text("M1"), Cell::Empty, text(c), Cell::Empty, text("01012345678")];
    assert!(validate_row(&map(), 2, &row("a\u{7}b"), &types()).is_err());
    assert!(validate_row(&map(), 2, &row("a\r\n\tb"), &types()).is_ok());
    // NFD Hangul is stored NFC.
    let nfd: String = "상담".nfd().collect();
    let case = validate_row(&map(), 2, &row(&nfd), &types()).unwrap().unwrap();
    assert_eq!(case.accp_cont.as_deref(), Some("상담"));
}

#[test]
fn blank_rows_are_skipped_and_skip_columns_do_not_count() {
    let m = ColumnMap::parse("skip,mbrNo,custTelNo").unwrap();
    assert_eq!(validate_row(&m, 3, &[text("only in a skipped column"), text(" ")], &types()), Ok(None));
    assert_eq!(validate_row(&m, 3, &[], &types()), Ok(None));
    assert!(is_blank_row(&m, &[text("x"), Cell::Empty, Cell::Empty]));
}

#[test]
fn a_header_is_a_phone_cell_of_text_without_digits() {
    let m = map();
    let row = |tel: Cell| vec![text("회원번호"), text("주문번호"), text("접수내용"), text("고객명"), tel];
    assert!(is_header_row(&m, &row(text("고객연락처"))));
    assert!(is_header_row(&m, &row(text("custTelNo"))));
    assert!(!is_header_row(&m, &row(text("010-1234-5678"))));
    assert!(!is_header_row(&m, &row(text("연락처1"))));
    assert!(!is_header_row(&m, &row(Cell::Number(1_012_345_678.0))));
    assert!(!is_header_row(&m, &row(Cell::Empty)));
    assert!(!is_header_row(&m, &row(Cell::Date(date!(2026 - 01 - 01)))));
}

fn any_cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        Just(Cell::Empty),
        any::<String>().prop_map(Cell::Text),
        "[0-9+ ().*-]{0,16}".prop_map(Cell::Text),
        "\\PC{0,2100}".prop_map(Cell::Text),
        any::<u128>().prop_map(|n| Cell::Text(Uuid::from_u128(n).to_string())),
        Just(Cell::Text(KNOWN_CASE.to_string())),
        any::<f64>().prop_map(Cell::Number),
        (-1_999_999_999_999i64..=1_999_999_999_999).prop_map(|n| Cell::Number(n as f64)),
        proptest::sample::select(vec![f64::NAN, f64::INFINITY, -0.0, 9_007_199_254_740_992.0, 1e21, 5e-324])
            .prop_map(Cell::Number),
        (time::Date::MIN.to_julian_day()..=time::Date::MAX.to_julian_day())
            .prop_map(|d| Cell::Date(time::Date::from_julian_day(d).unwrap())),
    ]
}

fn any_columns() -> impl Strategy<Value = String> {
    let key = prop_oneof![
        6 => proptest::sample::select(vec!["mbrNo", "ordNo", "accpCont", "custNm", "custTelNo", "skip", "고객명", " ORDNO ", "cnslNo", "상담번호"])
            .prop_map(str::to_owned),
        1 => any::<String>(),
        1 => Just(String::new()),
    ];
    proptest::collection::vec(key, 0..10).prop_map(|keys| keys.join(","))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    /// Any `excelColumns`: a map naming custTelNo once and mbrNo or ordNo, each key at most
    /// once but `skip`; or field errors on `excelColumns` only.
    #[test]
    fn any_column_list_maps_or_gives_field_errors(raw in any_columns()) {
        match ColumnMap::parse(&raw) {
            Ok(m) => {
                prop_assert_eq!(m.len(), raw.split(',').count());
                for key in ColumnKey::ALL.into_iter().filter(|k| *k != ColumnKey::Skip) {
                    prop_assert!(m.columns().iter().filter(|k| **k == key).count() <= 1);
                }
                prop_assert!(m.position(ColumnKey::CustTelNo).or(m.position(ColumnKey::CnslNo)).is_some());
                prop_assert!(m.position(ColumnKey::MbrNo).or(m.position(ColumnKey::OrdNo)).is_some());
            }
            Err(e) => {
                prop_assert!(!e.0.is_empty());
                prop_assert!(e.0.iter().all(|f| f.field == "excelColumns" && !f.reason.is_empty()));
            }
        }
    }

    /// Any cells under any usable map: never a panic; a blank row skipped, or a case whose
    /// values keep the rules, or errors carrying the row and naming a listed column key.
    #[test]
    fn any_row_gives_a_valid_case_or_row_errors_naming_real_columns(
        raw in any_columns(),
        cells in proptest::collection::vec(any_cell(), 0..10),
        row in any::<u64>(),
    ) {
        let Ok(m) = ColumnMap::parse(&raw) else { return Ok(()) };
        match validate_row_against(&m, row, &cells, &types(), &known()) {
            Ok(None) => prop_assert!(is_blank_row(&m, &cells)),
            Ok(Some(case)) => {
                let tel = case.cust_tel.expect("a phone");
                prop_assert_eq!(&PhoneNumber::parse(tel.e164()).expect("reparses"), &tel);
                prop_assert!(case.mbr_no.is_some() || case.ord_no.is_some());
                for no in [&case.mbr_no, &case.ord_no].into_iter().flatten() {
                    prop_assert!(!no.is_empty() && no.len() <= MAX_NO_CHARS && no.bytes().all(|b| b.is_ascii_graphic()));
                }
                prop_assert!(case.accp_cont.is_none_or(|c| c.chars().count() <= MAX_ACCP_CONT_CHARS));
                prop_assert!(case.cust_nm.is_none_or(|n| !n.as_str().contains('*')));
                prop_assert_eq!(case.cnsl_typ_no.as_str(), "10");
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in &errors {
                    prop_assert_eq!(e.row, row);
                    prop_assert!(e.column != ColumnKey::Skip);
                    prop_assert!(m.position(e.column).is_some(), "{:?} not in {:?}", e, m);
                    prop_assert!(!e.reason.is_empty());
                }
                // Each column reported at most once.
                for key in ColumnKey::ALL {
                    prop_assert!(errors.iter().filter(|e| e.column == key).count() <= 1);
                }
            }
        }
    }

    /// A row error never echoes a cell's value (it may be personal data).
    #[test]
    fn row_errors_never_echo_a_cell(secret in "[가-힣]{2,6}[0-9]{3}|[a-z]{5}[0-9]{4}") {
        let cells = [Cell::Text(secret.clone()), Cell::Text(secret.clone()), Cell::Empty, Cell::Text(format!("{secret}*")), Cell::Text(secret.clone())];
        let errors = validate_row(&map(), 2, &cells, &types()).unwrap_err();
        for e in &errors {
            prop_assert!(!e.reason.contains(&secret));
        }
    }
}

/// `cnslNo,mbrNo,ordNo,accpCont,custNm,custTelNo`: the export's first six columns.
fn export_map() -> ColumnMap {
    ColumnMap::parse("상담번호,회원번호,주문번호,접수내용,고객명,고객연락처").unwrap()
}

fn exported(name: Cell, tel: Cell) -> Vec<Cell> {
    vec![text(&KNOWN_CASE.to_string()), text("M-1"), Cell::Empty, text("재통화 요청"), name, tel]
}

#[test]
fn a_row_naming_a_case_takes_that_cases_customer_from_its_masks() {
    let m = export_map();
    assert_eq!(m.position(ColumnKey::CnslNo), Some(0));
    let expected = known()[&KNOWN_CASE].clone();
    for (name, tel) in [
        (text("김*수"), text("010****0001")),
        (Cell::Empty, Cell::Empty),
        (text("김민수"), text("010-2222-0001")),
        (text("김*수"), Cell::Number(1_022_220_001.0)),
    ] {
        let case = validate_row_against(&m, 2, &exported(name, tel), &types(), &known()).unwrap().unwrap();
        assert_eq!((case.cust_nm.as_ref(), case.cust_tel.as_ref()), (expected.name.as_ref(), expected.phone.as_ref()));
        assert_eq!((case.mbr_no.as_deref(), case.accp_cont.as_deref()), (Some("M-1"), Some("재통화 요청")));
        assert_eq!(case.ob_typ_no.as_deref(), Some("OB7"), "the request's types, not the named case's");
    }
    // Without customer columns at all, the named case gives both.
    let bare = ColumnMap::parse("cnslNo,mbrNo").unwrap();
    let case = validate_row_against(&bare, 2, &[text(&KNOWN_CASE.to_string()), text("M-1")], &types(), &known())
        .unwrap()
        .unwrap();
    assert_eq!(case.cust_tel, expected.phone);
    assert_eq!(case.cust_nm, expected.name);
}

#[test]
fn a_row_naming_a_case_never_carries_another_customer() {
    let m = export_map();
    for (name, tel, column) in [
        (text("김*수"), text("010****0002"), ColumnKey::CustTelNo),
        (text("이*수"), text("010****0001"), ColumnKey::CustNm),
        (text("김민수"), text("010-2222-0002"), ColumnKey::CustTelNo),
        (text("김민호"), Cell::Empty, ColumnKey::CustNm),
    ] {
        let errors = validate_row_against(&m, 5, &exported(name, tel), &types(), &known()).unwrap_err();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!((errors[0].row, errors[0].column), (5, column));
        assert!(errors[0].reason.contains("does not match the customer"), "{errors:?}");
    }
}

#[test]
fn an_unknown_or_malformed_case_number_is_one_error_on_cnsl_no() {
    let m = export_map();
    let mut cells = exported(text("김*수"), text("010****0001"));
    cells[0] = text(&Uuid::from_u128(7).to_string());
    let errors = validate_row_against(&m, 3, &cells, &types(), &known()).unwrap_err();
    assert_eq!(errors, vec![RowError { row: 3, column: ColumnKey::CnslNo, reason: "names no counsel case".into() }]);
    cells[0] = text("12345");
    let errors = validate_row_against(&m, 3, &cells, &types(), &known()).unwrap_err();
    assert_eq!((errors.len(), errors[0].column), (1, ColumnKey::CnslNo));
    // Without the lookup (plain `validate_row`), a named case is unknown.
    let errors = validate_row(&m, 3, &exported(text("김*수"), text("010****0001")), &types()).unwrap_err();
    assert_eq!((errors.len(), errors[0].column), (1, ColumnKey::CnslNo));
}

#[test]
fn a_masked_cell_in_a_row_naming_no_case_is_refused_as_masked() {
    let m = export_map();
    let mut cells = exported(text("김*수"), text("010****0001"));
    cells[0] = Cell::Empty;
    let errors = validate_row_against(&m, 4, &cells, &types(), &known()).unwrap_err();
    let columns: Vec<ColumnKey> = errors.iter().map(|e| e.column).collect();
    assert_eq!(columns, vec![ColumnKey::CustNm, ColumnKey::CustTelNo]);
    assert!(errors.iter().all(|e| e.reason.contains("masked") && e.reason.contains("cnslNo")), "{errors:?}");
    // A map without custTelNo needs the case number on every row.
    let bare = ColumnMap::parse("cnslNo,mbrNo").unwrap();
    let errors = validate_row_against(&bare, 4, &[Cell::Empty, text("M-1")], &types(), &known()).unwrap_err();
    assert_eq!((errors.len(), errors[0].column), (1, ColumnKey::CnslNo));
    assert!(errors[0].reason.starts_with("is required"), "{errors:?}");
}

#[test]
fn a_header_is_found_by_the_case_number_cell_when_there_is_no_phone_column() {
    let bare = ColumnMap::parse("cnslNo,mbrNo").unwrap();
    assert!(is_header_row(&bare, &[text("상담번호"), text("회원번호")]));
    assert!(!is_header_row(&bare, &[text(&KNOWN_CASE.to_string()), text("M-1")]));
    assert!(is_header_row(&export_map(), &exported(text("고객명"), text("고객연락처"))));
}

proptest! {
    /// Whatever the customer, the masks an export shows of it bring back exactly that
    /// customer, and a mask of any other phone never does.
    #[test]
    fn an_exported_customer_always_comes_back_whole(
        tail in 0u32..100_000_000,
        other in 0u32..100_000_000,
        name in "[가-힣]{2,4}|[A-Z][a-z]{1,8} [A-Z][a-z]{1,8}",
    ) {
        let phone = PhoneNumber::parse(&format!("010{tail:08}")).unwrap();
        let name = PersonName::parse(&name).unwrap();
        let id = Uuid::from_u128(u128::from(tail) + 1);
        let known = HashMap::from([(id, KnownCustomer { name: Some(name.clone()), phone: Some(phone.clone()) })]);
        let row = |tel: &PhoneNumber| vec![
            text(&id.to_string()), text("M-1"), Cell::Empty, Cell::Empty,
            text(&mask::mask_name(name.as_str())), text(&mask::mask_phone(&tel.national())),
        ];
        let case = validate_row_against(&export_map(), 2, &row(&phone), &types(), &known).unwrap().unwrap();
        prop_assert_eq!(case.cust_tel.as_ref(), Some(&phone));
        prop_assert_eq!(case.cust_nm.as_ref(), Some(&name));
        let another = PhoneNumber::parse(&format!("010{other:08}")).unwrap();
        let mask_differs = mask::mask_phone(&another.national()) != mask::mask_phone(&phone.national());
        let got = validate_row_against(&export_map(), 2, &row(&another), &types(), &known);
        prop_assert_eq!(got.is_err(), mask_differs);
    }
}
