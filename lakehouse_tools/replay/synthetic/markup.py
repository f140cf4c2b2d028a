"""Reddit's text conventions: the title slug of a permalink, and the HTML it sends beside markdown."""

from __future__ import annotations

import html
import re
import unicodedata

_INLINE = re.compile(
    r"\[(?P<text>[^\]]+)\]\((?P<href>[^)\s]+)\)"
    r"|(?P<url>https?://[^\s)]+)"
    r"|\*\*(?P<bold>[^*]+)\*\*"
    r"|(?<![\w/])(?P<user>u/[A-Za-z0-9_-]+)"
)


def slug(title: str) -> str:
    """The words of a title as a permalink spells them: ASCII, lowercase, ``_``-joined, at most about 50 chars."""
    folded = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode("ascii").lower()
    joined = ""
    for word in re.findall(r"[a-z0-9]+", folded):
        if joined and len(joined) + 1 + len(word) > 50:
            break
        joined = f"{joined}_{word}" if joined else word[:50]
    return joined or "_"


def _inline_html(text: str) -> str:
    out: list[str] = []
    last = 0
    for match in _INLINE.finditer(text):
        out.append(_escape(text[last : match.start()]))
        if match.group("text") is not None:
            href = _escape(match.group("href"))
            out.append(f'<a href="{href}">{_escape(match.group("text"))}</a>')
        elif match.group("url") is not None:
            url = _escape(match.group("url"))
            out.append(f'<a href="{url}">{url}</a>')
        elif match.group("bold") is not None:
            out.append(f"<strong>{_escape(match.group('bold'))}</strong>")
        else:
            user = match.group("user")
            out.append(f'<a href="/{user}">{user}</a>')
        last = match.end()
    out.append(_escape(text[last:]))
    return "".join(out)


def _escape(text: str) -> str:
    return html.escape(text, quote=True).replace("&#x27;", "&#39;")


def markdown_html(text: str) -> str:
    """The ``<div class="md">`` rendering Reddit sends beside markdown: paragraphs, lists, code, links."""
    blocks: list[str] = []
    for block in text.split("\n\n"):
        if block.startswith("```"):
            code = block.strip("`").strip("\n")
            blocks.append(f"<pre><code>{_escape(code)}\n</code></pre>")
        elif all(line.startswith("- ") for line in block.split("\n")):
            items = "".join(f"<li>{_inline_html(line[2:])}</li>\n" for line in block.split("\n"))
            blocks.append(f"<ul>\n{items}</ul>")
        else:
            blocks.append(f"<p>{_inline_html(block)}</p>")
    return '<div class="md">' + "\n\n".join(blocks) + "\n</div>"
