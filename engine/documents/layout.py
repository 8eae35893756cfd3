"""The built-in .docx templates, drawn with python-docx in the GB/T 9704-2012 layout (党政机关公文格式).

A4, margins top 37 mm, bottom 35 mm, left 28 mm, right 26 mm; 22 lines of 28 characters: body 3号仿宋 (16 pt) at a
fixed 28.95 pt line pitch; the issuing body in red 小标宋 above a red rule, the 发文字号 under it; the title in
2号小标宋 (22 pt); 主送机关 flush left; paragraphs indented by two characters; 落款 and date (in Chinese numerals)
to the right; 版记 (抄送/印发) between rules at the foot. Placeholders are docxtpl's Jinja syntax ({{ number }}),
so an administrator can open the downloaded default in Word or WPS, restyle it and upload it again.
"""
from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

RED = RGBColor(0xC0, 0x00, 0x00)
TITLE_FONT, BODY_FONT, HEADING_FONT = "方正小标宋简体", "仿宋_GB2312", "黑体"


def _font(run, name: str, size: float, bold: bool = False, color: RGBColor | None = None) -> None:  # noqa: ANN001
    run.font.name = name
    run.font.size = Pt(size)
    run.font.bold = bold
    run._element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), name)
    if color is not None:
        run.font.color.rgb = color


def _paragraph(doc, text: str = "", align=None, font: str = BODY_FONT, size: float = 16, indent: bool = False,  # noqa: ANN001
               color: RGBColor | None = None, bold: bool = False, before: float = 0):  # noqa: ANN202
    p = doc.add_paragraph()
    fmt = p.paragraph_format
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = Pt(28.95)
    fmt.space_before, fmt.space_after = Pt(before), Pt(0)
    if indent:
        fmt.first_line_indent = Pt(32)
    if align is not None:
        p.alignment = align
    if text:
        _font(p.add_run(text), font, size, bold, color)
    return p


def _rule(paragraph, color: str = "C00000", size: int = 12) -> None:  # noqa: ANN001
    """A line under the paragraph (the red rule under the issuing body, the rules of the 版记)."""
    ppr = paragraph._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    for key, value in (("w:val", "single"), ("w:sz", str(size)), ("w:space", "1"), ("w:color", color)):
        bottom.set(qn(key), value)
    borders.append(bottom)
    ppr.append(borders)


def build_template(heading: str, body: list[str], recipient_line: bool = True) -> bytes:
    """A template: the 版头 and 版记 every kind shares, `heading` (the title with placeholders) and `body`
    (paragraph texts with placeholders; a text starting with "{%p " is a docxtpl paragraph tag)."""
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    normal = doc.styles["Normal"]
    normal.font.name, normal.font.size = BODY_FONT, Pt(16)
    normal.element.get_or_add_rPr().get_or_add_rFonts().set(qn("w:eastAsia"), BODY_FONT)

    _paragraph(doc, "{{ issuer }}", WD_ALIGN_PARAGRAPH.CENTER, TITLE_FONT, 26, color=RED, before=20)
    _rule(_paragraph(doc, "{{ number }}", WD_ALIGN_PARAGRAPH.CENTER, BODY_FONT, 16, before=14))
    _paragraph(doc, heading, WD_ALIGN_PARAGRAPH.CENTER, TITLE_FONT, 22, before=28)
    _paragraph(doc)
    if recipient_line:
        _paragraph(doc, "{{ recipient }}：")
    for text in body:
        if text.startswith("{%p "):
            _paragraph(doc, text)
        else:
            _paragraph(doc, text, indent=True)
    _paragraph(doc)
    _paragraph(doc, "{{ issuer }}", WD_ALIGN_PARAGRAPH.RIGHT, before=28)
    _paragraph(doc, "{{ date_cn }}", WD_ALIGN_PARAGRAPH.RIGHT)
    _paragraph(doc)
    footer = _paragraph(doc, "抄送：{{ copy_to }}", size=14)
    _rule(footer, "000000", 8)
    _rule(_paragraph(doc, "{{ issuer }}　　　　{{ date_cn }}印发", size=14), "000000", 8)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
