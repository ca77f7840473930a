#!/usr/bin/env python3
"""Writes ROWS generated leads to PATH as the importer's CSV: Korean headers, unique
phones (010-5000-0000 upward), the 17 Korean regions in turn, and one bad region
("화성") in every 1,000 rows. Used by scripts/bench-import.sh and scripts/faults.sh.

Usage: gen-leads-csv.py PATH ROWS
"""
import sys

path, rows = sys.argv[1], int(sys.argv[2])
regions = ["서울", "부산", "대구", "인천", "광주", "대전", "울산", "세종", "경기", "강원", "충북", "충남", "전북", "전남", "경북", "경남", "제주"]
with open(path, "w", encoding="utf-8") as f:
    f.write("이름,연락처,지역,이메일,생년월일\n")
    for i in range(rows):
        region = "화성" if i % 1000 == 999 else regions[i % len(regions)]
        f.write(f"고객{i % 997},010-{5000 + i // 10000:04d}-{i % 10000:04d},{region},c{i}@example.com,19{50 + i % 50}-0{1 + i % 9}-1{i % 10}\n")
