#!/usr/bin/env python3
"""Derive lexwire's shipped gazetteer tables from public reference data.

Run by a maintainer when the reference data changes, never by the build or the tests:

    python3 tools/derive_gazetteer.py --data PATH/TO/shared/data --out dictionaries

PATH/TO/shared/data holds `geonames/SY_IQ_cities500.tsv` (GeoNames cities500, CC BY 4.0) and
`ocha-syria-admin/syr_admin2.csv`, `syr_admin3.csv` (OCHA COD-AB). What it writes:

- gazetteer/geonames-SY-IQ-cities500.tsv  the GeoNames extract, unchanged (GeoNames dump format)
- gazetteer/admin2-SY.tsv                 Syrian districts: p-code, names, governorate, centroid
- gazetteer/admin3-SY.tsv                 Syrian sub-districts: p-code, names, district, centroid
- common-words.txt                        (with --common-words) frequent English and French words,
                                          from the `wordfreq` package, used to flag place aliases
                                          that are also ordinary words

OCHA's governorate p-codes (SY09) are translated to GeoNames admin1 codes (SY.07) so that every
place in lexwire uses one admin1 scheme.
"""
import argparse
import csv
import os
import shutil
import unicodedata

# OCHA governorate p-code -> GeoNames admin1 code (admin1CodesASCII.txt, country SY).
OCHA_TO_GEONAMES_ADMIN1 = {
    "SY01": "SY.13",  # Damascus
    "SY02": "SY.09",  # Aleppo
    "SY03": "SY.08",  # Rural Damascus
    "SY04": "SY.11",  # Homs
    "SY05": "SY.10",  # Hama
    "SY06": "SY.02",  # Lattakia
    "SY07": "SY.12",  # Idleb
    "SY08": "SY.01",  # Al-Hasakeh
    "SY09": "SY.07",  # Deir-ez-Zor
    "SY10": "SY.14",  # Tartous
    "SY11": "SY.04",  # Ar-Raqqa
    "SY12": "SY.06",  # Dar'a
    "SY13": "SY.05",  # As-Sweida
    "SY14": "SY.03",  # Quneitra
}


def rounded(value):
    return f"{float(value):.5f}"


def write_tsv(path, header, rows):
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write("# " + "\t".join(header) + "\n")
        for row in sorted(rows):
            out.write("\t".join(row) + "\n")


def derive_admin2(src, dst):
    rows = {}
    with open(src, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows[r["adm2_pcode"]] = (
                r["adm2_pcode"],
                r["adm2_name"].strip(),
                r["adm2_name1"].strip(),
                OCHA_TO_GEONAMES_ADMIN1[r["adm1_pcode"]],
                rounded(r["center_lat"]),
                rounded(r["center_lon"]),
            )
    write_tsv(dst, ["pcode", "name", "name_ar", "admin1", "lat", "lon"], rows.values())
    return len(rows)


def derive_admin3(src, dst):
    rows = {}
    with open(src, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            rows[r["adm3_pcode"]] = (
                r["adm3_pcode"],
                r["adm3_name"].strip(),
                r["adm3_name1"].strip(),
                r["adm2_pcode"],
                OCHA_TO_GEONAMES_ADMIN1[r["adm1_pcode"]],
                rounded(r["center_lat"]),
                rounded(r["center_lon"]),
            )
    write_tsv(dst, ["pcode", "name", "name_ar", "admin2", "admin1", "lat", "lon"], rows.values())
    return len(rows)


def fold(word):
    decomposed = unicodedata.normalize("NFD", word.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def derive_common_words(dst, per_language):
    import wordfreq  # only needed for this output

    words = set()
    for lang in ("en", "fr"):
        for w in wordfreq.top_n_list(lang, per_language):
            w = fold(w)
            if len(w) >= 3 and w.isalpha():
                words.add(w)
    with open(dst, "w", encoding="utf-8") as out:
        out.write(
            f"# The {per_language} most frequent English and French words (wordfreq, "
            "lowercased, diacritics removed, 3+ letters).\n"
            "# A gazetteer alias made only of these words is flagged ambiguous: it needs context.\n"
        )
        for w in sorted(words):
            out.write(w + "\n")
    return len(words)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with geonames/ and ocha-syria-admin/")
    ap.add_argument("--out", required=True, help="the project's dictionaries/ folder")
    ap.add_argument("--common-words", type=int, metavar="N", help="also write the top N words per language")
    args = ap.parse_args()

    gaz = os.path.join(args.out, "gazetteer")
    os.makedirs(gaz, exist_ok=True)
    shutil.copyfile(
        os.path.join(args.data, "geonames", "SY_IQ_cities500.tsv"),
        os.path.join(gaz, "geonames-SY-IQ-cities500.tsv"),
    )
    ocha = os.path.join(args.data, "ocha-syria-admin")
    n2 = derive_admin2(os.path.join(ocha, "syr_admin2.csv"), os.path.join(gaz, "admin2-SY.tsv"))
    n3 = derive_admin3(os.path.join(ocha, "syr_admin3.csv"), os.path.join(gaz, "admin3-SY.tsv"))
    print(f"admin2: {n2} districts, admin3: {n3} sub-districts")
    if args.common_words:
        n = derive_common_words(os.path.join(args.out, "common-words.txt"), args.common_words)
        print(f"common words: {n}")


if __name__ == "__main__":
    main()
