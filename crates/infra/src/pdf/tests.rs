//! The PDFs as poppler reads them: text extracted by `pdftotext`, the first page rasterised
//! by `pdftoppm`, pages counted by `pdfinfo`. Without poppler-utils these tests fail under
//! CI (`CI` set) and are skipped loudly elsewhere.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use domain::funnel::coverage::report::document;
use domain::funnel::coverage::{Category, Contract, ContractStatus, Coverage, CoverageReport, Won, analyse};
use domain::funnel::document::Document;
use domain::funnel::identity::Gender;
use domain::ports::PdfRenderer;
use time::macros::{date, datetime};
use uuid::Uuid;

use super::KrillaPdf;

const NAMES: [&str; 10] =
    ["사망", "암", "뇌혈관", "심장", "실손의료비", "입원", "수술", "후유장해", "치아", "배상책임"];
const INSURERS: [&str; 6] = ["삼성생명", "한화생명", "교보생명", "DB손해보험", "현대해상", "KB손해보험"];
const PRODUCTS: [&str; 5] = [
    "무배당 종신보험",
    "건강보험 (갱신형)",
    "무배당 암보험 플러스 100세 만기 비갱신형 납입면제 특약 포함 상품",
    "실손의료비보험",
    "운전자보험",
];

/// Whether poppler's `tool` is on PATH: `true` to run, `false` to skip (said loudly).
///
/// # Panics
/// Under CI (`CI` set) when the tool is missing: a skipped check must not pass there.
fn poppler(tool: &str) -> bool {
    let found = Command::new(tool).arg("-v").output().is_ok();
    if !found {
        if std::env::var_os("CI").is_some() {
            panic!("{tool} (poppler-utils) is missing under CI: install poppler-utils");
        }
        // Straight to stderr: the harness captures `eprintln!` of a passing test.
        let warning = format!(
            "\n!!! WARNING: {tool} (poppler-utils) is not on PATH: this PDF check is SKIPPED, not passed.\n\
             !!! Install it with `apt-get install -y poppler-utils`.\n\n"
        );
        let _ = std::io::Write::write_all(&mut std::io::stderr(), warning.as_bytes());
    }
    found
}

fn report(contracts: usize) -> CoverageReport {
    let table = crate::coverage_table::load(None).unwrap();
    let contracts: Vec<Contract> = (0..contracts)
        .map(|i| Contract {
            insurer: INSURERS[i % INSURERS.len()].to_owned(),
            product: PRODUCTS[i % PRODUCTS.len()].to_owned(),
            contract_date: date!(2012 - 03 - 01).replace_year(2012 + (i % 14) as i32).unwrap(),
            status: if i % 7 == 6 { ContractStatus::Lapsed } else { ContractStatus::Active },
            monthly_premium: Won(23_400 + 1_150 * i as u64),
            coverages: vec![
                Coverage { category: Category::ALL[i % 10], amount: Won(5_000_000 * (1 + i as u64 % 4)) },
                Coverage { category: Category::ALL[(i + 3) % 10], amount: Won(2_000_000) },
            ],
        })
        .collect();
    let analysis = analyse(&contracts, date!(1984 - 05 - 20), Gender::Male, date!(2026 - 12 - 03), &table).unwrap();
    CoverageReport {
        id: Uuid::from_u128(0x0193_8a1c_2b3d_7e4f_8a9b_0c1d_2e3f_4a5b),
        org_id: Uuid::from_u128(1),
        verification_id: Uuid::from_u128(2),
        masked_name: "홍*동".to_owned(),
        gender: Gender::Male,
        contracts,
        analysis,
        consents: vec![],
        created_at: datetime!(2026-12-03 02:15 UTC),
    }
}

fn coverage_document(contracts: usize) -> Document {
    document(&report(contracts), datetime!(2026-12-03 02:20 UTC))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn run(tool: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(tool).args(args).output().unwrap();
    assert!(out.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

fn pages(path: &Path) -> u32 {
    let info = String::from_utf8(run("pdfinfo", &[path.to_str().unwrap()])).unwrap();
    let line = info.lines().find(|l| l.starts_with("Pages:")).unwrap();
    line.trim_start_matches("Pages:").trim().parse().unwrap()
}

#[test]
fn a_coverage_report_is_a_pdf_whose_text_poppler_extracts() {
    let pdf = KrillaPdf::new().unwrap().render(&coverage_document(60)).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    if !poppler("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "report.pdf", &pdf);
    let text = String::from_utf8(run("pdftotext", &["-layout", path.to_str().unwrap(), "-"])).unwrap();
    for needle in ["보장분석 리포트", "홍*동", "보장금액 비교 (보유 vs 권장)", "부족 (LACK)", "2026-12-03"]
    {
        assert!(text.contains(needle), "{needle} is not in the extracted text");
    }
    for name in NAMES {
        assert!(text.contains(name), "{name} is not in the extracted text");
    }
    // Every contract's row is there: the table continued across the pages.
    assert_eq!(text.matches("삼성생명").count(), 10);
    assert!(pages(&path) > 1);
}

#[test]
fn the_first_page_rasterises() {
    let pdf = KrillaPdf::new().unwrap().render(&coverage_document(8)).unwrap();
    if !poppler("pdftoppm") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "report.pdf", &pdf);
    let prefix = dir.path().join("page");
    run("pdftoppm", &["-png", "-r", "40", "-f", "1", "-l", "1", path.to_str().unwrap(), prefix.to_str().unwrap()]);
    let png = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "png"))
        .expect("pdftoppm wrote a PNG");
    let bytes = std::fs::read(png).unwrap();
    assert!(bytes.len() > 1_000, "{} bytes", bytes.len());
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"));
}

#[test]
fn every_page_of_a_long_report_is_numbered_and_a_short_one_stays_short() {
    let renderer = KrillaPdf::new().unwrap();
    let long = renderer.render(&coverage_document(60)).unwrap();
    let short = renderer.render(&coverage_document(3)).unwrap();
    if !poppler("pdfinfo") || !poppler("pdftotext") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let long_path = write(dir.path(), "long.pdf", &long);
    let n = pages(&long_path);
    assert!(n > 1, "{n} pages");
    let text = String::from_utf8(run("pdftotext", &["-layout", long_path.to_str().unwrap(), "-"])).unwrap();
    // pdftotext may close up the small footer's spaces ("1/3").
    let packed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for i in 1..=n {
        assert!(packed.contains(&format!("{i}/{n}")), "page {i} / {n} is numbered");
    }
    assert!(text.contains("권장금액 기준표"), "the footer names the table");
    let short_path = write(dir.path(), "short.pdf", &short);
    assert!(pages(&short_path) <= 2);
}

#[test]
fn the_same_document_gives_the_same_bytes() {
    let d = coverage_document(60);
    let a = KrillaPdf::new().unwrap().render(&d).unwrap();
    let shared = KrillaPdf::new().unwrap();
    let b = shared.clone().render(&d).unwrap();
    assert_eq!(a, b);
    assert_eq!(shared.render(&d).unwrap(), a);
}

#[test]
fn the_font_is_embedded_as_a_subset_with_a_unicode_map() {
    let pdf = KrillaPdf::new().unwrap().render(&coverage_document(3)).unwrap();
    // A subset: far smaller than the 2.7 MB font.
    assert!(pdf.len() < 200_000, "{} bytes", pdf.len());
    if !poppler("pdffonts") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "r.pdf", &pdf);
    let fonts = String::from_utf8(run("pdffonts", &[path.to_str().unwrap()])).unwrap();
    let line = fonts.lines().find(|l| l.contains("Pretendard")).expect("the font is listed");
    assert!(line.contains("CID TrueType"), "{line}");
    assert!(line.split_whitespace().rev().take(5).filter(|w| *w == "yes").count() >= 3, "emb, sub, uni: {line}");
}

/// Not a benchmark: prints the render time and size of a typical report (8 contracts)
/// and of the long one, for the record (`cargo test -p infra --lib pdf -- --nocapture`).
#[test]
fn render_time_and_size_are_printed() {
    let renderer = KrillaPdf::new().unwrap();
    for n in [8, 60] {
        let d = coverage_document(n);
        let started = Instant::now();
        let pdf = renderer.render(&d).unwrap();
        eprintln!("coverage report, {n} contracts: {} bytes in {:?}", pdf.len(), started.elapsed());
    }
}
