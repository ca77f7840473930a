//! The medical coverage report (메디컬 보장분석 리포트) as a [`Document`]: what its PDF
//! and JSON show, built by one pure function, [`document`], from plain values (so it
//! does not depend on how an analysis is stored).
//!
//! Invariants:
//! - the person appears only as the masked name given; no birth date, phone, provider
//!   reference or authentication detail is printed;
//! - the latest check-up's table has one row per measure it holds, in [`Measure::ALL`]'s
//!   order, each with its unit, the NHIS normal range and the judgement (`-` for height
//!   and weight, which are not judged); the yearly table has one row per check-up,
//!   oldest first;
//! - the risk table has one row per flag, the recommendation table one row per
//!   recommendation, in rank order; amounts are whole won with thousands separators;
//! - dates and times are Korean (UTC+9), whatever the instant's offset;
//! - the document always says it is not medical advice; the same input gives the same
//!   document.

use rust_decimal::Decimal;
use time::OffsetDateTime;
use uuid::Uuid;

use super::{Checkup, Judgement, Measure, MedicalAnalysis, RiskKind, judge, reference};
use crate::funnel::coverage::report::won;
use crate::funnel::document::{Align, Block, Column, Document, Table, kst, ymd};
use crate::funnel::identity::Gender;

/// The report's title.
pub const TITLE: &str = "메디컬 보장분석 리포트";

/// Who and what the report is about: plain values, the person already masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportHeader<'a> {
    /// The person's name masked (`홍*동`).
    pub masked_name: &'a str,
    pub gender: Gender,
    /// Full years on the analysis date.
    pub age: u8,
    /// The medical analysis.
    pub analysis_id: Uuid,
    /// The coverage analysis it joins.
    pub coverage_analysis_id: Uuid,
    /// When the medical analysis was made.
    pub analysed_at: OffsetDateTime,
    /// When this document is issued (the footer).
    pub generated_at: OffsetDateTime,
}

/// The key measures the yearly table follows (blood pressure shown as one column).
const YEARLY: [Measure; 5] =
    [Measure::Bmi, Measure::FastingGlucose, Measure::TotalCholesterol, Measure::GammaGtp, Measure::Egfr];

/// The medical report of `analysis`, made from `checkups`, as a document.
#[must_use]
pub fn document(header: &ReportHeader<'_>, analysis: &MedicalAnalysis, checkups: &[Checkup]) -> Document {
    let analysed = kst(header.analysed_at);
    let facts = vec![
        ("대상자".to_owned(), header.masked_name.to_owned()),
        ("성별/나이".to_owned(), format!("{} / {}세", header.gender.name_ko(), header.age)),
        ("분석일시".to_owned(), format!("{} (KST)", ymd_hm(analysed))),
        ("분석번호".to_owned(), header.analysis_id.to_string()),
        ("보장분석번호".to_owned(), header.coverage_analysis_id.to_string()),
        ("최근 검진".to_owned(), analysis.latest_year.map_or_else(|| "없음".to_owned(), |y| format!("{y}년"))),
    ];

    let mut sorted: Vec<&Checkup> = checkups.iter().collect();
    sorted.sort_by_key(|c| (c.year, c.date));
    let mut blocks = Vec::new();
    match sorted.last() {
        Some(latest) => {
            blocks.push(Block::Heading(format!("최근 건강검진 결과 ({}년, {})", latest.year, ymd(latest.date))));
            blocks.push(latest_table(latest, header.gender));
            blocks.push(Block::Heading("연도별 주요 수치".to_owned()));
            blocks.push(yearly_table(&sorted));
        }
        None => {
            blocks.push(Block::Heading("건강검진 결과".to_owned()));
            blocks.push(Block::Paragraph("조회된 일반건강검진 기록이 없습니다.".to_owned()));
        }
    }

    blocks.push(Block::Heading("건강 위험 요인".to_owned()));
    if analysis.flags.is_empty() {
        blocks.push(Block::Paragraph("최근 검진에서 경계 또는 질환의심으로 판정된 위험 요인이 없습니다.".to_owned()));
    } else {
        let rows = analysis
            .flags
            .iter()
            .map(|f| {
                let values = f
                    .measures
                    .iter()
                    .map(|(m, v)| format!("{} {} {}", m.name_ko(), one_decimal(*v), m.unit()))
                    .collect::<Vec<_>>()
                    .join(", ");
                vec![f.kind.name_ko().to_owned(), f.level.name_ko().to_owned(), values, format!("{}년", f.year)]
            })
            .collect();
        blocks.push(table(
            vec![
                Column::new("위험요인", Align::Left, 3),
                Column::new("판정", Align::Center, 2),
                Column::new("관련 수치", Align::Left, 8),
                Column::new("검진연도", Align::Center, 2),
            ],
            rows,
        ));
    }

    blocks.push(Block::Heading("보장 검토 우선순위".to_owned()));
    if analysis.recommendations.is_empty() {
        blocks.push(Block::Paragraph("보장이 부족하거나 건강 위험 요인과 관련된 보장 항목이 없습니다.".to_owned()));
    } else {
        let rows = analysis
            .recommendations
            .iter()
            .map(|r| {
                vec![
                    r.rank.to_string(),
                    r.category.name_ko().to_owned(),
                    r.status.name_ko().to_owned(),
                    won(r.gap),
                    reasons(&r.reasons),
                ]
            })
            .collect();
        blocks.push(table(
            vec![
                Column::new("순위", Align::Center, 1),
                Column::new("구분", Align::Left, 3),
                Column::new("상태", Align::Center, 2),
                Column::new("부족금액", Align::Right, 4),
                Column::new("사유", Align::Left, 6),
            ],
            rows,
        ));
    }

    blocks.push(Block::Heading("안내".to_owned()));
    blocks.push(Block::Paragraph(DISCLAIMER.to_owned()));

    let issued = kst(header.generated_at);
    let footer = format!("판정기준: 국민건강보험공단 일반건강검진 · 발행 {} (KST)", ymd_hm(issued));
    Document { title: TITLE.to_owned(), facts, blocks, footer }
}

const DISCLAIMER: &str = "이 리포트는 국민건강보험공단 일반건강검진 결과를 건강검진 실시기준의 판정기준에 \
     비추어 정리한 참고 자료이며, 의학적 진단이나 진료, 치료를 대신하지 않습니다. 경계나 질환의심으로 표시된 \
     항목은 의사와 상담하십시오. 보장 검토 우선순위는 보유 보장의 부족분과 검진 위험 요인에 따라 검토할 순서를 \
     제안할 뿐, 보험 가입 권유나 보험금 지급 여부에 대한 판단이 아닙니다.";

fn latest_table(latest: &Checkup, gender: Gender) -> Block {
    let rows = Measure::ALL
        .into_iter()
        .filter_map(|m| latest.value(m).map(|v| (m, v)))
        .map(|(m, v)| {
            vec![
                m.name_ko().to_owned(),
                one_decimal(v),
                m.unit().to_owned(),
                reference(m, gender).map_or_else(|| "-".to_owned(), |r| r.display()),
                judge(m, gender, v).map_or_else(|| "-".to_owned(), |j: Judgement| j.name_ko().to_owned()),
            ]
        })
        .collect();
    table(
        vec![
            Column::new("항목", Align::Left, 5),
            Column::new("결과", Align::Right, 2),
            Column::new("단위", Align::Center, 3),
            Column::new("참고치(정상)", Align::Center, 3),
            Column::new("판정", Align::Center, 2),
        ],
        rows,
    )
}

fn yearly_table(sorted: &[&Checkup]) -> Block {
    let value = |c: &Checkup, m: Measure| c.value(m).map_or_else(|| "-".to_owned(), one_decimal);
    let rows = sorted
        .iter()
        .map(|c| {
            let blood_pressure = match (c.value(Measure::SystolicBp), c.value(Measure::DiastolicBp)) {
                (None, None) => "-".to_owned(),
                (s, d) => format!(
                    "{}/{}",
                    s.map_or_else(|| "-".to_owned(), one_decimal),
                    d.map_or_else(|| "-".to_owned(), one_decimal)
                ),
            };
            let mut row = vec![format!("{}년", c.year), blood_pressure];
            row.extend(YEARLY.iter().map(|m| value(c, *m)));
            row
        })
        .collect();
    let mut columns = vec![Column::new("연도", Align::Center, 2), Column::new("혈압(mmHg)", Align::Center, 3)];
    columns.extend([
        Column::new("체질량지수", Align::Right, 2),
        Column::new("공복혈당", Align::Right, 2),
        Column::new("총콜레스테롤", Align::Right, 2),
        Column::new("γ-GTP", Align::Right, 2),
        Column::new("e-GFR", Align::Right, 2),
    ]);
    table(columns, rows)
}

/// Every row above has one cell per column, so [`Table::new`] cannot refuse it; a
/// refusal would still show as a paragraph rather than a panic.
fn table(columns: Vec<Column>, rows: Vec<Vec<String>>) -> Block {
    match Table::new(columns, rows) {
        Ok(t) => Block::Table(t),
        Err(e) => Block::Paragraph(e.to_string()),
    }
}

/// A value at one decimal place: `120.0`, `23.4`.
fn one_decimal(v: Decimal) -> String {
    let mut v = v.round_dp(1);
    v.rescale(1);
    v.to_string()
}

fn reasons(kinds: &[RiskKind]) -> String {
    if kinds.is_empty() {
        "보장 부족".to_owned()
    } else {
        kinds.iter().map(|k| k.name_ko()).collect::<Vec<_>>().join(", ")
    }
}

fn ymd_hm(at: OffsetDateTime) -> String {
    format!("{} {:02}:{:02}", ymd(at.date()), at.hour(), at.minute())
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};

    use super::*;
    use crate::funnel::coverage::{Category, CategorySummary, CoverageStatus, Won};
    use crate::funnel::medical::analyse_medical;

    fn d(tenths: i64) -> Decimal {
        Decimal::new(tenths, 1)
    }

    fn checkup(year: i32, systolic: i64, glucose: i64) -> Checkup {
        Checkup {
            year,
            date: time::Date::from_calendar_date(year, time::Month::May, 14).unwrap(),
            values: vec![
                (Measure::Height, d(1712)),
                (Measure::Weight, d(742)),
                (Measure::Bmi, d(253)),
                (Measure::SystolicBp, d(systolic * 10)),
                (Measure::DiastolicBp, d(860)),
                (Measure::FastingGlucose, d(glucose * 10)),
                (Measure::Hdl, d(520)),
                (Measure::Egfr, d(880)),
            ],
        }
    }

    fn summary() -> Vec<CategorySummary> {
        let s = |category, held, recommended| CategorySummary {
            category,
            held: Won(held),
            recommended: Won(recommended),
            status: CoverageStatus::of(Won(held), Won(recommended)),
        };
        vec![
            s(Category::Death, 100_000_000, 100_000_000),
            s(Category::Cancer, 0, 50_000_000),
            s(Category::Cerebrovascular, 10_000_000, 30_000_000),
            s(Category::Heart, 10_000_000, 30_000_000),
            s(Category::Dental, 9_000_000, 1_000_000),
        ]
    }

    fn header() -> ReportHeader<'static> {
        ReportHeader {
            masked_name: "홍*동",
            gender: Gender::Male,
            age: 41,
            analysis_id: Uuid::from_u128(1),
            coverage_analysis_id: Uuid::from_u128(2),
            // 23:30 UTC on the 2nd is the 3rd in Korea.
            analysed_at: datetime!(2026-12-02 23:30 UTC),
            generated_at: datetime!(2026-12-03 01:05 UTC),
        }
    }

    fn tables(doc: &Document) -> Vec<&Table> {
        doc.blocks.iter().filter_map(|b| if let Block::Table(t) = b { Some(t) } else { None }).collect()
    }

    fn paragraphs(doc: &Document) -> String {
        doc.blocks.iter().filter_map(|b| if let Block::Paragraph(p) = b { Some(p.as_str()) } else { None }).collect()
    }

    #[test]
    fn the_report_shows_the_latest_checkup_the_years_the_flags_and_the_ranking() {
        let checkups = [checkup(2026, 145, 104), checkup(2022, 118, 92), checkup(2024, 126, 98)];
        let analysis = analyse_medical(&summary(), &checkups, Gender::Male);
        let doc = document(&header(), &analysis, &checkups);
        assert_eq!(doc.title, "메디컬 보장분석 리포트");
        let fact = |k: &str| doc.facts.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(fact("대상자"), Some("홍*동"));
        assert_eq!(fact("성별/나이"), Some("남성 / 41세"));
        assert_eq!(fact("분석일시"), Some("2026-12-03 08:30 (KST)"));
        assert_eq!(fact("분석번호"), Some("00000000-0000-0000-0000-000000000001"));
        assert_eq!(fact("보장분석번호"), Some("00000000-0000-0000-0000-000000000002"));
        assert_eq!(fact("최근 검진"), Some("2026년"));
        assert_eq!(doc.footer, "판정기준: 국민건강보험공단 일반건강검진 · 발행 2026-12-03 10:05 (KST)");

        let t = tables(&doc);
        assert_eq!(t.len(), 4);
        let latest = t[0].rows();
        assert_eq!(latest.len(), 8);
        assert_eq!(latest[0], ["키", "171.2", "cm", "-", "-"]);
        assert_eq!(latest[3], ["수축기 혈압", "145.0", "mmHg", "120 미만", "질환의심"]);
        assert_eq!(latest[2], ["체질량지수", "25.3", "kg/m²", "18.5–24.9", "경계"]);
        assert_eq!(latest[6], ["HDL 콜레스테롤", "52.0", "mg/dL", "60 이상", "경계"]);
        let years: Vec<&str> = t[1].rows().iter().map(|r| r[0].as_str()).collect();
        assert_eq!(years, ["2022년", "2024년", "2026년"]);
        assert_eq!(t[1].rows()[2][1], "145.0/86.0");
        assert_eq!(t[1].rows()[2][4], "-", "no total cholesterol measured");

        let flags: Vec<&str> = t[2].rows().iter().map(|r| r[0].as_str()).collect();
        assert_eq!(flags, ["고혈압", "당뇨", "이상지질혈증", "비만"]);
        assert_eq!(t[2].rows()[0][2], "수축기 혈압 145.0 mmHg, 이완기 혈압 86.0 mmHg");

        let ranking = t[3].rows();
        assert_eq!(ranking[0][0], "1");
        assert!(ranking.iter().all(|r| r[1] != "치아"), "an excess is never recommended");
        let heart = ranking.iter().find(|r| r[1] == "심장").unwrap();
        assert_eq!(heart[3], "20,000,000원");
        assert_eq!(heart[4], "고혈압, 당뇨, 이상지질혈증, 비만");
        let cancer = ranking.iter().find(|r| r[1] == "암").unwrap();
        assert_eq!((cancer[2].as_str(), cancer[4].as_str()), ("부족", "보장 부족"));
        assert!(paragraphs(&doc).contains("의학적 진단이나 진료, 치료를 대신하지 않습니다"));
        assert_eq!(document(&header(), &analysis, &checkups), doc, "deterministic");
    }

    #[test]
    fn without_checkups_or_flags_the_report_says_so() {
        let analysis = analyse_medical(&[], &[], Gender::Female);
        let doc = document(&header(), &analysis, &[]);
        assert!(tables(&doc).is_empty());
        let text = paragraphs(&doc);
        assert!(text.contains("기록이 없습니다"));
        assert!(text.contains("위험 요인이 없습니다"));
        assert!(text.contains("보장 항목이 없습니다"));
        assert!(text.contains("의학적 진단"));
        assert!(doc.facts.contains(&("최근 검진".to_owned(), "없음".to_owned())));
    }

    #[test]
    fn amounts_and_values_are_formatted() {
        assert_eq!(won(Won(0)), "0원");
        assert_eq!(won(Won(1_234_000)), "1,234,000원");
        assert_eq!(one_decimal(Decimal::new(120, 0)), "120.0");
        assert_eq!(one_decimal(Decimal::new(2345, 2)), "23.4");
        assert_eq!(ymd(date!(2026 - 01 - 05)), "2026-01-05");
    }
}
