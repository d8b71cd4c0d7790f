"""Channels: where a rendered message goes. One small async interface.

* :mod:`.whatsapp_cloud` — the Cloud API messages endpoint (one request per list subscriber);
* :mod:`.telegram` — the Bot API, one post to the town's channel;
* :mod:`.whatsapp_channel` — the WhatsApp Channel: manual by default (no official API),
  or a third-party gateway only when the town opts in knowingly.
"""
