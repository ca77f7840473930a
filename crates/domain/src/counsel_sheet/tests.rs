#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use time::macros::date;

use super::*;

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
        (text("010-****-5678"), "is masked (a masked phone from an export cannot be imported)"),
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
        6 => proptest::sample::select(vec!["mbrNo", "ordNo", "accpCont", "custNm", "custTelNo", "skip", "고객명", " ORDNO "])
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
                for key in [ColumnKey::MbrNo, ColumnKey::OrdNo, ColumnKey::AccpCont, ColumnKey::CustNm, ColumnKey::CustTelNo] {
                    prop_assert!(m.columns().iter().filter(|k| **k == key).count() <= 1);
                }
                prop_assert!(m.position(ColumnKey::CustTelNo).is_some());
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
        match validate_row(&m, row, &cells, &types()) {
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
