"""Every length and rate limit the project honours, in one place.

The numbers come from the public documentation of the WhatsApp Cloud API
(message templates: body, header, footer, buttons; throughput), of the Telegram
Bot API (``sendMessage``: 4,096 characters; about 30 messages a second) and
from the Designers Italia model for municipal sites.
Validation, renderers and the simulator all import them from here.
"""

from __future__ import annotations

# --- Bulletin fields -------------------------------------------------------
#: Designers Italia's ``descrizione_breve``: the text that goes to phones.
SUMMARY_MAX = 255
SUMMARY_MIN = 20
#: A headline must fit a phone's notification and a template parameter with
#: room to spare inside the 1,024-character template body (see below).
TITLE_MAX = 100
TITLE_MIN = 5
#: Free-text fields shown on the site and in CAP ``areaDesc``.
AREA_MAX = 200
OFFICE_MAX = 120
LOCATION_MAX = 200
#: The title of an attached document, as a link text.
ATTACHMENT_TITLE_MAX = 120
#: A stable identifier is also used as ``biz_opaque_callback_data``, whose
#: maximum is undocumented: keep it short.
ID_MAX = 80
# --- Files in content/ ----------------------------------------------------------
# A pull request is untrusted input: every file it adds has a ceiling, checked
# before the file is read. Sizes in bytes.
#: A bulletin is text: the longest real ones (a call for tenders) are a few tens of kilobytes.
BULLETIN_MAX_BYTES = 256 * 1024
#: A page of the site (home, privacy, accessibility statement…).
PAGE_MAX_BYTES = 256 * 1024
#: An image published with the site (frontmatter ``image``, in a text, anywhere in content/): a page must
#: open on a phone with a weak signal in an emergency, so a phone's original (8–12 MB) is reduced first.
#: The web editor refuses bigger uploads with the same number.
IMAGE_MAX_BYTES = 2 * 1024 * 1024
#: Another document published as it is (the PDF of an ordinance, a form).
DOCUMENT_MAX_BYTES = 20 * 1024 * 1024
#: The frontmatter between the two ``---`` lines: a few hundred bytes in practice.
FRONTMATTER_MAX_BYTES = 16 * 1024
#: Nesting of YAML in frontmatter: ``event:`` with its ``start:`` is 2; lists inside it 3.
FRONTMATTER_MAX_DEPTH = 4
#: A page's own frontmatter texts (MkDocs ``title`` and ``description``).
PAGE_TITLE_MAX = 120
PAGE_DESCRIPTION_MAX = 300

# --- WhatsApp Cloud API templates --------------------------------------------
TEMPLATE_BODY_MAX = 1024
TEMPLATE_HEADER_MAX = 60
TEMPLATE_FOOTER_MAX = 60
TEMPLATE_BUTTON_LABEL_MAX = 25
TEMPLATE_URL_MAX = 2000
#: A body parameter may not hold more than this many consecutive spaces.
TEMPLATE_PARAM_MAX_SPACES = 4
#: Free-form text (inside the 24 h customer-service window).
WHATSAPP_TEXT_MAX = 4096

# --- Telegram Bot API --------------------------------------------------------
TELEGRAM_TEXT_MAX = 4096

# --- Throughput (messages per second) ----------------------------------------
# WhatsApp's own throughput per number (80 by default, up to 1,000) bounds a setting: site_tools.settings.
#: A number in coexistence (also in the WhatsApp Business app: ``extra.town.whatsapp.coexistence``) sends at
#: most this many messages per second, whatever its tier (TownConfig.whatsapp_rate).
WHATSAPP_SHARED_APP_MPS = 20
TELEGRAM_MPS = 30

# --- The one-to-one counter ------------------------------------------------------
#: WhatsApp's customer-service window: free-form answers only within 24 h of the citizen's last message.
SERVICE_WINDOW_SECONDS = 24 * 3600
#: Media a citizen sends are fetched up to this size (WhatsApp allows documents up to 100 MB).
COUNTER_MEDIA_MAX = 25 * 1024 * 1024
#: A canned answer's title, as staff see it in the list.
ANSWER_TITLE_MAX = 80

# --- The social networks (channels/facebook.py, mastodon.py, bluesky.py) ------------------------------
#: Graph API ``POST /{page-id}/feed``: a Page post's ``message`` (Facebook's own limit for a post's text).
FACEBOOK_MESSAGE_MAX = 63206
#: Mastodon's default ``configuration.statuses.max_characters`` (an instance may raise it:
#: ``extra.town.mastodon.max_characters``); every link counts as this many characters, whatever its length.
MASTODON_DEFAULT_MAX_CHARACTERS = 500
MASTODON_URL_CHARACTERS = 23
#: How long a Mastodon server remembers an ``Idempotency-Key`` (seconds): the same key within it returns the
#: first post instead of a second one.
MASTODON_IDEMPOTENCY_SECONDS = 3600
#: ``app.bsky.feed.post``: ``text`` at most 300 graphemes and 3,000 bytes of UTF-8.
BLUESKY_POST_GRAPHEMES = 300
BLUESKY_POST_BYTES = 3000
#: ``app.bsky.embed.external``: the link card's thumbnail blob (bytes), its title and description.
BLUESKY_THUMB_MAX_BYTES = 1_000_000
#: ``com.atproto.server.createSession``, per handle: 30 in 5 minutes and 300 a day. The channel keeps its
#: session (store, ``service_state``) and refreshes it; it logs in with the app password only when it must.
BLUESKY_SESSIONS_PER_5_MIN = 30
BLUESKY_SESSIONS_PER_DAY = 300
# -- Web Push (RFC 8030, RFC 8291) -------------------------------------------------------------------------------
#: A push message's encrypted body: push services must accept at least 4,096 bytes (RFC 8030 §7.2) and refuse
#: more with 413 (FCM, Mozilla, Apple, WNS all stop at 4,096).
PUSH_RECORD_MAX = 4096
#: What is left for the notification's JSON once encrypted as one aes128gcm record (RFC 8291 §4): the header
#: (salt 16 + record size 4 + key id length 1 + the sender's public key 65 = 86 bytes), the padding delimiter
#: (1) and the AEAD tag (16).
PUSH_PAYLOAD_MAX = PUSH_RECORD_MAX - 86 - 1 - 16
#: How long a push service keeps a notification for a browser that is offline (the TTL header, seconds).
PUSH_TTL_URGENT = 24 * 3600
PUSH_TTL_NORMAL = 3 * 24 * 3600
