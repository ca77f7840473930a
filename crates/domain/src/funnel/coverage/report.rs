//! The coverage report (보장분석 리포트) as a [`Document`]: what its PDF shows, built
//! from a stored [`CoverageReport`] by one pure function, [`document`].
//!
//! Invariants:
//! - the person appears only as the report's masked name; no birth date, phone or
//!   provider identifier is printed;
//! - the chart and the summary table have one entry per [`Category`](super::Category),
//!   in [`Category::ALL`](super::Category::ALL)'s order; the contracts table has one row
//!   per contract, in the report's order (lapsed and matured ones included, marked so);
//! - amounts are whole won with thousands separators and `원`; the chart is in 만원;
//! - dates are calendar dates in Korea (UTC+9), whatever the instant's offset;
//! - the same report and instant give the same document.

use time::OffsetDateTime;

use super::{ContractStatus, CoverageReport, Won};
use crate::funnel::document::{Align, Bar, BarChart, Block, Column, Document, Table, kst, thousands, ymd};

/// The report's title.
pub const TITLE: &str = "보장분석 리포트";
/// The bar chart's title.
pub const CHART_TITLE: &str = "보장금액 비교 (보유 vs 권장)";
/// Won per chart unit (만원).
const CHART_SCALE: u64 = 10_000;

/// The coverage report of `report` as a document, issued at `generated_at` (shown in
/// the footer; the analysis date is the report's own).
#[must_use]
pub fn document(report: &CoverageReport, generated_at: OffsetDateTime) -> Document {
    let analysis = &report.analysis;
    let facts = vec![
        ("대상자".to_owned(), report.masked_name.clone()),
        ("성별/나이".to_owned(), format!("{} / {}세", report.gender.name_ko(), analysis.age)),
        ("분석일".to_owned(), ymd(kst(report.created_at).date())),
        ("분석번호".to_owned(), report.id.to_string()),
        ("권장금액 기준".to_owned(), analysis.table_version.clone()),
        ("월 보험료 합계".to_owned(), won(analysis.monthly_premium_total)),
    ];

    let chart = BarChart {
        title: CHART_TITLE.to_owned(),
        series: ["보유".to_owned(), "권장".to_owned()],
        unit: "만원".to_owned(),
        scale: CHART_SCALE,
        bars: analysis
            .summary
            .iter()
            .map(|s| Bar { label: s.category.name_ko().to_owned(), values: [s.held.0, s.recommended.0] })
            .collect(),
    };

    let summary_rows = analysis
        .summary
        .iter()
        .map(|s| {
            vec![
                s.category.name_ko().to_owned(),
                won(s.held),
                won(s.recommended),
                format!("{} ({})", s.status.name_ko(), s.status.code()),
            ]
        })
        .collect();
    let summary = table(
        vec![
            Column::new("구분", Align::Left, 3),
            Column::new("보유", Align::Right, 4),
            Column::new("권장", Align::Right, 4),
            Column::new("상태", Align::Center, 3),
        ],
        summary_rows,
    );

    let contract_rows = report
        .contracts
        .iter()
        .map(|c| {
            vec![
                c.insurer.clone(),
                c.product.clone(),
                ymd(c.contract_date),
                contract_status_ko(c.status).to_owned(),
                won(c.monthly_premium),
            ]
        })
        .collect();
    let contracts = table(
        vec![
            Column::new("보험사", Align::Left, 4),
            Column::new("상품", Align::Left, 7),
            Column::new("계약일", Align::Center, 3),
            Column::new("상태", Align::Center, 2),
            Column::new("월 보험료", Align::Right, 3),
        ],
        contract_rows,
    );

    let blocks = vec![
        Block::BarChart(chart),
        Block::Heading("항목별 보장 현황".to_owned()),
        summary,
        Block::Heading(format!("보유 계약 ({}건)", report.contracts.len())),
        contracts,
        Block::Heading("안내".to_owned()),
        Block::Paragraph(disclaimer(&analysis.table_version)),
    ];

    let issued = kst(generated_at);
    let footer = format!(
        "권장금액 기준표 {} · 발행 {} {:02}:{:02} (KST)",
        analysis.table_version,
        ymd(issued.date()),
        issued.hour(),
        issued.minute()
    );
    Document { title: TITLE.to_owned(), facts, blocks, footer }
}

/// `1234000` won as `"1,234,000원"`.
#[must_use]
pub fn won(amount: Won) -> String {
    format!("{}원", thousands(amount.0))
}

/// Every row is built with one cell per column above, so [`Table::new`] cannot refuse
/// it; a refusal would still show as a paragraph rather than a panic.
fn table(columns: Vec<Column>, rows: Vec<Vec<String>>) -> Block {
    match Table::new(columns, rows) {
        Ok(t) => Block::Table(t),
        Err(e) => Block::Paragraph(e.to_string()),
    }
}

fn disclaimer(table_version: &str) -> String {
    format!(
        "이 리포트의 권장금액은 연령대와 성별에 따른 일반적인 예시(권장금액 기준표 {table_version})이며, \
         개인의 소득, 부채, 건강 상태를 반영한 보험 상담이나 가입 권유가 아닙니다. 보유 금액은 보험사가 \
         제공한 계약 가운데 유지 중인 계약의 보장금액을 항목별로 더한 값이고, 실효되거나 만기된 계약은 \
         더하지 않습니다. 실제 보장 여부와 지급 조건은 각 계약의 약관을 따르므로, 계약을 바꾸기 전에는 \
         보험사나 자격을 갖춘 설계사와 상의하십시오."
    )
}

fn contract_status_ko(s: ContractStatus) -> &'static str {
    match s {
        ContractStatus::Active => "유지",
        ContractStatus::Lapsed => "실효",
        ContractStatus::Matured => "만기",
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime};
    use uuid::Uuid;

    use super::*;
    use crate::funnel::coverage::{
        Category, Contract, Coverage, CoverageStatus, RecommendationBand, RecommendationTable, analyse,
    };
    use crate::funnel::identity::Gender;

    fn report(contracts: usize) -> CoverageReport {
        let table = RecommendationTable {
            version: "2026.12".to_owned(),
            bands: vec![RecommendationBand {
                age_from: 20,
                age_to: 59,
                gender: Gender::Female,
                amounts: Category::ALL.iter().map(|c| (*c, Won(30_000_000))).collect(),
            }],
        };
        let contracts: Vec<Contract> = (0..contracts)
            .map(|i| Contract {
                insurer: format!("보험사{i}"),
                product: "건강보험".to_owned(),
                contract_date: date!(2020 - 01 - 15),
                status: if i % 5 == 4 { ContractStatus::Lapsed } else { ContractStatus::Active },
                monthly_premium: Won(45_300),
                coverages: vec![Coverage { category: Category::ALL[i % 10], amount: Won(10_000_000) }],
            })
            .collect();
        let analysis =
            analyse(&contracts, date!(1988 - 06 - 01), Gender::Female, date!(2026 - 12 - 03), &table).unwrap();
        CoverageReport {
            id: Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0001),
            org_id: Uuid::from_u128(2),
            verification_id: Uuid::from_u128(3),
            masked_name: "김*영".to_owned(),
            gender: Gender::Female,
            contracts,
            analysis,
            consents: vec![],
            // 23:30 UTC on the 2nd is the 3rd in Korea.
            created_at: datetime!(2026-12-02 23:30 UTC),
        }
    }

    const AT: OffsetDateTime = datetime!(2026-12-03 01:05 UTC);

    fn tables(d: &Document) -> Vec<&Table> {
        d.blocks.iter().filter_map(|b| if let Block::Table(t) = b { Some(t) } else { None }).collect()
    }

    fn all_text(d: &Document) -> String {
        let mut s = format!("{}\n{}\n", d.title, d.footer);
        for (k, v) in &d.facts {
            s += &format!("{k} {v}\n");
        }
        for b in &d.blocks {
            match b {
                Block::Heading(t) | Block::Paragraph(t) => s += t,
                Block::Table(t) => {
                    for c in t.columns() {
                        s += &c.title;
                    }
                    for r in t.rows() {
                        s += &r.join(" ");
                    }
                }
                Block::BarChart(c) => {
                    s += &c.title;
                    for bar in &c.bars {
                        s += &bar.label;
                    }
                }
            }
            s.push('\n');
        }
        s
    }

    #[test]
    fn every_category_is_named_in_the_chart_and_the_summary() {
        let d = document(&report(12), AT);
        let Some(Block::BarChart(chart)) = d.blocks.first() else { panic!("the chart comes first") };
        let labels: Vec<&str> = chart.bars.iter().map(|b| b.label.as_str()).collect();
        let names: Vec<&str> = Category::ALL.iter().map(|c| c.name_ko()).collect();
        assert_eq!(labels, names);
        let summary = tables(&d)[0];
        let firsts: Vec<&str> = summary.rows().iter().map(|r| r[0].as_str()).collect();
        assert_eq!(firsts, names);
        for name in ["사망", "암", "뇌혈관", "심장", "실손의료비", "입원", "수술", "후유장해", "치아", "배상책임"]
        {
            assert!(names.contains(&name), "{name}");
        }
    }

    #[test]
    fn the_person_appears_masked_and_the_facts_are_in_korean_time() {
        let d = document(&report(3), AT);
        assert_eq!(d.title, "보장분석 리포트");
        let fact = |k: &str| d.facts.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(fact("대상자"), Some("김*영"));
        assert_eq!(fact("성별/나이"), Some("여성 / 38세"));
        assert_eq!(fact("분석일"), Some("2026-12-03"));
        assert_eq!(fact("분석번호"), Some("01930000-0000-7000-8000-000000000001"));
        assert_eq!(fact("권장금액 기준"), Some("2026.12"));
        assert_eq!(fact("월 보험료 합계"), Some("135,900원"));
        assert_eq!(d.footer, "권장금액 기준표 2026.12 · 발행 2026-12-03 10:05 (KST)");
    }

    #[test]
    fn the_tables_have_a_row_per_category_and_per_contract() {
        let d = document(&report(60), AT);
        let t = tables(&d);
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].rows().len(), 10);
        assert_eq!(t[1].rows().len(), 60);
        assert_eq!(t[1].rows()[0], ["보험사0", "건강보험", "2020-01-15", "유지", "45,300원"]);
        assert_eq!(t[1].rows()[4][3], "실효");
        // Six contracts in force (0, 10, .., 50) hold 10,000,000 each in Death: twice the
        // recommendation is still ENOUGH.
        assert_eq!(t[0].rows()[0], ["사망", "60,000,000원", "30,000,000원", "적정 (ENOUGH)"]);
        assert!(d.blocks.contains(&Block::Heading("보유 계약 (60건)".to_owned())));
    }

    #[test]
    fn statuses_show_their_korean_name_and_code() {
        let d = document(&report(1), AT);
        assert_eq!(tables(&d)[0].rows()[0][3], "부족 (LACK)");
        let d = document(&report(70), AT);
        assert_eq!(tables(&d)[0].rows()[0][3], "과다 (EXCESS)");
        assert_eq!(CoverageStatus::Enough.name_ko(), "적정");
    }

    #[test]
    fn the_chart_is_in_manwon_with_held_then_recommended() {
        let d = document(&report(1), AT);
        let Some(Block::BarChart(chart)) = d.blocks.first() else { panic!("chart") };
        assert_eq!(chart.title, "보장금액 비교 (보유 vs 권장)");
        assert_eq!(chart.series, ["보유".to_owned(), "권장".to_owned()]);
        assert_eq!((chart.unit.as_str(), chart.scale), ("만원", 10_000));
        assert_eq!(chart.bars[0].values, [10_000_000, 30_000_000]);
    }

    #[test]
    fn the_document_says_the_recommendations_are_not_advice() {
        let text = all_text(&document(&report(2), AT));
        assert!(text.contains("예시"));
        assert!(text.contains("가입 권유가 아닙니다"));
    }

    #[test]
    fn the_same_report_gives_the_same_document() {
        assert_eq!(document(&report(20), AT), document(&report(20), AT));
    }

    #[test]
    fn won_groups_thousands() {
        assert_eq!(won(Won(0)), "0원");
        assert_eq!(won(Won(1_234_000)), "1,234,000원");
    }
}
