"""Telegram front end and the admin command line."""
