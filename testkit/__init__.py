"""What the tests and the benchmarks both run the bot against: a fake Telegram Bot API
server, the real bot started on a test database, and throw-away PostgreSQL databases.
Nothing of the product imports it."""
