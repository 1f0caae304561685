#!/usr/bin/env python3
"""Derive lexwire's shipped gazetteer tables from public reference data.

Run by a maintainer when the reference data changes, never by the build or the tests:

    python3 tools/derive_gazetteer.py --data PATH/TO/shared/data --out dictionaries

PATH/TO/shared/data holds `geonames/SY_IQ_cities500.tsv` (GeoNames cities500, CC BY 4.0),
`ocha-syria-admin/syr_admin2.csv`, `syr_admin3.csv`, `syr_adminpoints.csv` (OCHA COD-AB) and
`syrianarchive-locations.json` (Syrian Archive, 2015). It needs the `wordfreq` package
(`pip install wordfreq`). What it writes:

- gazetteer/geonames-SY-IQ-cities500.tsv  the GeoNames extract, unchanged (GeoNames dump format)
- gazetteer/admin2-SY.tsv                 Syrian districts: p-code, names, governorate, centroid
- gazetteer/admin3-SY.tsv                 Syrian sub-districts: p-code, names, district, centroid
- gazetteer/syrianarchive-SY.tsv          Syrian Archive places the other tables lack (GeoNames
                                          dump format, ids "sa:<Syrian Archive id>")
- common-words.txt                        (with --common-words) frequent English and French words,
                                          from the `wordfreq` package, used to flag place aliases
                                          that are also ordinary words

OCHA's governorate p-codes (SY09) are translated to GeoNames admin1 codes (SY.07) so that every
place in lexwire uses one admin1 scheme.

OCHA's admin points (`syr_adminpoints.csv`) are the label points of the country, governorates,
districts and sub-districts: the tool checks that each is already in the gazetteer (same p-code,
names and point as `admin1.tsv`, `admin2-SY.tsv`, `admin3-SY.tsv`) and prints any that is not.
They are not towns, so none becomes a point place.

Syrian Archive rows become places after these steps, each skipped row or dropped name printed
with its reason:
- coordinates parsed (decimal, decimal with N/E, or degrees-minutes-seconds); a row without a
  point inside Syria's bounding box is skipped with a warning;
- rows that are sub-districts ("... nahiyah") or districts ("... mantiqah") are skipped: the
  gazetteer has OCHA's;
- the governorate is the row's region's ("DAMASCUS" split by hand between the city and Rural
  Damascus), unless the point is 20+ km from every known place of that region and nearer one of
  another (the region is wrong for some rows); the district is the OCHA district of the nearest
  sub-district centroid of that governorate, the rule the loader applies to GeoNames places;
- the kind comes from the English name (mosque, street, square, bridge, camp, checkpoint, "Jabal
  ...", "Wadi ..."), else a neighbourhood (Arabic "حي ...", or within a few km of a city centre)
  or a village;
- names: the English one; the Arabic one, and without its type word ("حي السكري", "السكري"),
  unless it does not transliterate to the English one (a source error, listed in WRONG_ARABIC
  when found by reading), names a site at the place ("طريق دورين", the road to Dorrin), is made of
  frequent Arabic words ("المدينة", "صلاح الدين"; wordfreq), or is the Arabic name of another
  place. The GeoNames format carries no ambiguity flag, so a name that would need one is left out
  (English names that are ordinary English or French words or persons' names are still flagged
  by the loader from common-words.txt and person-names.txt);
- a row is a duplicate, and skipped, when its English or Arabic name matches a GeoNames, overlay
  or earlier Syrian Archive place within 10 km (5 km for a looser consonant match);
- a row is skipped when its English name is under 4 letters, is a person's name or an ordinary
  Arabic word that names a neighbourhood in every city (ORDINARY_NAMES, found by reading the new
  tags in the FA-KES corpus), or is the name of an administrative area or a populated GeoNames
  place elsewhere (this point, ranked before areas, would take that name from it).
"""
import argparse
import csv
import difflib
import json
import math
import os
import re
import shutil
import sys
import tomllib
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


# --- OCHA admin points ---------------------------------------------------------------------------


def read_table(path):
    """The rows of one of the derived TSV tables (header comments skipped)."""
    with open(path, encoding="utf-8") as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip() and not line.startswith("#")]


def check_admin_points(src, gaz):
    """Checks that every OCHA admin point is already in the gazetteer's admin tables; returns
    (points, already there, not there)."""
    known = {}
    for row in read_table(os.path.join(gaz, "admin1.tsv")):
        known[row[0]] = ({row[1], *row[2].split("|")}, float(row[3]), float(row[4]))
    for name, name_col in (("admin2-SY.tsv", 1), ("admin3-SY.tsv", 1)):
        for row in read_table(os.path.join(gaz, name)):
            known[row[0]] = ({row[name_col], row[name_col + 1]}, float(row[-2]), float(row[-1]))
    total, missing = 0, []  # the country is the overlay's "Syria"
    with open(src, encoding="utf-8") as f:
        for r in csv.DictReader(f):
            total += 1
            level = r["admin_leve"]
            if level == "0":
                continue
            pcode = r[f"adm{level}_pcode"]
            code = OCHA_TO_GEONAMES_ADMIN1[pcode] if level == "1" else pcode
            names, lat, lon = known.get(code, (set(), 0.0, 0.0))
            same_point = km(lat, lon, float(r["y_coord"]), float(r["x_coord"])) < 0.5
            folded = {"".join(tokens(n)) for n in names}
            same_names = all("".join(tokens(r[c])) in folded for c in ("name", "name1"))
            if not (same_names and same_point):
                missing.append(f"{pcode} {r['name']} {r['name1']}")
    for m in missing:
        print(f"  OCHA admin point not in the admin tables: {m}", file=sys.stderr)
    return total, total - len(missing), len(missing)


# --- Syrian Archive ------------------------------------------------------------------------------

# Syria's bounding box, with a margin of about a kilometre.
SYRIA_BOX = (32.30, 37.33, 35.70, 42.39)

# The Syrian Archive's regions -> the GeoNames admin1 codes they may hold. "DAMASCUS" covers the
# city and Rural Damascus; "QUINETRA" also labels the places of Raqqa (a source error, which the
# distance check below catches).
REGIONS = {
    "ALEPPO": ["SY.09"],
    "DAMASCUS": ["SY.13", "SY.08"],
    "DARAA": ["SY.06"],
    "DEIR EZZOR": ["SY.07"],
    "HAMA": ["SY.10"],
    "HASAKAH": ["SY.01"],
    "HOMS": ["SY.11"],
    "IDLIB": ["SY.12"],
    "LATTAKIA": ["SY.02"],
    "QUINETRA": ["SY.03"],
    "SUWAYDA": ["SY.05"],
    "TARTOUS": ["SY.14"],
}

# The region "DAMASCUS" mixes the city (SY.13) and Rural Damascus (SY.08), whose boundary no
# distance rule draws (Jobar and Qaboun are the city, Jaramana nearer the centre is not): these
# rows are the city's neighbourhoods and sites; the region's other rows are Rural Damascus.
DAMASCUS_CITY = {170, 171, 173, 174, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188}

# A row whose nearest place of its region's governorates is farther than this, while a place of
# another governorate is nearer, takes the governorate of its coordinates.
REGION_TRUST_KM = 20.0

# Kinds read from the English name's words and the Arabic name's first word:
# (feature class, feature code, English words, Arabic first words).
SPOT_KINDS = [
    ("S", "MSQE", {"mosque"}, {"جامع", "مسجد"}),
    ("S", "CH", {"church"}, {"كنيسه"}),
    ("S", "PRN", {"prison"}, {"سجن"}),
    ("S", "AIRB", {"airbase", "airport"}, {"مطار"}),
    ("S", "CMPRF", {"camp"}, {"مخيم"}),
    ("S", "BDG", {"bridge"}, {"جسر"}),
    ("S", "MKT", {"souq", "market"}, {"سوق"}),
    ("S", "SQR", {"square", "sq", "roundabout"}, {"ساحه", "دوار"}),
    ("S", "CKPT", {"checkpoint", "hajez"}, {"حاجز"}),
    ("S", "BLDG", {"barracks", "academy", "uni", "university", "hotel"}, {"فندق", "الكليه", "الجامعه"}),
    ("L", "ST", {"street", "st"}, {"شارع", "طريق"}),
    ("T", "MT", {"jabal"}, {"جبل"}),
    ("T", "VAL", {"wadi"}, {"وادي"}),
]
ADMIN_WORDS = {"nahiyah": "admin3", "najiyah": "admin3", "mantiqah": "admin2"}
# Arabic first words that say what the place is, not what it is called: the name without them is
# an alias too. Other kind words (جامع, شارع...) are part of the name.
ARABIC_TYPE_PREFIXES = {"حي", "قريه", "بلده", "مدينه", "ضاحيه", "ناحيه", "ضيعه", "ضيع"}
# Arabic words after a name that OCHA-style tables add ("the town", "the suburb").
ARABIC_TYPE_SUFFIXES = {"البلد", "الضاحيه"}
NEIGHBOURHOOD_PREFIXES = {"حي", "ضاحيه"}
LEADING_KIND_WORDS = {"jabal", "wadi"}

# Cities whose Syrian Archive places within this many km of the centre are neighbourhoods
# (PPLX), not villages: GeoNames population -> radius.
CITY_RADII = [(1_000_000, 9.0), (300_000, 6.0), (100_000, 4.0)]

ARTICLES = {"al", "el", "ad", "adh", "ar", "as", "ash", "at", "ath", "az", "an", "ed", "er", "es", "et", "ez", "en"}
DEDUP_KM = 10.0
DEDUP_LOOSE_KM = 5.0
# A name of an administrative area or a populated GeoNames place this far away is another place.
ELSEWHERE_KM = 20.0
MIN_LATIN_LETTERS = 4
# Arabic names of one word among the ARABIC_COMMON_WORDS most frequent, or of several words all
# among the ARABIC_VERY_COMMON most frequent, are ordinary words ("المدينة", "صلاح الدين").
ARABIC_COMMON_WORDS = 10000
ARABIC_VERY_COMMON = 3000
# Below this similarity of consonant skeletons, an Arabic name is not the English one.
MIN_SKELETON_SIMILARITY = 0.5

# Errors in the source found by reading the rows that the skeleton check flags: the Arabic name
# of these rows names another place, so it is dropped (the English name is kept).
WRONG_ARABIC = {
    23: "Central Prison (Aleppo): the Arabic is the neighbourhood of al-Bayada",
    32: "Jalloum: the Arabic is the Great Mosque of Aleppo",
    53: "Meridian: the Arabic is the Dedeman hotel",
    94: "Amarnah: the Arabic is Jarabulus",
    109: "Ghouz: the Arabic is another name",
    494: "Dhaba'ah: the Arabic is al-Dumayna al-Gharbiya",
    651: "ar-Rami: the Arabic is 'Idlib countryside Rami'",
    734: "Tijar Souj: the Arabic is Saif al-Dawla street",
}
# Rows left out after reading how the names fare in news text (the FA-KES corpus): the name is
# mostly a person's ("Observatory director Rami Abdel Rahman", "Interior Minister Mohammed
# Shaar"), or an ordinary Arabic word that names a neighbourhood in every city ("al-Jadideh",
# "al-Sabil", "al-Qusour"), so that the one place listed here would be tagged for all of them.
ORDINARY_NAMES = {
    4: "Ansari: a family name", 5: "Aqabeh: 'the pass', also Aqaba", 49: "Mashad: 'the shrine'",
    56: "Mohafaza: 'the governorate'", 63: "Rasafeh: also Resafa (Raqqa) and Rusafa (Baghdad)",
    66: "Sabil: 'the fountain'", 71: "Sayed Ali: a person", 74: "Sha'ar: a family name",
    75: "Sheikh Fares: a person", 97: "Ayoun: 'the springs'", 169: "Ashekh Saeed: a person",
    180: "Tishreen: a month, also the Tishreen dam and university", 259: "Dahiya Gharbiyah: 'the western suburb'",
    261: "Matar: 'airport', a family name", 262: "Qusour: 'the palaces'", 304: "Taybah: a village in every governorate",
    306: "Al-Sinaa: 'the industrial quarter'", 330: "Al-Madena: 'the city'", 331: "Nasr: 'victory', a name",
    332: "Shamaliyeh: 'northern'", 333: "Sharqiyah: 'eastern'", 345: "Arba'een: 'forty'",
    370: "Jadideh: 'the new'", 383: "Karameh: 'dignity'", 384: "Karayam: 'the generous'",
    393: "Massoud: a name", 414: "Shari'ah: 'sharia'", 492: "Abel: a name", 502: "Muharram: a month, a name",
    517: "Al-Kussur: 'the palaces'", 527: "Adwan: a name", 651: "ar-Rami: a name", 676: "Maratin: 'twice'",
    691: "Rami: a name", 692: "Rayan: a name", 693: "Rusafa: also Rusafa (Baghdad)", 700: "Sheikh Yusef: a person",
    722: "Ali Jamal: a person",
}
# Rows whose English name is a translation: their Arabic is right although the skeletons differ.
TRANSLATED = {55, 84, 264, 309, 473, 479, 505}

ARABIC_MARKS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0640]")
# Direction marks and other invisible characters some rows carry.
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ی": "ي", "ک": "ك"})


def km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 6371.0 * 2 * math.atan2(math.sqrt(a), math.sqrt(1 - a))


def tokens(text):
    """Close to lexwire's normalization: lowercase, no diacritics or harakat, alef forms unified,
    every character that is not a letter or digit a separator."""
    t = unicodedata.normalize("NFD", text)
    t = "".join(c for c in t if not unicodedata.combining(c)).lower()
    t = ARABIC_MARKS.sub("", t).translate(ARABIC_FOLD)
    return re.sub(r"[\W_]+", " ", t).split()


def is_arabic(text):
    return any("\u0600" <= c <= "\u06ff" for c in text)


def latin_key(name):
    """A Latin name without articles, kind words and separators: "al-Sukkari" -> "sukkari"."""
    words = [t for t in tokens(name) if t not in ARTICLES and t not in ADMIN_WORDS]
    return re.sub("([aeiou])h$", r"\1", "".join(words))  # "Rabī‘ah" and "Rabia"


def arabic_key(name):
    """An Arabic name without type words and articles: "حي السكري" -> "سكري"."""
    words = [t for t in tokens(name) if t not in ARABIC_TYPE_PREFIXES and t not in ARABIC_TYPE_SUFFIXES]
    return "".join(w[2:] if w.startswith("ال") and len(w) > 3 else w for w in words)


LATIN_CLASSES = {
    "b": "B", "p": "B", "t": "T", "d": "D", "z": "D", "s": "S", "k": "K", "q": "K", "c": "K", "g": "J",
    "j": "J", "h": "H", "l": "L", "m": "M", "n": "N", "r": "R", "f": "F", "v": "F", "x": "KS",
}
ARABIC_CLASSES = {
    "ب": "B", "ت": "T", "ث": "T", "ج": "J", "ح": "H", "خ": "X", "د": "D", "ذ": "D", "ر": "R", "ز": "D",
    "س": "S", "ش": "S", "ص": "S", "ض": "D", "ط": "T", "ظ": "D", "غ": "G", "ف": "F", "ق": "K", "ك": "K",
    "ل": "L", "م": "M", "ن": "N", "ه": "H",
}
SPOT_WORDS = set().union(*(k[2] for k in SPOT_KINDS))
SPOT_ARABIC = set().union(*(k[3] for k in SPOT_KINDS))


def latin_skeleton(name):
    """The consonants of a Latin name in broad classes, articles and kind words dropped, doubles
    collapsed: "Maret Misrin" and "Ma'arrat Misrin" are both "MRTMSRN"."""
    out = []
    for t in tokens(name):
        if t in ARTICLES or t in ADMIN_WORDS or t in SPOT_WORDS:
            continue
        for a, b in (("sh", "S"), ("ch", "S"), ("kh", "X"), ("gh", "G"), ("th", "T"), ("dh", "D"), ("ph", "F")):
            t = t.replace(a, b)
        out.append(re.sub("H$", "", "".join(LATIN_CLASSES.get(c, c if c in "SXGTDF" else "") for c in t)))
    return re.sub(r"(.)\1+", r"\1", "".join(out))


def arabic_skeleton(name):
    out = []
    for t in tokens(name):
        if t in ARABIC_TYPE_PREFIXES or t in ARABIC_TYPE_SUFFIXES or t in SPOT_ARABIC:
            continue
        if t.startswith("ال") and len(t) > 3:
            t = t[2:]
        out.append(re.sub("H$", "", "".join(ARABIC_CLASSES.get(c, "") for c in t)))
    return re.sub(r"(.)\1+", r"\1", "".join(out))


def similarity(a, b):
    return difflib.SequenceMatcher(None, a, b).ratio()


def parse_coordinates(text):
    """(lat, lon) from "36.19, 37.16", "36.6075N 37.111E" or "36°11'19"N 37°6'8"E"; None if the
    text is none of these."""
    t = INVISIBLE.sub("", text.replace("\xa0", " ")).strip()
    num = r"(\d+(?:\.\d+)?)"
    m = re.fullmatch(num + r"\s*,?\s*" + num, t)
    if m and ("," in t or " " in t):
        return float(m[1]), float(m[2])
    m = re.fullmatch(num + r"\s*([NS])\s*,?\s*" + num + r"\s*([EW])", t)
    if m:
        return float(m[1]) * (1 if m[2] == "N" else -1), float(m[3]) * (1 if m[4] == "E" else -1)
    dms = r"(\d+)\s*°\s*(?:(\d+(?:\.\d+)?)\s*['′]\s*)?(?:(\d+(?:\.\d+)?)\s*[\"″]\s*)?([NSEW])"
    m = re.fullmatch(dms + r"\s*,?\s*" + dms, t)
    if m and m[4] in "NS" and m[8] in "EW":
        values = []
        for deg, minutes, seconds, hemi in (m.groups()[:4], m.groups()[4:]):
            v = int(deg) + float(minutes or 0) / 60 + float(seconds or 0) / 3600
            values.append(-v if hemi in "SW" else v)
        return values[0], values[1]
    return None


def clean_latin(name):
    name = " ".join(INVISIBLE.sub("", name).replace(",", " ").split())
    if name.isupper():
        name = name.title()  # "ALEPPO", "Ar-RAQQAH"
    elif name[:1].islower() and not any(name.lower().startswith(a + "-") for a in ARTICLES):
        name = name[:1].upper() + name[1:]  # "jasim", "obin"
    return name


def clean_arabic(name):
    name = INVISIBLE.sub("", name).replace(",", " ").replace("ـ", "")
    return " ".join(name.strip(" -").split())


class Place:
    """A place already in the gazetteer, or a Syrian Archive place accepted so far."""

    def __init__(self, pid, names, lat, lon, admin1, population=0, level="point"):
        self.id, self.lat, self.lon, self.admin1, self.population, self.level = (
            pid, lat, lon, admin1, population, level)
        self.latin_keys = {latin_key(n) for n in names if not is_arabic(n)} - {""}
        self.arabic_keys = {arabic_key(n) for n in names if is_arabic(n)} - {""}
        self.skeletons = {s for n in names if not is_arabic(n) for s in [latin_skeleton(n)] if len(s) >= 3}


def known_places(gaz):
    """The points and administrative areas the gazetteer already holds, from the files the tool
    wrote and the overlay."""
    points, areas = [], []
    extra_names = {}
    with open(os.path.join(gaz, "overlay.toml"), "rb") as f:
        overlay = tomllib.load(f)
    for p in overlay.get("place", []):
        names = [n for lang in ("en", "fr", "ar") for n in p.get("aliases", {}).get(lang, [])]
        if "extends" in p:
            extra_names.setdefault(p["extends"], []).extend(names)
        elif "lat" in p and not p.get("feature_code", "").startswith("PCL"):
            names.append(p["name"])
            points.append(Place(p["id"], names, p["lat"], p["lon"], p.get("admin1"), p.get("population", 0)))
    for row in read_table(os.path.join(gaz, "geonames-SY-IQ-cities500.tsv")):
        pid = f"geonames:{row[0]}"
        names = [row[1], row[2], *row[3].split(","), *extra_names.get(pid, [])]
        admin1 = f"{row[8]}.{row[10]}" if row[10] else None
        population = int(row[14] or 0)
        points.append(Place(pid, names, float(row[4]), float(row[5]), admin1, population))
    for row in read_table(os.path.join(gaz, "admin1.tsv")):
        areas.append(Place(f"admin1:{row[0]}", [row[1], *row[2].split("|")], float(row[3]), float(row[4]), row[0],
                           level="admin1"))
    for row in read_table(os.path.join(gaz, "admin2-SY.tsv")):
        areas.append(Place(f"ocha:{row[0]}", [row[1], row[2]], float(row[4]), float(row[5]), row[3], level="admin2"))
    sub_districts = []
    for row in read_table(os.path.join(gaz, "admin3-SY.tsv")):
        area = Place(f"ocha:{row[0]}", [row[1], row[2]], float(row[5]), float(row[6]), row[4], level="admin3")
        area.admin2 = row[3]
        areas.append(area)
        sub_districts.append(area)
    return points, areas, sub_districts


def arabic_common_words():
    """The most frequent Arabic words (wordfreq), normalized, each with its rank; also without the
    article."""
    import wordfreq  # pip install wordfreq

    ranks = {}
    for rank, w in enumerate(wordfreq.top_n_list("ar", ARABIC_COMMON_WORDS)):
        key = "".join(tokens(w))
        for k in (key, key[2:] if key.startswith("ال") and len(key) > 3 else None):
            if k and k not in ranks:
                ranks[k] = rank
    return ranks


def kind_of(name, arabic):
    """(feature class, feature code, admin level or None) of a row, from its English name (the
    Arabic one only tells a neighbourhood, "حي ..."); "Jabal" and "Wadi" count as the first word
    only ("Karam al-Jabal" is a neighbourhood)."""
    words = tokens(name)
    for word, level in ADMIN_WORDS.items():
        if word in words:
            return "A", "ADM3" if level == "admin3" else "ADM2", level
    for fclass, fcode, en, _ in SPOT_KINDS:
        if set(words) & en - LEADING_KIND_WORDS or words[:1] and words[0] in en & LEADING_KIND_WORDS:
            return fclass, fcode, None
    if (tokens(arabic) or [""])[0] in NEIGHBOURHOOD_PREFIXES:
        return "P", "PPLX", None
    return "P", "PPL", None


def starts_with_word(latin, arabic_word):
    """Whether a Latin name starts with a transliteration of an Arabic word ("Jisr ash-Shughur",
    "جسر")."""
    first = latin_skeleton((tokens(latin) or [""])[0])
    return similarity(first, re.sub("H$", "", "".join(ARABIC_CLASSES.get(c, "") for c in arabic_word))) >= 0.6


def is_common_arabic(name, common):
    """A name made of frequent Arabic words: one word among the most frequent (the article aside),
    or several words all among the far more frequent (`common` maps a word to its rank)."""
    words = tokens(name)  # "حي السكري" is a name, "السكري" a word
    ranks = [common.get(w, common.get(w[2:]) if w.startswith("ال") else None) for w in words]
    if not words or any(r is None for r in ranks):
        return False
    return len(words) == 1 or all(r < ARABIC_VERY_COMMON for r in ranks)


def seat_of(area, place):
    """Whether `place` can be the seat town of `area`: a district or sub-district of the same
    governorate, its centroid near."""
    return (area.level in ("admin2", "admin3") and area.admin1 == place.admin1
            and km(place.lat, place.lon, area.lat, area.lon) <= ELSEWHERE_KM)


def nearest(places, lat, lon):
    return min(places, key=lambda p: km(lat, lon, p.lat, p.lon), default=None)


def derive_syrian_archive(src, gaz, dst):
    """Writes the Syrian Archive places the gazetteer lacks; prints what it skips and why."""
    points, areas, sub_districts = known_places(gaz)
    syrian_points = [p for p in points if p.admin1 and p.admin1.startswith("SY.")]
    governorate_anchors = syrian_points + sub_districts
    cities = [p for p in syrian_points if p.population >= CITY_RADII[-1][0]]
    common_ar = arabic_common_words()
    with open(src, encoding="utf-8") as f:
        rows = json.load(f)

    skipped = {}

    def skip(reason, row, detail=""):
        skipped[reason] = skipped.get(reason, 0) + 1
        print(f"  sa:{row['id']} {row['name'].strip()!r}: {reason}{detail}", file=sys.stderr)

    accepted, out = [], []
    for row in sorted(rows, key=lambda r: int(r["id"])):
        sid = int(row["id"])
        point = parse_coordinates(row["latlon"])
        if point is None:
            skip("coordinates not understood", row, f" ({row['latlon']!r})")
            continue
        lat, lon = point
        if not (SYRIA_BOX[0] <= lat <= SYRIA_BOX[1] and SYRIA_BOX[2] <= lon <= SYRIA_BOX[3]):
            skip("outside Syria's bounding box", row, f" ({lat:.4f}, {lon:.4f})")
            continue
        name = clean_latin(row["name"])
        arabic = clean_arabic(row["arabic_name"])
        admin_level = next((level for word, level in ADMIN_WORDS.items() if word in tokens(name)), None)

        # The governorate: the region's, unless the coordinates are clearly elsewhere.
        region = REGIONS[row["region"].strip()]
        if row["region"].strip() == "DAMASCUS":
            region = ["SY.13"] if sid in DAMASCUS_CITY else ["SY.08"]
        near_all = nearest(governorate_anchors, lat, lon)
        near_region = nearest([p for p in governorate_anchors if p.admin1 in region], lat, lon)
        admin1 = near_region.admin1
        if near_all.admin1 not in region and km(lat, lon, near_region.lat, near_region.lon) > REGION_TRUST_KM:
            admin1 = near_all.admin1
            print(f"  sa:{sid} {name!r}: region {row['region'].strip()} but the point is in {admin1}", file=sys.stderr)

        # Names: the English name; the Arabic one if it is this place's and not an ordinary word.
        arabic_names = []
        if arabic and sid in WRONG_ARABIC:
            print(f"  sa:{sid} {name!r}: Arabic name {arabic!r} dropped: {WRONG_ARABIC[sid]}", file=sys.stderr)
        elif arabic and sid not in TRANSLATED and similarity(latin_skeleton(name), arabic_skeleton(arabic)) < MIN_SKELETON_SIMILARITY:
            print(f"  sa:{sid} {name!r}: Arabic name {arabic!r} dropped: it does not read as the English name",
                  file=sys.stderr)
        elif arabic:
            words = tokens(arabic)
            core = [w for w in words if w not in ARABIC_TYPE_PREFIXES and w not in ARABIC_TYPE_SUFFIXES]
            # "حي السكري" -> also "السكري": the name without its type words, as written.
            kept = [w for w, t in zip(arabic.split(), words) if t in core] if len(arabic.split()) == len(words) else []
            for candidate in dict.fromkeys([arabic, " ".join(kept)]):
                if not candidate:
                    continue
                if is_common_arabic(candidate, common_ar):
                    print(f"  sa:{sid} {name!r}: Arabic name {candidate!r} dropped: frequent Arabic words",
                          file=sys.stderr)
                    continue
                arabic_names.append(candidate)

        fclass, fcode, _ = kind_of(name, arabic_names[0] if arabic_names else "")
        # "طريق دورين" (the road to Dorrin) for the village Dorrin, "مسجد كفر هود" for Kafar Houd:
        # an Arabic name of a road, mosque or checkpoint names something at the place, not it.
        for candidate in list(arabic_names):
            first = (tokens(candidate) or [""])[0]
            if fclass == "P" and first in SPOT_ARABIC and not starts_with_word(name, first):
                arabic_names.remove(candidate)
                print(f"  sa:{sid} {name!r}: Arabic name {candidate!r} dropped: it names a site at the place",
                      file=sys.stderr)
        this = Place(f"sa:{sid}", [name, *arabic_names], lat, lon, admin1)

        if admin_level:
            # A sub-district or district: the gazetteer has OCHA's.
            skip("a sub-district or district (the gazetteer has OCHA's)", row)
            continue

        if sid in ORDINARY_NAMES:
            skip("a person's name or an ordinary word (read in news text)", row, f": {ORDINARY_NAMES[sid]}")
            continue
        letters = sum(c.isalpha() for c in name)
        if letters < MIN_LATIN_LETTERS:
            skip("English name under 4 letters", row)
            continue

        duplicate = None
        for p in accepted + points:
            d = km(lat, lon, p.lat, p.lon)
            if d <= DEDUP_KM and (this.latin_keys & p.latin_keys or this.arabic_keys & p.arabic_keys):
                duplicate = p
            elif d <= DEDUP_LOOSE_KM and this.skeletons & p.skeletons:
                duplicate = p
            if duplicate:
                break
        if duplicate:
            skip("already in the gazetteer", row, f" as {duplicate.id}")
            continue

        # A name that an administrative area or a populated place elsewhere bears: this place
        # would outrank it (a point before an area; GeoNames ranks by population, and this has
        # none). The row is left out, or its Arabic name when only that one is taken.
        others = [p for p in areas + points if p.level != "point" or p.population > 0]
        long_skeletons = {k for k in this.skeletons if len(k) >= 4}
        taken = next((p for p in others if (this.latin_keys & p.latin_keys
                                            or p.level != "admin1" and long_skeletons & p.skeletons)
                      and not seat_of(p, this)), None)
        if taken:
            skip("name of another place (an administrative area, or a populated place 20+ km away)", row,
                 f" ({taken.id})")
            continue
        for candidate in list(arabic_names):
            key = arabic_key(candidate)
            taken = next((p for p in others if key in p.arabic_keys and not seat_of(p, this)), None)
            if taken:
                arabic_names.remove(candidate)
                print(f"  sa:{sid} {name!r}: Arabic name {candidate!r} dropped: the name of {taken.id}",
                      file=sys.stderr)
        this = Place(f"sa:{sid}", [name, *arabic_names], lat, lon, admin1)

        # The district: that of the nearest sub-district centroid of the governorate.
        sub = nearest([a for a in sub_districts if a.admin1 == admin1], lat, lon)
        city = next((c for c in cities for pop, radius in CITY_RADII
                     if c.population >= pop and km(lat, lon, c.lat, c.lon) <= radius), None)
        if fcode == "PPL" and city is not None:
            fcode = "PPLX"
        accepted.append(this)
        out.append([
            f"sa:{sid}", name, ascii_name(name), ",".join(arabic_names), f"{lat:.5f}", f"{lon:.5f}", fclass, fcode,
            "SY", "", admin1.split(".")[1], sub.admin2, "", "", "0", "", "", "Asia/Damascus", "",
        ])

    with open(dst, "w", encoding="utf-8", newline="") as f:
        f.write(
            "# Places of the Syrian Archive's location list (2015) that the other gazetteer tables lack: English\n"
            "# and Arabic names, points, GeoNames admin1 code, OCHA district p-code, feature class and code.\n"
            "# Derived by tools/derive_gazetteer.py (see its docstring for the rules); do not edit by hand.\n"
            "# GeoNames dump format (19 tab-separated columns); ids are \"sa:<Syrian Archive id>\", not GeoNames ids.\n"
        )
        for r in out:
            f.write("\t".join(r) + "\n")
    return len(rows), len(out), skipped


def ascii_name(name):
    return "".join(c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="folder with geonames/, ocha-syria-admin/ and syrianarchive-locations.json")
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
    total, present, absent = check_admin_points(os.path.join(ocha, "syr_adminpoints.csv"), gaz)
    print(f"OCHA admin points: {total}, {present} already in the gazetteer (country, governorates, districts, sub-districts), {absent} not")
    total, added, skipped = derive_syrian_archive(
        os.path.join(args.data, "syrianarchive-locations.json"), gaz, os.path.join(gaz, "syrianarchive-SY.tsv")
    )
    reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(skipped.items(), key=lambda kv: -kv[1]))
    print(f"Syrian Archive: {total} rows, {added} places added; skipped: {reasons}")
    if args.common_words:
        n = derive_common_words(os.path.join(args.out, "common-words.txt"), args.common_words)
        print(f"common words: {n}")


if __name__ == "__main__":
    main()
