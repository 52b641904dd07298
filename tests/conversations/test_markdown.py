import re

import pytest

from conversations.markdown import render_markdown


@pytest.mark.parametrize(
    "payload",
    [
        "<script>alert(1)</script>",
        '<img src="https://evil.example/x.png" onerror="alert(1)">',
        "![tracker](https://evil.example/pixel.png)",
        "[click](javascript:alert(1))",
        '<a href="#" onclick="alert(1)">x</a>',
    ],
)
def test_model_output_cannot_inject_html_scripts_or_remote_images(payload):
    html = render_markdown(payload)
    assert "<script" not in html
    assert "<img" not in html
    assert 'href="javascript' not in html
    assert not re.search(r"<[^>]*\son\w+\s*=", html)  # no element carries an event handler


def test_markdown_still_renders_formatting_and_safe_links():
    html = render_markdown("**bold** and `code`\n\n- a\n- b\n\n[docs](https://example.com)")
    assert "<strong>bold</strong>" in html
    assert "<code>code</code>" in html
    assert "<li>a</li>" in html
    assert 'href="https://example.com"' in html and 'rel="nofollow noopener noreferrer"' in html


def test_raw_html_is_shown_as_text():
    assert "&lt;b&gt;" in render_markdown("<b>not bold</b>")
