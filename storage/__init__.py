"""Persistence: models, migrations, queries, roster import. Free of Telegram types."""
