"""The one-to-one counter: citizens' questions kept as conversations, answered by staff from a web inbox.

* :mod:`.inbound` — a webhook message that is not a keyword → a conversation message;
* :mod:`.media` — citizens' images and documents fetched through the Cloud API into the store;
* :mod:`.library` — canned answers and bulletin suggestions;
* :mod:`.template` — the approved template for answers outside the 24-hour window;
* :mod:`.auth` — staff passwords, sessions, CSRF, login throttling;
* :mod:`.web` — the inbox (Starlette, Jinja2), mounted at ``/sportello/`` by the subscriptions service;
* :mod:`.runtime` — the inbox's store connections and background loops (media, retention, reloads).
"""
