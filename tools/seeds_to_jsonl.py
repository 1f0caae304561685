#!/usr/bin/env python3
"""Wrap the seed articles (tests/fixtures/seeds/*.txt) as JSONL input messages.

    python3 tools/seeds_to_jsonl.py > tests/fixtures/articles.jsonl

The text is each file as published, unchanged; the publication dates are those of
tests/fixtures/seeds/README.md (three of the texts carry no date of their own). The seeds have
no recorded URL, so none is invented. Lines are written in publication order (then id), the
order a feed delivers them: 003, 004, 000, 001, 002.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "..", "tests", "fixtures", "seeds")

META = {
    "000_0e2bcae4c59b5ed8": ("Syrian Observatory for Human Rights", "en", "2021-02-26T00:00:00Z"),
    "001_04dd39891a8bc5e5": ("Syrian Observatory for Human Rights", "en", "2021-02-26T00:00:00Z"),
    "002_3c5fafdac8495e16": ("Syrian Observatory for Human Rights", "en", "2024-02-03T00:00:00Z"),
    "003_9bb6b0d54725a0ec": ("IranWire", "en", "2020-10-21T00:00:00Z"),
    "004_a4b6525e30d0a0c3": ("French outlet citing the OSDH", "fr", "2021-02-11T00:00:00Z"),
}

names = [n for n in os.listdir(SEEDS) if n.endswith(".txt")]
for name in sorted(names, key=lambda n: (META[n[:-4]][2], n)):
    stem = name[:-4]
    source, language, published_at = META[stem]
    with open(os.path.join(SEEDS, name), encoding="utf-8") as f:
        text = f.read()
    title = next((line.strip() for line in text.splitlines() if line.strip()), "")
    article = {
        "id": stem,
        "source": source,
        "language": language,
        "published_at": published_at,
        "title": title,
        "text": text,
    }
    sys.stdout.write(json.dumps(article, ensure_ascii=False) + "\n")
