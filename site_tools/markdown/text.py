"""Markdown → WhatsApp formatting and → Telegram HTML.

Both walk the same markdown-it token stream; a :class:`Style` says how each
construct looks. WhatsApp: ``*bold*``, ``_italic_``, ``~strike~``,
```` ```mono``` ````, ``- `` lists, ``> `` quotes. Telegram HTML: only its
own tags (``b i s a code pre blockquote``), everything else escaped.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from markdown_it.token import Token

from site_tools.markdown.scan import parser


@dataclass(frozen=True)
class Style:
    bold: tuple[str, str]
    italic: tuple[str, str]
    strike: tuple[str, str]
    code: tuple[str, str]
    pre: tuple[str, str]
    quote: tuple[str, str]
    escape: Callable[[str], str]
    link: Callable[[str, str], str]  # (text already rendered, absolute url) → markup
    bullet: str = "- "


def _wa_link(text: str, url: str) -> str:
    return url if text.strip() in ("", url) else f"{text} ({url})"


def _tg_escape(text: str) -> str:
    return html.escape(text, quote=False)


def _tg_link(text: str, url: str) -> str:
    return f'<a href="{html.escape(url, quote=True)}">{text or _tg_escape(url)}</a>'


WHATSAPP = Style(
    ("*", "*"), ("_", "_"), ("~", "~"), ("```", "```"), ("```\n", "\n```"), ("> ", ""), lambda s: s, _wa_link
)
TELEGRAM = Style(
    ("<b>", "</b>"),
    ("<i>", "</i>"),
    ("<s>", "</s>"),
    ("<code>", "</code>"),
    ("<pre>", "</pre>"),
    ("<blockquote>", "</blockquote>"),
    _tg_escape,
    _tg_link,
    "• ",
)


def render_markdown(body: str, style: Style, absolute: Callable[[str], str]) -> list[str]:
    """The body as a list of blocks (paragraphs, list items, …) in the channel's markup.

    Blocks are returned separately so that a long text can be split between
    messages without cutting a tag in half.
    """
    tokens = parser().parse(body)
    blocks: list[str] = []
    list_lines: list[str] = []
    list_stack: list[list[int]] = []  # per open list: [is_ordered, counter]
    quote_depth = 0
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        kind = tok.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            if not list_stack:
                list_lines = []
            list_stack.append([kind == "ordered_list_open", int(tok.attrGet("start") or 1) - 1])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            list_stack.pop()
            if not list_stack and list_lines:
                # A whole list is one block: never split across two messages.
                blocks.append("\n".join(list_lines))
        elif kind == "list_item_open":
            list_stack[-1][1] += 1
        elif kind == "blockquote_open":
            quote_depth += 1
        elif kind == "blockquote_close":
            quote_depth -= 1
        elif kind == "heading_open":
            text = _inline(tokens[i + 1], style, absolute)
            blocks.append(f"{style.bold[0]}{text}{style.bold[1]}")
            i += 2
        elif kind == "inline":
            text = _inline(tok, style, absolute)
            if quote_depth:
                text = f"{style.quote[0]}{text}{style.quote[1]}"
            if list_stack:
                ordered, n = list_stack[-1]
                indent = "  " * (len(list_stack) - 1)
                list_lines.append(f"{indent}{n}. {text}" if ordered else f"{indent}{style.bullet}{text}")
            elif text.strip():
                blocks.append(text)
        elif kind in ("fence", "code_block"):
            code = tok.content.rstrip("\n")
            blocks.append(f"{style.pre[0]}{style.escape(code)}{style.pre[1]}")
        elif kind == "html_block":
            pass  # raw HTML has no place in a phone message
        i += 1
    return blocks


#: Inline emphasis tokens → (Style attribute, 0 = opening / 1 = closing mark).
_MARKS = {
    "strong_open": ("bold", 0),
    "strong_close": ("bold", 1),
    "em_open": ("italic", 0),
    "em_close": ("italic", 1),
    "s_open": ("strike", 0),
    "s_close": ("strike", 1),
}


def _inline(token: Token, style: Style, absolute: Callable[[str], str]) -> str:
    out: list[str] = []
    link_stack: list[tuple[int, str]] = []
    for child in token.children or []:
        t = child.type
        if t == "text":
            out.append(style.escape(child.content))
        elif t in ("softbreak",):
            out.append(" ")
        elif t == "hardbreak":
            out.append("\n")
        elif t in _MARKS:
            name, side = _MARKS[t]
            out.append(getattr(style, name)[side])
        elif t == "code_inline":
            out.append(f"{style.code[0]}{style.escape(child.content)}{style.code[1]}")
        elif t == "link_open":
            link_stack.append((len(out), absolute(str(child.attrGet("href") or ""))))
        elif t == "link_close" and link_stack:
            start, url = link_stack.pop()
            text = "".join(out[start:])
            del out[start:]
            out.append(style.link(text, url))
        elif t == "image":
            alt = child.content or "immagine"
            out.append(style.link(style.escape(alt), absolute(str(child.attrGet("src") or ""))))
        # html_inline is dropped on purpose
    return "".join(out).strip()
