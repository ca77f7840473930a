#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use time::macros::date;

use super::*;
use crate::pii::PhoneNumber;
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
fn a_negative_or_fractional_phone_number_cell_is_refused() {
    // Found by `a_numeric_phone_cell_that_is_not_a_natural_number_is_refused`: -700000000
    // got a leading zero back and read as `0-700000000`, a valid VN mobile.
    let h = Header::parse(&labels(&["name", "phone", "region"])).unwrap();
    for n in [-700_000_000.0, -1_012_345_678.0, -821_012_345_678.0, 8_210_123_456.78, f64::NAN] {
        let cells = [text("홍길동"), Cell::Number(n), text("서울")];
        let errors = parse_row(&h, 4, &cells, product(), &regions(), TODAY).map(|_| ()).unwrap_err();
        let expected =
            RowError { row: 4, field: "phone".into(), reason: "must be text or a whole positive number".into() };
        assert_eq!(errors, vec![expected], "{n}");
    }
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

/// Every label a header may use, as the spreadsheet might spell it: any case, with spaces,
/// `_` or `-` anywhere, padded.
fn decorated_label() -> impl Strategy<Value = String> {
    let labels: Vec<&'static str> = Field::ALL.iter().flat_map(|f| f.labels().iter().copied()).collect();
    (proptest::sample::select(labels), proptest::collection::vec((any::<bool>(), 0usize..4), 0..4)).prop_map(
        |(label, decorations)| {
            let mut chars: Vec<String> = label.chars().map(String::from).collect();
            for (i, (upper, sep)) in decorations.into_iter().enumerate() {
                let at = (i * 3) % (chars.len() + 1);
                chars.insert(at, [" ", "_", "-", "\t"][sep].to_owned());
                if upper && let Some(c) = chars.get_mut(at + 1) {
                    *c = c.to_uppercase();
                }
            }
            format!(" {} ", chars.concat())
        },
    )
}

fn any_label() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => decorated_label(),
        2 => any::<String>(),
        1 => proptest::sample::select(vec!["", " ", "\u{130}", "\u{3000}", "\u{200b}name", "이름\u{0}", "NAME\u{301}"])
            .prop_map(str::to_owned),
    ]
}

/// Cells of every kind, with the numbers and dates a spreadsheet can hold at its edges.
fn any_cell() -> impl Strategy<Value = Cell> {
    prop_oneof![
        3 => cell(),
        1 => proptest::sample::select(vec![
            f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, f64::MAX, f64::MIN, f64::MIN_POSITIVE, 5e-324,
            9_007_199_254_740_992.0, 9_007_199_254_740_991.0, -101_234_567.0, -1_012_345_678.0, -912_345_678.0,
            1_012_345_678.5, 1e21, 1e-7,
        ])
        .prop_map(Cell::Number),
        1 => (-1_999_999_999i64..=1_999_999_999).prop_map(|n| Cell::Number(n as f64)),
        1 => (Date::MIN.to_julian_day()..=Date::MAX.to_julian_day())
            .prop_map(|day| Cell::Date(Date::from_julian_day(day).unwrap())),
        1 => "\\PC{0,3000}".prop_map(Cell::Text),
    ]
}

/// The fields a row error may name.
const ROW_FIELDS: [&str; 9] =
    ["productId", "name", "phone", "email", "region", "address", "birth_date", "gender", "memo"];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_000))]

    /// Any header: a map that holds the three required columns and reports exactly the
    /// non-blank labels that name no field, or the one typed reason it cannot be used.
    #[test]
    fn any_header_maps_or_gives_a_typed_error(labels in proptest::collection::vec(any_label(), 0..12)) {
        let field_of = |label: &String| Field::ALL.into_iter().find(|f| f.labels().contains(&fold(label).as_str()));
        match Header::parse(&labels) {
            Ok(header) => {
                prop_assert_eq!(header.columns.len(), labels.len());
                for required in [Field::Name, Field::Phone, Field::Region] {
                    prop_assert_eq!(header.columns.iter().filter(|c| **c == Some(required)).count(), 1);
                }
                let unknown: Vec<String> =
                    labels.iter().filter(|l| field_of(l).is_none() && !l.trim().is_empty()).map(|l| l.trim().to_owned()).collect();
                prop_assert_eq!(&header.ignored, &unknown);
            }
            Err(HeaderError::Empty) => prop_assert!(labels.iter().all(|l| l.trim().is_empty())),
            Err(HeaderError::Missing(field)) => {
                prop_assert!(labels.iter().all(|l| field_of(l).is_none_or(|f| f.as_str() != field)));
            }
            Err(HeaderError::Duplicate(field, first, second)) => {
                prop_assert!(1 <= first && first < second && second <= labels.len());
                prop_assert_eq!(field_of(&labels[first - 1]).map(Field::as_str), Some(field));
                prop_assert_eq!(field_of(&labels[second - 1]).map(Field::as_str), Some(field));
            }
        }
    }

    /// Any row under a usable header: skipped when blank, else a lead whose values are
    /// valid, else errors that all carry the row number and name a lead field.
    #[test]
    fn any_row_gives_a_valid_lead_or_row_errors(
        labels in proptest::collection::vec(any_label(), 0..6),
        cells in proptest::collection::vec(any_cell(), 0..14),
        row in any::<u64>(),
    ) {
        let mut labels = labels;
        labels.extend(["이름", "phone", "region"].map(str::to_owned));
        let Ok(header) = Header::parse(&labels) else { return Ok(()) };
        match parse_row(&header, row, &cells, product(), &regions(), TODAY) {
            Ok(None) => prop_assert!(cells.iter().all(Cell::is_blank)),
            Ok(Some(lead)) => {
                prop_assert!(lead.region == "서울" || lead.region == "79");
                prop_assert_eq!(&PhoneNumber::parse(lead.pii.phone.e164()).expect("reparses"), &lead.pii.phone);
                prop_assert!(lead.pii.birth_date.is_none_or(|d| d <= TODAY && d.year() >= 1900));
                prop_assert_eq!(lead.product_id, product());
            }
            Err(errors) => {
                prop_assert!(!errors.is_empty());
                for e in &errors {
                    prop_assert_eq!(e.row, row);
                    prop_assert!(ROW_FIELDS.contains(&e.field.as_str()), "{:?}", e);
                    prop_assert!(!e.reason.is_empty());
                }
            }
        }
    }

    /// A numeric phone cell that is negative, fractional or not finite is no phone number,
    /// whatever its digits would read as.
    #[test]
    fn a_numeric_phone_cell_that_is_not_a_natural_number_is_refused(
        n in prop_oneof![
            (100_000_000u64..1_000_000_000_000).prop_map(|n| -(n as f64)),
            (1_000_000u64..10_000_000_000, 1u32..100).prop_map(|(n, f)| n as f64 + f64::from(f) / 100.0),
            Just(8_210_123_456.78),
            Just(-821_012_345_678.0),
            proptest::sample::select(vec![f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1e300]),
        ],
    ) {
        let header = Header::parse(&labels(&["name", "phone", "region"])).unwrap();
        let cells = [text("홍길동"), Cell::Number(n), text("서울")];
        let errors = parse_row(&header, 2, &cells, product(), &regions(), TODAY).map(|_| ()).unwrap_err();
        let phone: Vec<&RowError> = errors.iter().filter(|e| e.field == "phone").collect();
        prop_assert_eq!(phone.len(), 1, "{} accepted or reported twice: {:?}", n, errors);
        prop_assert_eq!(phone[0].reason.as_str(), "must be text or a whole positive number");
    }
}

/// The import and the API's lead doors share `NewLead::parse`, metadata cap included: an
/// import row can carry no metadata at all (a `metadata` column is ignored, never
/// imported), and the fields an import row becomes are refused over the cap exactly as
/// `POST /api/v1/leads` and the intake refuse them (`metadata`: "must be at most 8 KiB").
#[test]
fn the_import_and_the_api_agree_on_the_metadata_cap() {
    let header = Header::parse(&labels(&["이름", "연락처", "지역", "metadata"])).unwrap();
    assert_eq!(header.ignored, vec!["metadata".to_owned()]);
    let big = format!("{{\"k\":\"{}\"}}", "x".repeat(crate::lead::MAX_METADATA_BYTES));
    let cells = [text("홍길동"), text("010-1234-5678"), text("서울"), text(&big)];
    let lead = parse_row(&header, 2, &cells, product(), &regions(), TODAY).unwrap().unwrap();
    assert_eq!(lead.metadata, None, "the import never takes metadata");
    let product_text = product().to_string();
    let fields = LeadFields {
        product_id: Some(&product_text),
        name: Some("홍길동"),
        phone: Some("010-1234-5678"),
        region: Some("서울"),
        metadata: Some(big),
        ..LeadFields::default()
    };
    let refused = NewLead::parse(&fields, TODAY).unwrap_err();
    assert_eq!(refused.0, vec![FieldError::new("metadata", "must be at most 8 KiB")]);
}
