#!/usr/bin/env python3
"""Writes the benchmark's templates and data into the folder given as the only argument.

case.docx          one page: a title whose {{council}} tag Word split across three runs (with a
                   proofing mark between them), a few paragraphs and a table whose second row
                   loops over {{#rows}}; the Mustache form, read by sendflow and docxtemplater
case-carbone.docx  the same page in Carbone's syntax ({d.council}, {d.rows[i].x} / [i+1] rows)
data-N.json        the data with N table rows (50, 128, 15000)
The styles come from the shipped templates' common parts, so the package is a realistic size.
"""
import json
import os
import sys
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
COMMON = os.path.join(HERE, "..", "..", "templates", "src", "common", "docx")
W = ('xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
     'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"')
COLUMNS = ["plan_ref", "auditor_grade", "moderator_grade", "outcome"]


def run(text, rpr=""):
    return '<w:r w:rsidR="00AB12CD">%s<w:t xml:space="preserve">%s</w:t></w:r>' % (
        "<w:rPr>%s</w:rPr>" % rpr if rpr else "", text)


def para(runs, style=None):
    ppr = '<w:pPr><w:pStyle w:val="%s"/></w:pPr>' % style if style else ""
    return "<w:p>%s%s</w:p>" % (ppr, runs)


def cell(text, width=2400):
    return '<w:tc><w:tcPr><w:tcW w:w="%d" w:type="dxa"/></w:tcPr>%s</w:tc>' % (width, para(run(text)))


def document(open_tag, close_tag, field, loop_cells, carbone):
    council = ([run("{d.coun", "<w:b/>"), '<w:proofErr w:type="spellStart"/>', run("ci"),
                '<w:proofErr w:type="spellEnd"/>', run("l}", "<w:b/>")] if carbone else
               [run("{{coun", "<w:b/>"), '<w:proofErr w:type="spellStart"/>', run("ci"),
                '<w:proofErr w:type="spellEnd"/>', run("l}}", "<w:b/>")])
    body = [
        para(run("Moderation summary for ") + "".join(council), "Title"),
        para(run("Meeting: " + field("meeting_date")), "Subtitle"),
        para(run("Summary"), "Heading1"),
        para(run(field("summary"))),
        para(run("Plans moderated"), "Heading1"),
    ]
    header = "<w:tr>%s</w:tr>" % "".join(cell(c.replace("_", " ").capitalize()) for c in COLUMNS)
    rows = loop_cells()
    body.append('<w:tbl><w:tblPr><w:tblStyle w:val="TableGrid"/><w:tblW w:w="9600" w:type="dxa"/>'
                "</w:tblPr><w:tblGrid>%s</w:tblGrid>%s%s</w:tbl>" % (
                    '<w:gridCol w:w="2400"/>' * 4, header, rows))
    body.append(para(run("Agreed by the panel chair on " + field("meeting_date") + ".")))
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<w:document %s><w:body>%s'
            '<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1134" w:right="1134" '
            'w:bottom="1134" w:left="1134" w:header="567" w:footer="567" w:gutter="0"/></w:sectPr>'
            "</w:body></w:document>" % (W, "".join(body)))


def mustache_rows():
    cells = [cell("{{#rows}}{{plan_ref}}")] + [cell("{{%s}}" % c) for c in COLUMNS[1:-1]]
    cells.append(cell("{{outcome}}{{/rows}}"))
    return "<w:tr>%s</w:tr>" % "".join(cells)


def carbone_rows():
    first = "".join(cell("{d.rows[i].%s}" % c) for c in COLUMNS)
    second = "".join(cell("{d.rows[i+1].%s}" % c) for c in COLUMNS)
    return "<w:tr>%s</w:tr><w:tr>%s</w:tr>" % (first, second)


def package(path, document_xml):
    parts = {
        "[Content_Types].xml":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://schemas.'
            'openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="'
            'application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
            'ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="'
            'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
            '<Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.wordprocessingml.styles+xml"/><Override PartName="/word/numbering.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.numbering+'
            'xml"/><Override PartName="/word/settings.xml" ContentType="application/vnd.openxmlformats'
            '-officedocument.wordprocessingml.settings+xml"/></Types>',
        "_rels/.rels": open(os.path.join(COMMON, "_rels", ".rels")).read().replace(
            '<Relationship Id="rId2"', '<!--').replace('docProps/app.xml"/>', '-->'),
        "word/_rels/document.xml.rels":
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http:/'
            '/schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="'
            'http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="'
            'styles.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/numbering" Target="numbering.xml"/><Relationship '
            'Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
            'settings" Target="settings.xml"/></Relationships>',
        "word/document.xml": document_xml,
    }
    for name in ("styles.xml", "numbering.xml", "settings.xml"):
        parts["word/" + name] = open(os.path.join(COMMON, "word", name)).read()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in parts.items():
            z.writestr(zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0)), text, zipfile.ZIP_DEFLATED)


def data(rows):
    grades = ["Outstanding", "Good", "Requires Improvement", "Inadequate"]
    return {
        "council": "Torbay Council & partners",
        "meeting_date": "3 December 2026",
        "summary": "The panel moderated every plan graded Requires Improvement or Inadequate "
                   "and a cross-section of the rest. <Moderators> agreed with most grades.",
        "rows": [{"plan_ref": "EHCP-%05d" % i, "auditor_grade": grades[i % 4],
                  "moderator_grade": grades[(i + (i % 7 == 0)) % 4],
                  "outcome": "Not agreed" if i % 7 == 0 else "Agreed"} for i in range(rows)],
    }


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    package(os.path.join(out, "case.docx"),
            document("{{", "}}", lambda n: "{{%s}}" % n, mustache_rows, False))
    package(os.path.join(out, "case-carbone.docx"),
            document("{", "}", lambda n: "{d.%s}" % n, carbone_rows, True))
    for rows in (50, 128, 15000):
        with open(os.path.join(out, "data-%d.json" % rows), "w") as f:
            json.dump(data(rows), f)


if __name__ == "__main__":
    main()
