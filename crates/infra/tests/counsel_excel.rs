//! The counsel-case Excel import and export against real files: the LibreOffice-written
//! fixture, damaged and hostile zips, the row limit, and export → import.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::cast_precision_loss)]

use std::collections::HashMap;
use std::io::{Cursor, Write};
use std::time::Instant;

use calamine::{Data, Reader, Xlsx};
use domain::counsel::CaseStatus;
use domain::counsel_sheet::{
    CaseTypes, ColumnKey, ColumnMap, ExportRow, KnownCustomer, MAX_ROWS, MAX_UNCOMPRESSED_BYTES, RowError, SheetError,
    validate_row,
};
use domain::import::Cell;
use domain::pii::{PersonName, PhoneNumber};
use infra::counsel_excel::{read_cases, read_rows, read_sheet, write_cases};
use proptest::prelude::*;
use rust_xlsxwriter::Workbook;
use time::macros::{datetime, offset};
use uuid::Uuid;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/counsel/ob_cases.xlsx");
const FIXTURE_COLUMNS: &str = "mbrNo,ordNo,accpCont,custNm,custTelNo,skip";

fn fixture() -> Vec<u8> {
    std::fs::read(FIXTURE).expect("fixtures/counsel/ob_cases.xlsx")
}

fn types() -> CaseTypes {
    CaseTypes::parse("10", "OB1").unwrap()
}

fn err(row: u64, column: ColumnKey, reason: &str) -> RowError {
    RowError { row, column, reason: reason.to_owned() }
}

fn tel(case: &domain::counsel::NewCounselCase) -> &str {
    case.cust_tel.as_ref().map(PhoneNumber::e164).unwrap()
}

fn name(case: &domain::counsel::NewCounselCase) -> Option<&str> {
    case.cust_nm.as_ref().map(PersonName::as_str)
}

#[test]
fn the_fixture_reports_every_bad_row_and_imports_nothing() {
    let map = ColumnMap::parse(FIXTURE_COLUMNS).unwrap();
    let Err(SheetError::Rows(errors)) = read_cases(&fixture(), &map, &types()) else { panic!("all or nothing") };
    assert_eq!(
        errors,
        vec![
            err(6, ColumnKey::CustTelNo, "is not a Korean or Vietnamese mobile number"),
            err(7, ColumnKey::MbrNo, "is required: a row needs mbrNo or ordNo"),
            err(9, ColumnKey::CustTelNo, "is required"),
            err(11, ColumnKey::CustTelNo, "must be text or a whole positive number"),
        ]
    );
}

/// mbrNo, ordNo, accpCont, custNm, custTelNo (E.164).
type Summary<'a> = (Option<&'a str>, Option<&'a str>, Option<&'a str>, Option<&'a str>, &'a str);

#[test]
fn the_fixture_good_rows_parse_exactly() {
    let map = ColumnMap::parse(FIXTURE_COLUMNS).unwrap();
    let rows = read_rows(&fixture(), map.len()).unwrap();
    // Row 8 is blank in the sheet: not read at all.
    assert_eq!(rows.iter().map(|(n, _)| *n).collect::<Vec<_>>(), vec![1, 2, 3, 4, 5, 6, 7, 9, 10, 11]);
    assert_eq!(rows[0].1[4], Cell::Text("고객연락처".into()));
    // The phone typed as a number is a numeric cell in the file, as written by LibreOffice.
    assert_eq!(rows[2].1[4], Cell::Number(1_098_765_432.0));
    let good: Vec<_> = rows
        .iter()
        .filter(|(n, _)| [2, 3, 4, 5, 10].contains(n))
        .map(|(n, cells)| validate_row(&map, *n, cells, &types()).unwrap().unwrap())
        .collect();
    let got: Vec<Summary<'_>> = good
        .iter()
        .map(|c| (c.mbr_no.as_deref(), c.ord_no.as_deref(), c.accp_cont.as_deref(), name(c), tel(c)))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                Some("M0001"),
                Some("ORD-20261125-001"),
                Some("배송 지연 문의 — 재연락 요청"),
                Some("홍길동"),
                "+821012345678"
            ),
            (Some("M0002"), None, Some("교환 요청"), Some("김영희"), "+821098765432"),
            (None, Some("ORD-VN-0003"), Some("Khách hỏi về bảo hành"), Some("Nguyễn Văn An"), "+84912345678"),
            (Some("M0005"), Some("ORD-5"), None, Some("Trần Thị Bình"), "+84362345678"),
            (Some("10010"), Some("ORD-10"), Some("회원번호가 숫자 셀"), Some("정다은"), "+821055556666"),
        ]
    );
    assert!(good.iter().all(|c| c.cnsl_typ_no == "10" && c.ob_typ_no.as_deref() == Some("OB1")));
}

/// An import-shaped sheet: a header, then `rows` valid rows (and `extra` after them).
fn import_sheet(rows: u32, extra: &[[&str; 5]]) -> Vec<u8> {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    for (col, label) in (0u16..).zip(["회원번호", "주문번호", "접수내용", "고객명", "고객연락처"]) {
        sheet.write_string(0, col, label).unwrap();
    }
    for r in 1..=rows {
        sheet.write_string(r, 0, format!("M{r:07}")).unwrap();
        sheet.write_string(r, 1, format!("ORD-{r:08}")).unwrap();
        sheet.write_string(r, 2, "배송 문의: 상품이 도착하지 않았습니다").unwrap();
        sheet.write_string(r, 3, if r % 2 == 0 { "홍길동" } else { "Nguyễn Văn An" }).unwrap();
        if r % 3 == 0 {
            sheet.write_number(r, 4, 1_012_340_000.0 + f64::from(r % 10_000)).unwrap();
        } else if r % 3 == 1 {
            sheet.write_string(r, 4, format!("010-{:04}-{:04}", r % 10_000, (r * 7) % 10_000)).unwrap();
        } else {
            sheet.write_string(r, 4, format!("09{:08}", r)).unwrap();
        }
    }
    for (i, cells) in (rows + 1..).zip(extra) {
        for (col, value) in (0u16..).zip(cells) {
            sheet.write_string(i, col, *value).unwrap();
        }
    }
    workbook.save_to_buffer().unwrap()
}

fn import_map() -> ColumnMap {
    ColumnMap::parse("mbrNo,ordNo,accpCont,custNm,custTelNo").unwrap()
}

#[test]
fn a_written_sheet_imports_whole_and_a_bad_row_anywhere_stops_it() {
    let cases = read_cases(&import_sheet(30, &[]), &import_map(), &types()).unwrap();
    assert_eq!(cases.len(), 30);
    assert_eq!(cases[2].mbr_no.as_deref(), Some("M0000003"));
    assert_eq!(tel(&cases[2]), "+821012340003");
    let bytes = import_sheet(30, &[["M9", "", "", "", "010-12"], ["", "", "x", "", ""]]);
    let Err(SheetError::Rows(errors)) = read_cases(&bytes, &import_map(), &types()) else { panic!() };
    let at: Vec<(u64, &str)> = errors.iter().map(|e| (e.row, e.column.as_str())).collect();
    assert_eq!(at, vec![(32, "custTelNo"), (33, "custTelNo"), (33, "mbrNo")]);
}

#[test]
fn a_header_alone_is_empty_and_a_sheet_without_header_keeps_its_first_row() {
    assert_eq!(read_cases(&import_sheet(0, &[]), &import_map(), &types()), Err(SheetError::Empty));
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "M1").unwrap();
    sheet.write_number(0, 4, 1_012_345_678.0).unwrap();
    let cases = read_cases(&workbook.save_to_buffer().unwrap(), &import_map(), &types()).unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(tel(&cases[0]), "+821012345678");
}

#[test]
fn a_title_in_a_skipped_column_does_not_hide_the_header() {
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 5, "OB 상담 업로드 (11월)").unwrap();
    for (col, label) in (0u16..).zip(["회원번호", "주문번호", "접수내용", "고객명", "고객연락처", "비고"])
    {
        sheet.write_string(1, col, label).unwrap();
    }
    sheet.write_string(2, 0, "M1").unwrap();
    sheet.write_string(2, 4, "010 1234 5678").unwrap();
    let map = ColumnMap::parse(FIXTURE_COLUMNS).unwrap();
    let cases = read_cases(&workbook.save_to_buffer().unwrap(), &map, &types()).unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(tel(&cases[0]), "+821012345678");
}

#[test]
fn too_many_rows_are_refused_and_the_limit_itself_is_accepted() {
    let rows = u32::try_from(MAX_ROWS).unwrap();
    assert_eq!(read_cases(&import_sheet(rows + 1, &[]), &import_map(), &types()), Err(SheetError::TooManyRows));
    assert_eq!(read_cases(&import_sheet(rows, &[]), &import_map(), &types()).unwrap().len(), MAX_ROWS);
}

#[test]
fn bytes_that_are_no_xlsx_are_refused_with_a_reason() {
    let map = import_map();
    let reason = |bytes: &[u8]| match read_cases(bytes, &map, &types()) {
        Err(SheetError::NotXlsx(reason)) => reason,
        other => panic!("{other:?}"),
    };
    assert!(reason(b"").contains("empty"));
    assert!(reason("회원번호,고객연락처\nM1,010-1234-5678\n".as_bytes()).contains("not one"));
    assert!(reason(b"%PDF-1.7\n").contains("zip"));
    let xls = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1, 0, 0, 0, 0];
    assert!(reason(&xls).contains(".xls"));
    // An OpenDocument spreadsheet and a zip of something else.
    let ods = zip_of(&[("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", b"<x/>")]);
    assert!(reason(&ods).contains(".ods"));
    assert!(reason(&zip_of(&[("readme.txt", b"hello")])).contains("no xl/workbook.xml"));
    // A workbook entry that is no workbook.
    let fake = zip_of(&[("[Content_Types].xml", b"<Types/>"), ("xl/workbook.xml", b"not xml at all")]);
    reason(&fake);
}

#[test]
fn a_truncated_or_damaged_file_is_no_xlsx_never_a_panic() {
    let bytes = fixture();
    assert!(matches!(read_cases(&bytes[..bytes.len() / 2], &import_map(), &types()), Err(SheetError::NotXlsx(_))));
    for cut in (0..bytes.len()).step_by(37) {
        let got = read_cases(&bytes[..cut], &import_map(), &types());
        assert!(matches!(got, Err(SheetError::NotXlsx(_))), "cut at {cut}: {got:?}");
    }
}

/// A zip of stored entries.
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// Rewrites the uncompressed size `name` declares, in its local header and in the
/// central directory.
fn declare_size(bytes: &mut [u8], name: &str, size: u32) {
    let mut patched = 0;
    for at in 0..bytes.len().saturating_sub(46) {
        let le16 = |b: &[u8], i: usize| usize::from(u16::from_le_bytes([b[i], b[i + 1]]));
        if bytes[at..].starts_with(b"PK\x03\x04")
            && bytes[at + 30..].starts_with(name.as_bytes())
            && le16(bytes, at + 26) == name.len()
        {
            bytes[at + 22..at + 26].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
        if bytes[at..].starts_with(b"PK\x01\x02")
            && bytes[at + 46..].starts_with(name.as_bytes())
            && le16(bytes, at + 28) == name.len()
        {
            bytes[at + 24..at + 28].copy_from_slice(&size.to_le_bytes());
            patched += 1;
        }
    }
    assert_eq!(patched, 2, "{name}");
}

#[test]
fn a_zip_bomb_is_refused_from_its_central_directory() {
    // A small zip whose sheet declares 4 GB uncompressed: refused before any inflating.
    let mut bomb = import_sheet(3, &[]);
    declare_size(&mut bomb, "xl/worksheets/sheet1.xml", 0xF000_0000);
    assert!(bomb.len() < 10_000);
    let Err(SheetError::ZipBomb(reason)) = read_cases(&bomb, &import_map(), &types()) else { panic!() };
    assert!(reason.contains(&MAX_UNCOMPRESSED_BYTES.to_string()), "{reason}");

    // Many entries that together declare more than the bound.
    let per = u32::try_from(MAX_UNCOMPRESSED_BYTES / 4 + 1).unwrap();
    let mut spread = zip_of(&[("xl/workbook.xml", b"<w/>"), ("a", b"1"), ("b", b"2"), ("c", b"3"), ("d", b"4")]);
    for entry in ["a", "b", "c", "d"] {
        declare_size(&mut spread, entry, per);
    }
    assert!(matches!(read_cases(&spread, &import_map(), &types()), Err(SheetError::ZipBomb(_))));
}

#[test]
fn an_entry_that_inflates_past_its_declared_size_is_stopped() {
    // The other way round: a sheet that lies small. The zip reader refuses to inflate past
    // the declared size, so the declared total bounds the work whatever the data is.
    let mut liar = import_sheet(200, &[]);
    declare_size(&mut liar, "xl/worksheets/sheet1.xml", 100);
    let got = read_cases(&liar, &import_map(), &types());
    assert!(matches!(got, Err(SheetError::NotXlsx(_))), "{got:?}");
}

#[test]
fn too_large_a_file_is_refused_before_reading() {
    let big = vec![b'P'; 20 * 1024 * 1024 + 1];
    assert_eq!(read_cases(&big, &import_map(), &types()), Err(SheetError::TooLarge { bytes: 20 * 1024 * 1024 + 1 }));
}

fn export_rows() -> Vec<ExportRow> {
    let row = |i: u32| ExportRow {
        cnsl_no: format!("0196f1a0-0000-7000-8000-{i:012}"),
        mbr_no: Some(format!("00{i}")),
        ord_no: i.is_multiple_of(2).then(|| format!("ORD-{i}")),
        accp_cont: Some(if i == 1 { "=SUM(A1:A2)".to_owned() } else { format!("배송 문의 {i}\n두 번째 줄") }),
        cust_nm: Some(if i.is_multiple_of(2) { "홍길동".to_owned() } else { "Nguyễn Văn An".to_owned() }),
        cust_tel: Some(if i.is_multiple_of(2) { "01012345678".to_owned() } else { "0912345678".to_owned() }),
        cnsl_typ_no: "10".to_owned(),
        ob_typ_no: Some("OB1".to_owned()),
        status: if i == 3 { CaseStatus::Waiting } else { CaseStatus::Assigned },
        manager: (i != 3).then(|| "상담원 김".to_owned()),
        received_at: datetime!(2026-11-25 01:02:03 UTC),
        assigned_at: (i != 3).then_some(datetime!(2026-11-25 16:30:00 UTC)),
    };
    (1..=4).map(row).collect()
}

#[test]
fn an_export_opens_with_korean_headers_masked_customers_and_real_dates() {
    let bytes = write_cases(&export_rows(), offset!(+9)).unwrap();
    let mut workbook = Xlsx::new(Cursor::new(bytes.as_slice())).unwrap();
    assert_eq!(workbook.sheet_names(), vec!["상담목록".to_owned()]);
    let range = workbook.worksheet_range("상담목록").unwrap();
    let text = |r: u32, c: u32| range.get_value((r, c)).map(ToString::to_string).unwrap_or_default();
    let header: Vec<String> = (0..12).map(|c| text(0, c)).collect();
    assert_eq!(
        header,
        [
            "상담번호",
            "회원번호",
            "주문번호",
            "접수내용",
            "고객명",
            "고객연락처",
            "상담유형번호",
            "OB유형번호",
            "상태",
            "담당자",
            "접수일시",
            "배정일시"
        ]
    );
    assert_eq!(text(1, 3), "=SUM(A1:A2)", "text, not a formula");
    assert_eq!((text(1, 4), text(1, 5)), ("N***** V** A*".to_owned(), "091***5678".to_owned()));
    assert_eq!((text(2, 4), text(2, 5)), ("홍*동".to_owned(), "010****5678".to_owned()));
    assert_eq!((text(3, 8), text(3, 9), text(3, 11)), ("대기".to_owned(), String::new(), String::new()));
    assert_eq!(text(2, 8), "배정");
    assert_eq!(text(2, 1), "002", "leading zeros survive as text");
    let Some(Data::DateTime(received)) = range.get_value((1, 10)) else { panic!("{:?}", range.get_value((1, 10))) };
    assert_eq!(received.to_ymd_hms_milli(), (2026, 11, 25, 10, 2, 3, 0), "shown at +09:00");
    let Some(Data::DateTime(assigned)) = range.get_value((1, 11)) else { panic!() };
    assert_eq!(assigned.to_ymd_hms_milli(), (2026, 11, 26, 1, 30, 0, 0));
    // The header row is frozen.
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes.as_slice())).unwrap();
    let mut sheet = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/worksheets/sheet1.xml").unwrap(), &mut sheet).unwrap();
    assert!(sheet.contains(r#"ySplit="1""#) && sheet.contains(r#"state="frozen""#), "{sheet}");
}

#[test]
fn export_then_import_keeps_every_column_and_the_customers_by_their_case_numbers() {
    let rows = export_rows();
    let bytes = write_cases(&rows, offset!(+9)).unwrap();
    // Read back as the import reads: the 회원번호..고객연락처 columns land where the map says.
    let map = ColumnMap::parse("skip,mbrNo,ordNo,accpCont,custNm,custTelNo").unwrap();
    let sheet = read_rows(&bytes, map.len()).unwrap();
    assert_eq!(sheet.len(), 5);
    for ((_, cells), row) in sheet[1..].iter().zip(&rows) {
        let t = |i: usize| match &cells.get(i) {
            Some(Cell::Text(t)) => Some(t.as_str()),
            _ => None,
        };
        assert_eq!(t(0), Some(row.cnsl_no.as_str()));
        assert_eq!(t(1), row.mbr_no.as_deref());
        assert_eq!(t(2), row.ord_no.as_deref());
        assert_eq!(t(3), row.accp_cont.as_deref());
    }
    // Without the case numbers, the masked customers are refused, each by row.
    let Err(SheetError::Rows(errors)) = read_cases(&bytes, &map, &types()) else { panic!("masked data imported") };
    let masked = "is masked: a masked value from an export can only come back in a row that names its case (cnslNo)";
    let mut expected = Vec::new();
    for row in 2..=5 {
        expected.push(err(row, ColumnKey::CustNm, masked));
        expected.push(err(row, ColumnKey::CustTelNo, masked));
    }
    assert_eq!(errors, expected);
    // With them, every row comes back whole: the sheet's columns, and the customer of the
    // case each row names.
    let map = ColumnMap::parse("cnslNo,mbrNo,ordNo,accpCont,custNm,custTelNo").unwrap();
    let sheet = read_sheet(&bytes, &map).unwrap();
    let named: Vec<String> = sheet.named_cases().iter().map(ToString::to_string).collect();
    let mut numbers: Vec<String> = rows.iter().map(|r| r.cnsl_no.clone()).collect();
    numbers.sort();
    assert_eq!(named, numbers);
    let known: HashMap<Uuid, KnownCustomer> = rows
        .iter()
        .map(|r| {
            let customer = KnownCustomer {
                name: r.cust_nm.as_deref().map(|n| PersonName::parse(n).unwrap()),
                phone: r.cust_tel.as_deref().map(|p| PhoneNumber::parse(p).unwrap()),
            };
            (r.cnsl_no.parse().unwrap(), customer)
        })
        .collect();
    let cases = sheet.cases(&types(), &known).unwrap();
    assert_eq!(cases.len(), rows.len());
    for (case, row) in cases.iter().zip(&rows) {
        let customer = &known[&row.cnsl_no.parse::<Uuid>().unwrap()];
        assert_eq!((&case.cust_nm, &case.cust_tel), (&customer.name, &customer.phone));
        assert_eq!((&case.mbr_no, &case.ord_no, &case.accp_cont), (&row.mbr_no, &row.ord_no, &row.accp_cont));
        assert_eq!(case.ob_typ_no.as_deref(), Some(types().ob_typ_no()));
    }
    // A case the lookup does not know is a row error on cnslNo, for each row.
    let Err(SheetError::Rows(errors)) = sheet.cases(&types(), &HashMap::new()) else { panic!() };
    assert_eq!(errors, (2..=5).map(|row| err(row, ColumnKey::CnslNo, "names no counsel case")).collect::<Vec<_>>());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any bytes, and the fixture with any bytes overwritten: a typed result, never a panic.
    #[test]
    fn any_bytes_give_cases_or_a_typed_error(
        noise in proptest::collection::vec(any::<u8>(), 0..2_000),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
    ) {
        let map = ColumnMap::parse(FIXTURE_COLUMNS).unwrap();
        let _ = read_cases(&noise, &map, &types());
        let mut zipped = b"PK\x03\x04".to_vec();
        zipped.extend(&noise);
        let _ = read_cases(&zipped, &map, &types());
        let mut bytes = fixture();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            bytes[i] = value;
        }
        match read_cases(&bytes, &map, &types()) {
            Ok(cases) => prop_assert!(!cases.is_empty()),
            Err(SheetError::Rows(errors)) => prop_assert!(!errors.is_empty()),
            Err(_) => {}
        }
    }
}

/// `cargo test --release -p infra --test counsel_excel -- --ignored --nocapture`
#[test]
#[ignore = "a measurement: run with --ignored --nocapture (in release for the real figure)"]
fn import_rate_of_50000_rows() {
    let rows = u32::try_from(MAX_ROWS).unwrap();
    let bytes = import_sheet(rows, &[]);
    let map = import_map();
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let cases = read_cases(&bytes, &map, &types()).unwrap();
        let secs = started.elapsed().as_secs_f64();
        assert_eq!(cases.len(), MAX_ROWS);
        best = best.min(secs);
    }
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    println!(
        "import rate ({profile}): {MAX_ROWS} rows, {} KiB xlsx, best of 3 {best:.3} s = {:.0} rows/s",
        bytes.len() / 1024,
        MAX_ROWS as f64 / best
    );
}

/// Needs LibreOffice (`apt-get install libreoffice-calc-nogui`):
/// `cargo test -p infra --test counsel_excel -- --ignored export_opens_in_libreoffice`
#[test]
#[ignore = "needs soffice (LibreOffice) on PATH"]
fn export_opens_in_libreoffice() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = dir.path().join("export.xlsx");
    std::fs::write(&xlsx, write_cases(&export_rows(), offset!(+9)).unwrap()).unwrap();
    let status = std::process::Command::new("soffice")
        .arg(format!("-env:UserInstallation=file://{}/profile", dir.path().display()))
        .args(["--headless", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir"])
        .arg(dir.path())
        .arg(&xlsx)
        .status()
        .unwrap();
    assert!(status.success());
    // LibreOffice quotes every text cell.
    let csv = std::fs::read_to_string(dir.path().join("export.csv")).unwrap().replace('"', "");
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "상담번호,회원번호,주문번호,접수내용,고객명,고객연락처,상담유형번호,OB유형번호,상태,담당자,접수일시,배정일시"
        )
    );
    assert!(csv.contains("홍*동,010****5678,10,OB1,배정,상담원 김,2026-11-25 10:02:03,2026-11-26 01:30:00"), "{csv}");
    assert!(!csv.contains("01012345678") && !csv.contains("홍길동"));
}
