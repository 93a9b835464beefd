"""Every relative link of the README and of the documentation site (docs/*.md) leads somewhere:
the file exists and, with an anchor, the page has that heading. `mkdocs build --strict` checks
the site's own links but never sees the README, whose links into docs/ are how a new user
finds the rest; and both are also read on the repository host, whose heading anchors are not
quite mkdocs', so an anchor must be right for both."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# [text](target) and ![alt](target); the target up to a space (a title) or the closing bracket.
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^(`{3,}|~{3,}).*?^\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"(`+).+?\1", re.S)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)


def prose(page: Path) -> str:
    """The page without code blocks and code spans (their brackets are not links)."""
    return CODE_SPAN.sub("", FENCE.sub("", page.read_text(encoding="utf-8")))


def heading_text(raw: str) -> str:
    """A heading as it reads: code marks and emphasis dropped, links reduced to their text."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", raw)
    return re.sub(r"[`*]", "", text)


def mkdocs_slug(text: str) -> str:
    """Python-Markdown's toc slug, which mkdocs uses."""
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def github_slug(text: str) -> str:
    """The repository host's slug: lower case, punctuation but `-` and `_` dropped, each space
    a hyphen."""
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(page: Path, slug) -> set[str]:
    """The page's heading anchors; a repeated heading gets -1, -2, ... as both renderers do."""
    seen: Counter[str] = Counter()
    found = set()
    for raw in HEADING.findall(FENCE.sub("", page.read_text(encoding="utf-8"))):
        base = slug(heading_text(raw))
        found.add(f"{base}-{seen[base]}" if seen[base] else base)
        seen[base] += 1
    return found


def links(page: Path) -> list[str]:
    return [
        target
        for target in LINK.findall(prose(page))
        if not re.match(r"[a-z][a-z0-9+.-]*:", target)  # https:, mailto:, ...
    ]


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(REPO).as_posix() for p in PAGES])
def test_every_relative_link_leads_to_a_page_and_a_heading(page):
    broken = []
    for target in links(page):
        path, _, anchor = target.partition("#")
        goal = (page.parent / path).resolve() if path else page
        if not goal.is_file():
            broken.append(f"{target}: no file {goal.relative_to(REPO)}")
        elif anchor and goal.suffix == ".md":
            for renderer, slug in (("mkdocs", mkdocs_slug), ("repository host", github_slug)):
                if anchor not in anchors(goal, slug):
                    broken.append(f"{target}: no heading with that anchor ({renderer})")
    assert not broken, f"{page.relative_to(REPO)}: " + "; ".join(broken)


def test_the_readme_links_into_the_site_and_every_page_is_reachable():
    """The front page stays short and leads to every page of the site."""
    readme = REPO / "README.md"
    assert len(readme.read_text(encoding="utf-8").splitlines()) <= 300
    linked = {(readme.parent / t.partition("#")[0]).resolve() for t in links(readme)}
    missing = [p.name for p in PAGES[1:] if p.name != "index.md" and p not in linked]
    assert not missing, f"README.md links to none of: {missing}"


def test_the_checker_sees_a_broken_anchor_and_a_missing_page(tmp_path):
    """The checker itself: what it must catch, it catches (a test that cannot fail pins
    nothing)."""
    (tmp_path / "a.md").write_text("# Title\n\n## Worker sizing: long recordings\n")
    page = tmp_path / "b.md"
    page.write_text(
        "[ok](a.md#worker-sizing-long-recordings) [bad](a.md#worker-sizing) [gone](c.md)\n"
        "`[not a link](x.md)`\n```\n[also not](y.md)\n```\n"
    )
    assert links(page) == ["a.md#worker-sizing-long-recordings", "a.md#worker-sizing", "c.md"]
    assert "worker-sizing-long-recordings" in anchors(tmp_path / "a.md", mkdocs_slug)
    assert "worker-sizing" not in anchors(tmp_path / "a.md", github_slug)
