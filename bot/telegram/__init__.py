"""The Telegram channel: the only package that imports python-telegram-bot."""
