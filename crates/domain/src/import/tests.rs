#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use time::macros::date;

use super::*;
use crate::reference::Country;

fn labels(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| (*s).to_owned()).collect()
}

fn regions() -> RegionLookup {
    RegionLookup::new(&[
        Region { code: "서울".into(), name: "서울특별시".into(), country: Country::Kr },
        Region { code: "79".into(), name: "Thành phố Hồ Chí Minh".into(), country: Country::Vn },
    ])
}

fn text(s: &str) -> Cell {
    Cell::Text(s.to_owned())
}

const TODAY: Date = date!(2026 - 11 - 25);

fn product() -> Uuid {
    Uuid::from_u128(7)
}

#[test]
fn korean_english_and_vietnamese_labels_map_to_fields() {
    let h = Header::parse(&labels(&["이름", "연락처", "지역", "이메일", "비고", "유입경로"])).unwrap();
    assert_eq!(h.ignored, vec!["유입경로".to_owned()]);
    let h = Header::parse(&labels(&["Full Name", "phone_number", "Region-Code"])).unwrap();
    assert!(h.ignored.is_empty());
    let h = Header::parse(&labels(&["Họ tên", "Số điện thoại", "Tỉnh"])).unwrap();
    assert!(h.ignored.is_empty());
}

#[test]
fn a_header_without_a_required_column_or_with_a_field_twice_is_refused() {
    assert_eq!(Header::parse(&labels(&["name", "phone"])), Err(HeaderError::Missing("region")));
    assert_eq!(Header::parse(&labels(&["", " "])), Err(HeaderError::Empty));
    assert_eq!(
        Header::parse(&labels(&["name", "phone", "연락처", "region"])),
        Err(HeaderError::Duplicate("phone", 2, 3))
    );
}

#[test]
fn a_good_row_becomes_a_lead_with_the_region_code() {
    let h = Header::parse(&labels(&["이름", "연락처", "지역", "성별", "생년월일"])).unwrap();
    let cells =
        [text("홍길동"), text("010-1234-5678"), text("서울특별시"), text("여"), Cell::Date(date!(1990 - 01 - 02))];
    let lead = parse_row(&h, 2, &cells, product(), &regions(), TODAY).unwrap().unwrap();
    assert_eq!(lead.region, "서울");
    assert_eq!(lead.pii.phone.e164(), "+821012345678");
    assert_eq!(lead.gender.map(|g| g.as_str()), Some("FEMALE"));
    assert_eq!(lead.pii.birth_date, Some(date!(1990 - 01 - 02)));
    assert_eq!(lead.product_id, product());
}

#[test]
fn a_numeric_phone_cell_gets_its_leading_zero_back() {
    let h = Header::parse(&labels(&["name", "phone", "region"])).unwrap();
    let kr = [text("홍길동"), Cell::Number(1_012_345_678.0), text("서울")];
    assert_eq!(parse_row(&h, 2, &kr, product(), &regions(), TODAY).unwrap().unwrap().pii.phone.e164(), "+821012345678");
    let vn = [text("Nguyễn Văn A"), Cell::Number(912_345_678.0), text("79")];
    assert_eq!(parse_row(&h, 3, &vn, product(), &regions(), TODAY).unwrap().unwrap().pii.phone.e164(), "+84912345678");
}

#[test]
fn every_bad_field_of_a_row_is_reported_with_the_row_number() {
    let h = Header::parse(&labels(&["name", "phone", "region", "email", "birthdate"])).unwrap();
    let cells = [text(""), text("02-123-4567"), text("Mars"), text("not-an-email"), Cell::Number(3.0)];
    let errors = parse_row(&h, 17, &cells, product(), &regions(), TODAY).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    for expected in ["name", "phone", "region", "email", "birth_date"] {
        assert!(fields.contains(&expected), "{expected} missing from {errors:?}");
    }
    assert!(errors.iter().all(|e| e.row == 17));
}

#[test]
fn a_blank_row_is_skipped_and_a_short_row_reports_its_missing_fields() {
    let h = Header::parse(&labels(&["name", "phone", "region"])).unwrap();
    assert_eq!(parse_row(&h, 5, &[text(" "), Cell::Empty], product(), &regions(), TODAY).unwrap().map(|_| ()), None);
    let errors = parse_row(&h, 6, &[text("홍길동")], product(), &regions(), TODAY).unwrap_err();
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, vec!["phone", "region"]);
}

fn cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        Just(Cell::Empty),
        any::<String>().prop_map(Cell::Text),
        "[0-9+ ().-]{0,16}".prop_map(Cell::Text),
        any::<f64>().prop_map(Cell::Number),
        (1800i32..2200, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| {
            Cell::Date(Date::from_calendar_date(y, time::Month::try_from(m).unwrap(), d).unwrap())
        }),
    ]
}

proptest! {
    /// Arbitrary headers and cells: never a panic, only a header error, a skipped row,
    /// a lead, or errors that all carry the row's number.
    #[test]
    fn arbitrary_rows_give_a_lead_or_typed_errors(
        header in proptest::collection::vec(prop_oneof![any::<String>(), Just("이름".to_owned()), Just("phone".to_owned()), Just("region".to_owned())], 0..8),
        cells in proptest::collection::vec(cell(), 0..10),
        row in 2u64..1_000_000,
    ) {
        if let Ok(h) = Header::parse(&header) {
            match parse_row(&h, row, &cells, product(), &regions(), TODAY) {
                Ok(Some(lead)) => prop_assert!(lead.region == "서울" || lead.region == "79"),
                Ok(None) => prop_assert!(cells.iter().all(Cell::is_blank)),
                Err(errors) => {
                    prop_assert!(!errors.is_empty());
                    prop_assert!(errors.iter().all(|e| e.row == row && !e.reason.is_empty()));
                }
            }
        }
    }
}
