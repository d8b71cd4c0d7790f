"""Every length and rate limit the project honours, in one place.

The numbers come from ``shared/spec/messaging-apis.md`` (WhatsApp Cloud API,
Telegram Bot API) and from the Designers Italia model for municipal sites.
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
#: A stable identifier is also used as ``biz_opaque_callback_data``, whose
#: maximum is undocumented: keep it short.
ID_MAX = 80
#: An image beside a bulletin (frontmatter ``image`` or in the text): a page must open on a phone
#: with a weak signal in an emergency. The web editor refuses bigger uploads with the same number.
IMAGE_MAX_BYTES = 2_000_000

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
WHATSAPP_DEFAULT_MPS = 80
WHATSAPP_MAX_MPS = 1000
WHATSAPP_SHARED_APP_MPS = 20
TELEGRAM_MPS = 30
