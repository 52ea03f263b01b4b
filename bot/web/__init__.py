"""The web channel: a chat page on the same Dialogue core, anonymous sessions, calendar feeds.

store.py owns the web tables; security.py signs cookies, derives CSRF tokens and limits rates;
html.py turns the core's Telegram HTML into safe page HTML; chat.py runs one exchange with the core
and keeps what the page shows; feed.py builds a user's calendar feed; app.py is the aiohttp
application; serve.py runs it (with the Telegram bot on the same event loop when a token is set).
"""
