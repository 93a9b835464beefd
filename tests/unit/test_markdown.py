"""Plain text with Markdown is read as the text it shows: structure, not syntax."""

from speech_api.text import Pause, Words, read


def test_markdown_syntax_is_not_spoken_and_structure_pauses():
    script = read(
        "# Results\n\nThe **total** is _final_, see [the report](https://x.com/r) and `code`.\n"
        "This line was wrapped.\n\n- first item\n- second item\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
        "\n---\n> Quoted ~~old~~ text\n\n```\nprint(1)\n```\n"
    )
    assert script.spoken == (
        "Results. The total is final, see the report and code. This line was wrapped. "
        "first item. second item. a, b. one, two. Quoted old text print(1)."
    )
    assert [type(s) for s in script.spans] == [Words, Pause, Words, Pause, Words, Pause, Words,
                                               Pause, Words, Pause, Words]  # fmt: skip


def test_captions_show_the_text_without_its_markup():
    script = read("Some **bold** and a [link](https://example.com).")
    assert script.spans[0].written == "Some bold and a link."


def test_identifiers_and_arithmetic_keep_their_characters():
    """No emphasis is made of "_" or "*": captions keep them; the product is said "times"
    (espeak said "asterisk")."""
    script = read("Set snake_case_name to 2 * 3.")
    assert script.spans[0].written == "Set snake_case_name to 2 * 3."
    assert script.spoken == "Set snake_case_name to two times three."


def test_setext_headings_and_numbered_items():
    script = read("Title\n=====\n\n1. Eggs\n2. Milk")
    assert script.spoken == "Title. one. Eggs. two. Milk."


def test_only_tags_of_html_elements_go_other_angle_brackets_are_text():
    script = read('Some <b>bold</b> <span class="x">span</span><br/> and <p>para</p> here.')
    assert script.spoken == "Some bold span and para here."
    # Not tags: a type's parameters and comparisons are read, not dropped.
    assert read("Use List<String> in Java.").spoken == "Use List String in Java."
    script = read("If a<b and c>d then stop.")
    assert script.spoken == "If a less than b and c greater than d then stop."
    assert script.spans[0].written == "If a<b and c>d then stop."


def test_inline_tags_go_without_a_trace_block_tags_separate_words():
    """An inline tag was a space: "<b>bold</b>." was captioned "bold ." and read "bold .".
    Between two words or numbers it still separates them: "<b>5</b><i>0</i>" is not fifty,
    "10<sup>6</sup>" not one hundred six."""
    script = read('<b>bold</b>. Next <span class="x">thing</span>, H<sub>2</sub>O here.<br>Done')
    assert script.spoken == "bold. Next thing, H two O here. Done"
    assert script.spans[0].written == "bold. Next thing, H 2 O here. Done"
    assert read("Total: <b>5</b><i>0</i>, 10<sup>6</sup> cells").spoken == (
        "Total: five zero, ten six cells"
    )
    assert read("<p>one</p><p>two</p>").spoken == "one two"


def test_html_character_references_are_the_characters_they_stand_for():
    """A web article pasted as HTML: "&hellip;" was read "and hellip;", "&nbsp;" and
    "&mdash;" were given to the voice as written."""
    script = read(
        "<p>&ldquo;Wait&mdash;no!&rdquo; Tom&nbsp;&amp;&nbsp;Jerry&hellip; Caf&eacute; "
        "5 &lt; 10 &#8212; it&#x2019;s &pound;5.</p>"
    )
    assert script.spoken == (
        "\u201cWait, no!\u201d Tom and Jerry. Caf\u00e9 five less than ten \u2014 "
        "it\u2019s five pounds."
    )
    assert script.spans[0].written.startswith("\u201cWait\u2014no!\u201d Tom & Jerry\u2026")
    # Without a semicolon it is text; an unknown name stays; control and format
    # characters are not given to the voice.
    assert read("AT&T and R&D, &foo; ok").spoken == "A.T and T and R and D, &foo; ok"
    assert read("soft&shy;ware&#8203; &#0;ok").spoken == "software ok"


def test_html_blocks_are_structure_as_their_markdown_would_be():
    """An article pasted as HTML ran its heading into its first paragraph ("Chapter One It
    began.", no sentence end, no pause), its list items into one another ("Apples Pears"),
    and read what its <script> and <style> held."""
    script = read(
        "<style>p {color: red}</style><article>\n<h2>\n  Chapter One\n</h2>\n<p>It\nbegan."
        "</p><p>Then<br>\nit ended.</p>\n<ul>\n  <li>Apples</li>\n  <li>Pears</li>\n</ul>\n"
        "<table><tr><th>Name</th><th>Age</th></tr>\n<tr><td>Bob</td><td>42</td></tr></table>"
        "<script>var x = 1;</script></article>"
    )
    assert [s.spoken if isinstance(s, Words) else "|" for s in script.spans] == [
        "Chapter One.", "|", "It began.", "|", "Then it ended.", "|", "Apples. Pears.", "|",
        "Name, Age. Bob, forty-two.",
    ]  # fmt: skip
    # In code, a tag is text, as before.
    assert read("```\n<p>code</p>\n```").spoken == "<p>code</p>."


def test_footnote_and_citation_marks_are_not_read():
    """A reader skips them: "claim.<sup>1</sup> More" was given to the voice as "claim.1
    More", "[^1]", "[12]" and "[citation needed]" as written."""
    script = read(
        "A claim.[^1] Paris[12][13] is big.[citation needed] As shown [3]. He wrote."
        '<sup><a href="#fn1">1</a></sup> The end.\u00b9 Notes.[a]\n\n[^1]: A footnote.'
    )
    assert script.spoken == "A claim. Paris is big. As shown. He wrote. The end. Notes."
    # A power, an index in code, a reference link and a link are not marks.
    assert (
        read("10<sup>6</sup> cells, `x[1]`, arr[i], [the text][1], [2](https://x.com)").spoken
        == "ten six cells, x[1], arr[i], the text, two"
    )
