"""site-tools: bulletins of an Italian town hall, from Markdown to the site, WhatsApp and Telegram."""

__version__ = "0.1.0"
