#!/usr/bin/python3
"""cgwfw.1: the page swift-argument-parser generates from the parser, with the hand-written sections of
cgwfw.1.sections in place of its generic EXIT STATUS. The help texts' blank lines become paragraph breaks
and their indented example lines literal displays (mdoc would otherwise warn and fill them).

Usage: build-manual.py GENERATED.1 OUTPUT.1
"""
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent


def mdoc_paragraphs(lines):
    out = []
    literal = False
    for line in lines:
        example = line.startswith("  ") and line.strip()
        if example and not literal:
            out.append(".Bd -literal -offset indent")
        elif literal and not example:
            out.append(".Ed")
        literal = bool(example)
        out.append(".Pp" if line == "" else line.strip() if example else line)
    if literal:
        out.append(".Ed")
    return out


def merge(generated, sections):
    lines = mdoc_paragraphs(generated.splitlines())
    start = lines.index('.Sh "EXIT STATUS"')
    authors = lines.index('.Sh AUTHORS')
    return "\n".join(lines[:start] + sections.rstrip("\n").splitlines() + lines[authors:]) + "\n"


if __name__ == "__main__":
    generated, output = sys.argv[1:]
    text = merge(pathlib.Path(generated).read_text(encoding="utf-8"),
                 (HERE / "cgwfw.1.sections").read_text(encoding="utf-8"))
    pathlib.Path(output).write_text(text, encoding="utf-8")
