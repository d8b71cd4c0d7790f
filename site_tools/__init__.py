"""site-tools: bulletins of an Italian town hall, from Markdown to the site, WhatsApp and Telegram."""

try:  # written by setuptools-scm from the git tag when the package is installed
    from site_tools._version import __version__
except ImportError:  # pragma: no cover - a source tree that was never installed
    __version__ = "0.0.0+unknown"
