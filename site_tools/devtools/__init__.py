"""Not runtime code: the local simulator of the WhatsApp and Telegram APIs, and the demo, for tests, benchmarks and newcomers."""
