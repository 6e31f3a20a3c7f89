"""Rebuild resources/fonts/BackpropStudioCJK-Regular.otf, the Chinese font the app ships.

Why: lessons come in Simplified Chinese, and a machine with no CJK font installed would draw
every hanzi as an empty box. The app registers this file at startup and puts it behind the UI
font as the fallback for Chinese text (app/cjk_font.py).

Source: Noto Sans CJK SC Regular (SIL Open Font License 1.1, (c) 2014-2021 Adobe), taken
from Debian's package `fonts-noto-cjk` (1:20220127+repack1-1):

    sudo apt-get install fonts-noto-cjk
    pip install fonttools                   # a development tool only, not a runtime dependency
    python tools/make_cjk_font.py           # writes resources/fonts/BackpropStudioCJK-Regular.otf

or, without installing the fonts system-wide, from the package file:

    apt-get download fonts-noto-cjk && dpkg-deb -x fonts-noto-cjk_*.deb noto
    python tools/make_cjk_font.py --source noto/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc

The subset keeps ASCII, Latin-1, Greek (the notes' sigma, alpha, eta), general punctuation,
arrows and math operators the lessons use, CJK symbols and punctuation, full-width forms, every
GB2312 level-1 hanzi (rows 16-55, 3,755 characters: what a teacher's new lesson will almost
surely use) and every character in the shipped lessons (resources/lessons/). It is renamed
"Backprop Studio CJK" (OFL: a modified version does not carry the original's names); hinting
is dropped (Qt renders CJK unhinted) and so are layout features other than the basic ones.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

DEBIAN_TTC = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
SOURCE_FAMILY = "Noto Sans CJK SC"
FAMILY = "Backprop Studio CJK"
FILE_NAME = "BackpropStudioCJK-Regular.otf"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

RANGES = [
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1
    (0x0391, 0x03C9),  # Greek
    (0x2000, 0x206F),  # general punctuation
    (0x2190, 0x21FF),  # arrows
    (0x2200, 0x22FF),  # mathematical operators
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF00, 0xFFEF),  # half-width and full-width forms
]


def gb2312_level1() -> set[str]:
    """The 3,755 GB2312 level-1 hanzi: rows 16 to 55, cells 1 to 94 (row 55 ends at cell 89)."""
    chars = set()
    for row in range(16, 56):
        for cell in range(1, 95):
            try:
                chars.add(bytes([0xA0 + row, 0xA0 + cell]).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return chars


def lesson_characters(folder: str) -> set[str]:
    """Every character in the lesson files (JSON strings decoded, so \\u escapes count too)."""
    chars: set[str] = set()
    if not os.path.isdir(folder):
        return chars
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if not os.path.isfile(path):
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        if name.endswith(".json"):
            text = json.dumps(json.loads(text), ensure_ascii=False)
        chars.update(text)
    return chars


def wanted_codepoints(lessons_dir: str) -> set[int]:
    points = {cp for lo, hi in RANGES for cp in range(lo, hi + 1)}
    points.update(ord(c) for c in gb2312_level1())
    points.update(ord(c) for c in lesson_characters(lessons_dir) if ord(c) >= 0x20)
    return points


def source_font(path: str):
    from fontTools.ttLib import TTCollection

    for font in TTCollection(path).fonts:
        if font["name"].getDebugName(1) == SOURCE_FAMILY:
            return font
    raise SystemExit(f"error: {path} has no face named {SOURCE_FAMILY!r}")


def rename(font) -> None:
    """New family, full and PostScript names; copyright and license records stay."""
    names = font["name"]
    for rec in list(names.names):
        if rec.nameID in (1, 3, 4, 6, 16, 17, 21, 22):
            names.removeNames(nameID=rec.nameID)
    for name_id, text in ((1, FAMILY), (2, "Regular"), (3, f"{FAMILY} Regular; subset of {SOURCE_FAMILY} 2.004"),
                          (4, f"{FAMILY} Regular"), (6, "BackpropStudioCJK-Regular")):
        names.setName(text, name_id, 3, 1, 0x409)
        names.setName(text, name_id, 1, 0, 0)
    if "CFF " in font:
        cff = font["CFF "].cff
        cff.fontNames = ["BackpropStudioCJK-Regular"]
        top = cff.topDictIndex[0]
        top.FullName = f"{FAMILY} Regular"
        top.FamilyName = FAMILY


def build(source: str, out: str, lessons_dir: str) -> tuple[int, int]:
    from fontTools import subset

    font = source_font(source)
    points = wanted_codepoints(lessons_dir)
    cmap = font.getBestCmap()
    missing = sorted(cp for cp in points if cp not in cmap and cp >= 0x3000)
    options = subset.Options()
    options.hinting = False
    options.desubroutinize = False
    options.layout_features = ["ccmp", "locl", "kern", "palt", "vert", "liga"]
    options.name_IDs = ["*"]
    options.name_languages = ["*"]
    options.notdef_outline = True
    sub = subset.Subsetter(options)
    sub.populate(unicodes=points)
    sub.subset(font)
    rename(font)
    font.recalcTimestamp = False  # keep the source's dates: the same input gives the same bytes
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tmp = out + ".tmp"
    font.save(tmp)
    os.replace(tmp, out)
    return len(font.getBestCmap()), len(missing)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--source", default=DEBIAN_TTC, help="the Noto Sans CJK collection (default: Debian's)")
    p.add_argument("--out", default=os.path.join(REPO, "resources", "fonts", FILE_NAME))
    p.add_argument("--lessons", default=os.path.join(REPO, "resources", "lessons"))
    args = p.parse_args(argv)
    if not os.path.isfile(args.source):
        print(f"error: {args.source} not found (sudo apt-get install fonts-noto-cjk)", file=sys.stderr)
        return 2
    n, missing = build(args.source, args.out, args.lessons)
    size = os.path.getsize(args.out)
    print(f"{args.out}: {n} characters, {size / 1e6:.2f} MB ({missing} wanted CJK code points not in the source)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
