"""Markdown out of plain text before it is spoken, so "## Results" is not read as "hash hash
Results" and a link is read as its words, not its URL.

Block syntax becomes structure: headings, list items and table rows are sentences of their
own, blank lines and rules separate paragraphs (a pause), block quotes and code fences lose
their markers (code is read as written). Inline syntax becomes its text: emphasis, strikethrough
and code markers go, a link or image is read as its text (the URL is not read), an autolink
<https://...> as its URL, HTML tags (of known elements: <b>, <span class="x">, </p>) and
comments go; other text in angle brackets stays ("List<String>", "a<b and c>d"); HTML's
character references ("&amp;", "&mdash;", "&#8217;") are the characters they stand for.
What is left is what captions show.

HTML pasted as text is structure too: a heading (<h2>) is a heading, a paragraph (<p>, <div>,
<blockquote>, <figcaption>) a paragraph, a list item (<li>) an item, a table row (<tr>) a
row, as their Markdown would be; what a <script> or <style> holds is not read.

Text that is not Markdown passes through unchanged, except hard-wrapped lines of a paragraph,
which are joined (books from plain-text sources wrap every line)."""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")
# A heading's marker; its text and closing hashes are found by _heading (a lazy group before
# an optional "\s+#+" was quadratic in trailing spaces).
_HEADING = re.compile(r"^\s{0,3}#{1,6}(?=\s|$)")
_SETEXT = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_RULE = re.compile(r"^\s{0,3}([-*_])(?:\s*\1){2,}\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(?:\[[ xX]\]\s+)?")
_ORDERED = re.compile(r"^\s*(\d{1,9})[.)]\s+")
_QUOTE = re.compile(r"^\s{0,3}(?:>\s?)+")
# Possessive quantifiers (Python 3.11): a line of 200,000 spaces after "---" is not
# backtracked through, one length of each run at a time.
_TABLE_RULE = re.compile(r"^\s*+\|?+\s*+:?+-{3,}+:?+\s*+(?:\|\s*+:?+-{3,}+:?+\s*+)*+\|?+\s*+$")

# Every inline pattern below is linear in the text it runs on (a paragraph: up to 200,000
# characters): what it scans for after an opening marker excludes that marker, so a marker
# that is never closed ("[" * 100_000) is given up at the next marker, not at the end of the
# text, one marker at a time (which was quadratic: minutes of one request, the GIL held).
# A link's URL may hold one level of parentheses (Wikipedia's "Foo_(bar)").
_URL = r"(?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?"
_IMAGE = re.compile(r"!\[([^\[\]]*)\]\(" + _URL + r"\)")
_LINK = re.compile(r"\[([^\[\]]+)\]\(" + _URL + r"\)")
_REF_LINK = re.compile(r"\[([^\[\]]+)\]\[[^\[\]]*\]")
_AUTOLINK = re.compile(r"<((?:https?://|mailto:)[^<>\s]+)>")
# An HTML tag: a known element's name, attributes each with a value (so "a<b and c>d" and
# "List<String>" are text, not a tag "b" or "String" to drop). Possessive: linear.
_HTML_TAG = re.compile(
    r"</?([A-Za-z][A-Za-z0-9-]*+)"
    r"(?:\s++[\w:.-]++\s*+=\s*+(?:\"[^\"<>]*+\"|'[^'<>]*+'|[^\s\"'<>=]++))*+\s*+/?>"
)
_ELEMENT_NAMES = (
    "a abbr address article aside audio b bdi bdo big blockquote body br button caption center"
    " cite code col colgroup data dd del details dfn div dl dt em embed figcaption figure"
    " font footer form h1 h2 h3 h4 h5 h6 head header hr html i iframe img input ins kbd label"
    " legend li link main mark meta nav noscript object ol p param picture pre q rp rt ruby s"
    " samp script section small source span strike strong style sub summary sup table tbody"
    " td template textarea tfoot th thead time title tr track tt u ul var video wbr"
)
_HTML_ELEMENTS = frozenset(_ELEMENT_NAMES.split())
# Elements inside a line of text: their tags go without a trace next to a space or
# punctuation ("<b>bold</b>." is "bold.", as a browser shows it), and separate what they
# would join ("<b>5</b><i>0</i>", "<b>Warning</b>Do", "10<sup>6</sup>": two words each);
# any other element's tag separates words, as a block does.
_INLINE_NAMES = (
    "a abbr b bdi bdo big cite code data del dfn em font i ins kbd mark q rp rt ruby s samp"
    " small span strike strong sub sup time tt u var"
)
_GONE = "\x00"  # where an inline tag was (control characters never reach here: read.py)
_JOINED_BY_TAGS = re.compile(rf"(?<=[\w$]){_GONE}+(?=[\w$])")
_INLINE_ELEMENTS = frozenset(_INLINE_NAMES.split())
# Block elements as the Markdown they stand for (see _html_blocks); a tag of any other
# element that is not inline separates words, as before. A web article pasted as HTML read
# "<h2>Chapter One</h2><p>It began.</p>" as "Chapter One It began." (no heading, no pause)
# and "<li>Apples</li><li>Pears</li>" as "Apples Pears".
_PARAGRAPH_NAMES = (
    "address article aside blockquote body caption center details dialog div dl figcaption"
    " figure footer header hr html main nav ol p pre section summary table ul"
)
_PARAGRAPH_ELEMENTS = frozenset(_PARAGRAPH_NAMES.split())
_ITEM_ELEMENTS = frozenset(("li", "dt", "dd"))
_CELL_ELEMENTS = frozenset(("td", "th"))
_HIDDEN_ELEMENTS = ("script", "style")  # their text is code, not prose: not read
_HIDDEN_END = re.compile(r"</(script|style)\s*>", re.IGNORECASE)
# The most characters that emphasis or code holding its own marker is undone over (below).
_SPAN = 500
# Code: from the start of a run of backticks only (possessive), to a run as long; first one
# whose text has no backtick (any length), then one whose text holds shorter or longer runs
# ("``a ` b``", CommonMark's way to quote a backtick) over at most _SPAN characters.
_CODE = (
    re.compile(r"(?<!`)(`++)([^`]+?)\1(?!`)"),
    re.compile(rf"(?<!`)(`++)(.{{1,{_SPAN}}}?)(?<!`)\1(?!`)"),
)
# Emphasis: the markers must hug the text and stand outside words (snake_case stays). First
# one pattern per marker whose text is free of that marker (linear, any length: a whole
# paragraph in italics), then, for text that holds markers ("**bold *italic***", "5 * 4"),
# the general pattern over at most _SPAN characters, so an opener that is never closed
# costs that much, not the rest of the text (200,000 characters: 0.6 s, not minutes).
_EMPHASIS = (
    *(
        re.compile(rf"(?<![\w*~])({marker})(?=\S)([^{char}]+?)(?<=\S)\1(?![\w*~])")
        for marker, char in ((r"\*{1,3}", r"*"), ("_{1,3}", "_"), ("~~", "~"))
    ),
    # The opener possessive: all of its run (up to three), not each shorter one in turn.
    re.compile(rf"(?<![\w*~])(\*{{1,3}}+|_{{1,3}}+|~~)(?=\S)(.{{1,{_SPAN}}}?)(?<=\S)\1(?![\w*~])"),
)
# An HTML character reference with its semicolon ("&amp;", "&nbsp;", "&mdash;", "&#8212;",
# "&#x2014;"): web articles pasted as HTML are full of them, and a voice read "Well&hellip;
# maybe" as "Well and hellip; maybe". Without the semicolon ("AT&T", "Q&A", "R&D", "&copy
# 2024") it is text: HTML's legacy forms would turn "this&not that" into "this¬ that".
_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Footnote and citation marks, which a reader skips: Markdown's "[^1]", Wikipedia's "[1]",
# "[12][13]", "[a]", "[citation needed]" (with the space before them: "as shown [3]."), a
# <sup> that holds only a mark after a word or punctuation ("claim.<sup>1</sup>",
# "<sup><a href="#fn1">[1]</a></sup>"; "10<sup>6</sup>" is a power, kept), and superscript
# digits after punctuation ("the end.¹"). Read, they were "claim.1 More", "[1]", "[^1]".
# (A letter's note, "[a]", only right after punctuation: "arr[i]" is an index. Not after
# "]": "[text][1]" is a reference link.)
_CITATION = re.compile(
    r"(?<!\])\s*+(?:\[(?:\^[^\[\]\s]{1,30}|\d{1,3}(?:[,\u2013-]\d{1,3})*|citation needed"
    r"|note \d{1,3})\]|(?<=[.,;:!?\"'\u201d\u2019\]])\[[a-z]\])++(?=[\s.,;:!?)\"'\u201d\u2019]|$)"
)
_FOOTNOTE_SUP = re.compile(
    r"(?<=[^\W\d_]|[.,;:!?)\"'\u201d\u2019])<sup\b[^<>]{0,200}>\s*(?:<a\b[^<>]{0,500}>\s*)?"
    r"\[?(?:\d{1,3}|[a-z*\u2020\u2021])\]?\s*(?:</a>\s*)?</sup>",
    re.IGNORECASE,
)
_FOOTNOTE_DIGITS = re.compile(
    r"(?<=[.,;:!?)\"'\u201d\u2019])[\u00b9\u00b2\u00b3\u2070\u2074-\u2079]+"
)
_LINK_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+")


@dataclass(frozen=True)
class Unit:
    """A piece of text said as one: a paragraph's prose, a heading, a list item, a row.
    ``sentence``: it ends a sentence even without a full stop (headings, items, rows)."""

    text: str
    sentence: bool = False


def paragraphs(text: str) -> list[list[Unit]]:
    """The text's paragraphs (a pause between each), each a list of units."""
    out: list[list[Unit]] = []
    current: list[Unit] = []
    prose: list[str] = []
    fence: str | None = None
    underline = False  # the next line underlines a heading (setext)

    def flush_prose() -> None:
        if prose:
            current.append(Unit(inline(" ".join(prose))))
            prose.clear()

    def end_paragraph() -> None:
        flush_prose()
        if current:
            out.append(list(current))
            current.clear()

    lines = _html_blocks(_without_comments(text)).splitlines()
    for i, line in enumerate(lines):
        if underline:
            underline = False
            continue
        opened, fence = fence, _fence_after(fence, line)
        if opened is not None:
            if fence is None:
                end_paragraph()
            elif line.strip():
                current.append(Unit(line.strip(), sentence=True))
            continue
        if fence is not None:
            end_paragraph()
            continue
        stripped = _QUOTE.sub("", line)
        if not stripped.strip() or _RULE.match(stripped) or _LINK_DEFINITION.match(stripped):
            end_paragraph()
            continue
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if match := _HEADING.match(stripped):
            end_paragraph()
            heading = inline(_heading(stripped[match.end() :]))
            if heading:
                out.append([Unit(heading, sentence=True)])
            continue
        if _SETEXT.match(following) and not prose and "|" not in stripped:
            end_paragraph()
            out.append([Unit(inline(stripped.strip()), sentence=True)])
            underline = True
            continue
        if _TABLE_RULE.match(stripped) and "-" in stripped:
            continue
        if stripped.strip().startswith("|") or ("|" in stripped and _TABLE_RULE.match(following)):
            flush_prose()
            cells = [inline(c.strip()) for c in stripped.strip().strip("|").split("|")]
            row = ", ".join(c for c in cells if c)
            if row:
                current.append(Unit(row, sentence=True))
            continue
        if match := _BULLET.match(stripped):
            flush_prose()
            item = inline(stripped[match.end() :])
            if item:
                current.append(Unit(item, sentence=True))
            continue
        if match := _ORDERED.match(stripped):
            flush_prose()
            item = inline(stripped[match.end() :])
            if item:
                current.append(Unit(f"{match.group(1)}. {item}", sentence=True))
            continue
        prose.append(stripped.strip())
    end_paragraph()
    return out


def inline(text: str) -> str:
    """Inline Markdown as the text it shows."""
    text = _without_marks(text)
    text = _IMAGE.sub(r"\1", text)
    text = _LINK.sub(r"\1", text)
    text = _REF_LINK.sub(r"\1", text)
    text = _AUTOLINK.sub(r"\1", text)
    for code in _CODE:
        text = code.sub(lambda m: m.group(2).strip(), text)
    text = _HTML_TAG.sub(_html_tag, text)
    text = _JOINED_BY_TAGS.sub(" ", text).replace(_GONE, "")
    for _ in range(3):  # nested emphasis: ***a*** or **_a_**
        count = 0
        for pattern in _EMPHASIS:
            text, n = pattern.subn(r"\2", text)
            count += n
        if not count:
            break
    text = _ENTITY.sub(_character, text)  # last: "&lt;b&gt;" and "&ast;" are text, not markup
    return " ".join(text.split())


def _character(match: re.Match[str]) -> str:
    """What a character reference stands for ("&nbsp;" a space, "&rsquo;" a quote); an
    unknown name ("&foo;") stays as written. A control character ("&#9;") is a space, as
    read.py makes one written as is, and a format character ("&shy;", "&#8203;") or none
    ("&#0;": U+FFFD) nothing: a voice would name them or stumble mid-word."""
    text = match.group(0)
    said = html.unescape(text)
    if said == text:
        return text
    return "".join(_REFERENCED.get(unicodedata.category(c), c) for c in said.replace("\ufffd", ""))


# What a referenced character of these categories becomes (see _character).
_REFERENCED = {"Cc": " ", "Cf": ""}


def _without_marks(text: str) -> str:
    """``text`` less its footnote and citation marks (_CITATION), but in code spans ("`x[1]`"
    is an index)."""
    out, at = [], 0
    for code in _CODE[0].finditer(text):
        out += [_marks(text[at : code.start()]), code.group(0)]
        at = code.end()
    out.append(_marks(text[at:]))
    return "".join(out)


def _marks(text: str) -> str:
    if "[" not in text and "<" not in text and not _FOOTNOTE_DIGITS.search(text):
        return text
    text = _CITATION.sub("", _FOOTNOTE_SUP.sub("", text))
    return _FOOTNOTE_DIGITS.sub("", text)


def _html_tag(match: re.Match[str]) -> str:
    """A tag of a known HTML element goes (a space; an inline one's a mark that `inline`
    makes a space between two words and nothing elsewhere); any other "<...>" is text."""
    name = match.group(1).lower()
    if name in _INLINE_ELEMENTS:
        return _GONE
    return " " if name in _HTML_ELEMENTS else match.group(0)


def _heading(rest: str) -> str:
    """An ATX heading's text: what follows its marker, less a closing run of hashes."""
    text = rest.strip()
    bare = text.rstrip("#")
    if bare != text and (not bare or bare[-1].isspace()):
        return bare.rstrip()
    return text


def _html_blocks(text: str) -> str:
    """HTML's block structure as Markdown's, outside code (fences and `spans`, where a tag
    is text): a heading's tags as a line of its own with "#"s (its text on that line), a
    paragraph's as blank lines, an item's as a "- " line, a row's as a "|" line and its
    cells' as "|"; <br> as a line end (joined with its paragraph, as a wrapped line is);
    a <script> or <style> with what it holds goes. Any other tag is left to `inline`."""
    if "<" not in text:
        return text
    out: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        opened, fence = fence, _fence_after(fence, line)
        if opened is None and fence is None:
            prose.append(line)
            continue
        if opened is None:  # the fence's first line
            out.append(_blocks("\n".join(prose)))
            prose.clear()
        out.append(line)
    out.append(_blocks("\n".join(prose)))
    return "\n".join(out)


def _blocks(text: str) -> str:
    """`_html_blocks` of text with no code fence in it."""
    if "<" not in text:
        return text
    code = [m.span() for m in _CODE[0].finditer(text)]
    ends = [m.span() for m in _HIDDEN_END.finditer(text)]
    out: list[str] = []
    at, heading, code_at, end_at = 0, 0, 0, 0
    for match in _HTML_TAG.finditer(text):
        start, stop = match.span()
        if start < at:
            continue  # inside a <script> or <style> already dropped
        while code_at < len(code) and code[code_at][1] <= start:
            code_at += 1
        if code_at < len(code) and code[code_at][0] <= start:
            continue  # `<p>` in a code span is text
        name = match.group(1).lower()
        closing = match.group(0).startswith("</")
        if name in _INLINE_ELEMENTS or name not in _HTML_ELEMENTS:
            continue
        between = text[at:start]
        if not (between.isspace() and (name in _ITEM_ELEMENTS or name == "tr")):
            # (Not the line ends of pretty-printed HTML before an item or a row: a blank
            # line would end their paragraph, a pause between "<li>"s Markdown has not.)
            out.append(between.replace("\n", " ") if heading else between)
        at = stop
        if name in _HIDDEN_ELEMENTS and not closing:
            while end_at < len(ends) and ends[end_at][0] < stop:
                end_at += 1
            if end_at < len(ends):  # unclosed: the tag alone goes
                at = ends[end_at][1]
            out.append(" ")
        elif re.fullmatch(r"h[1-6]", name):
            heading = 0 if closing else int(name[1])
            out.append("\n\n" if closing else f"\n\n{'#' * heading} ")
        elif name in _PARAGRAPH_ELEMENTS:
            out.append("\n\n")
        elif name in _ITEM_ELEMENTS:
            out.append("" if closing else "\n- ")
        elif name == "tr":
            out.append("" if closing else "\n|")
        elif name in _CELL_ELEMENTS:
            out.append("" if closing else " | ")
        elif name == "br":  # a line end, unless one follows it ("<br>\n")
            out.append("" if text.startswith("\n", stop) else "\n")
        else:
            out.append(" ")
    tail = text[at:]
    out.append(tail.replace("\n", " ") if heading else tail)
    return "".join(out)


def _fence_after(fence: str | None, line: str) -> str | None:
    """The code fence open after ``line`` ("```" or "~~~"), given the one open before it:
    a line of three or more backticks or tildes opens one, a line starting with its three
    characters closes it."""
    if fence is None:
        match = _FENCE.match(line)
        return match.group(1)[0] * 3 if match else None
    return None if line.strip().startswith(fence) else fence


def _without_comments(text: str) -> str:
    """HTML comments as a space; an unclosed one is left as it is (a regex that looked for
    each "<!--"'s end scanned to the end of the text from every one of them)."""
    out, at = [], 0
    while (start := text.find("<!--", at)) >= 0:
        end = text.find("-->", start + 4)
        if end < 0:
            break
        out += [text[at:start], " "]
        at = end + 3
    out.append(text[at:])
    return "".join(out)
