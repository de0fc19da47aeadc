"""Real files of every supported format, written by the tests themselves with the libraries
that make them (reportlab for PDF, python-docx for Word), all holding the same notice."""

from __future__ import annotations

import io
import textwrap

TITLE = "青山区图书馆新馆开放通知"
SECTIONS = [
    ("开放时间", "新馆自2024年3月1日起正式对外开放。开放时间为每周二至周日上午9时至晚上8时，每周一闭馆进行图书整理和设备维护，"
                 "法定节假日照常开放。"),
    ("借阅规则", "读者凭身份证或社保卡即可免费办理借书证。每张借书证最多可借图书10册，借期为30天，到期前可以在线续借一次，"
                 "逾期未还的图书将暂停借阅权限。"),
    ("交通指引", "新馆位于青山区和平大道88号，乘坐地铁4号线到青山站A出口步行约5分钟即可到达。馆内设有200个停车位，"
                 "前两小时免费停车。"),
]
QUESTION = "每张借书证最多可以借几册书？"
ANSWER_PASSAGE_START = "读者凭身份证"


def wrap(text: str, width: int = 30) -> list[str]:
    """Hard-wrap Chinese text at ``width`` characters, as an editor would."""
    return [text[i : i + width] for i in range(0, len(text), width)]


def as_text(wrapped: bool = True, sections=SECTIONS) -> str:
    parts = [TITLE, ""]
    for heading, body in sections:
        parts += [heading, *(wrap(body) if wrapped else [body]), ""]
    return "\n".join(parts)


def as_markdown(sections=SECTIONS) -> str:
    parts = [f"# {TITLE}", ""]
    for heading, body in sections:
        parts += [f"## {heading}", "", *wrap(body), ""]
    return "\n".join(parts)


def as_html(sections=SECTIONS) -> str:
    body = "".join(f"<h2>{h}</h2>\n<p>{b}</p>\n" for h, b in sections)
    return textwrap.dedent(f"""\
        <!DOCTYPE html><html><head><meta charset="utf-8"><title>{TITLE} - 青山新闻网</title></head><body>
        <header><nav><a href="/">首页</a> | <a href="/news">新闻中心</a> | <a href="/about">关于我们</a> | <a href="/rss">订阅</a></nav></header>
        <aside><h3>热门文章</h3><ul><li><a href="/1">本周天气预报：多云转晴</a></li><li><a href="/2">区运动会报名开始</a></li></ul></aside>
        <article><h1>{TITLE}</h1>
        {body}</article>
        <footer><p>版权所有 © 2024 青山新闻网 | 联系我们 | 鄂ICP备12345678号</p><p>地址：青山区政务中心 电话：027-12345678</p></footer>
        </body></html>""")


def as_docx(sections=SECTIONS) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = TITLE
    document.add_heading(TITLE, level=0)
    for heading, body in sections:
        document.add_heading(heading, level=1)
        document.add_paragraph(body)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def as_pdf(pages: int = 1, text_layer: bool = True, title: str = TITLE) -> bytes:
    """The notice laid out by reportlab with a built-in Chinese font (lines wrapped at the
    page width, a page number at the bottom); ``text_layer=False`` draws only shapes, as a
    scan would have no text to extract."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    c.setTitle(title)
    for page in range(1, pages + 1):
        y = 780
        if not text_layer:
            c.rect(72, 400, 400, 300, fill=1)  # an "image" of the page
        else:
            c.setFont("STSong-Light", 16)
            c.drawString(72, y, TITLE if page == 1 else f"{TITLE}（续）")
            y -= 36
            c.setFont("STSong-Light", 11)
            for heading, body in SECTIONS:
                c.drawString(72, y, heading)
                y -= 20
                for line in wrap(body, 38):
                    c.drawString(72, y, line)
                    y -= 16
                y -= 12
            c.setFont("Helvetica", 9)
            c.drawString(290, 40, str(page))
        c.showPage()
    c.save()
    return out.getvalue()


LONG_PARAGRAPH = "".join(
    f"第{i}条：社区服务中心在第{i}季度组织了居民议事会，讨论了停车位分配、垃圾分类和老年食堂的运营等事项，"
    f"并形成了书面意见{i}份。" for i in range(1, 31))


def as_long_pdf(header: str = "青山区政务公开", lines_per_page: int = 20) -> bytes:
    """One long paragraph flowing over several pages, under a running header, with
    "第 N 页" footers: the paragraph must come back whole, without header and footers."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    c = canvas.Canvas(out, pagesize=A4)
    lines = ["社区议事会工作总结", *wrap(LONG_PARAGRAPH, 38)]
    for page, start in enumerate(range(0, len(lines), lines_per_page), start=1):
        c.setFont("STSong-Light", 9)
        c.drawString(72, 810, header)
        c.setFont("STSong-Light", 11)
        y = 780
        for line in lines[start : start + lines_per_page]:
            c.drawString(72, y, line)
            y -= 17
        c.setFont("STSong-Light", 9)
        c.drawString(280, 40, f"第 {page} 页")
        c.showPage()
    c.save()
    return out.getvalue()


FILES = {
    "notice.txt": lambda: as_text().encode("utf-8"),
    "notice.md": lambda: as_markdown().encode("utf-8"),
    "notice.html": lambda: as_html().encode("utf-8"),
    "notice.docx": as_docx,
    "notice.pdf": as_pdf,
}
