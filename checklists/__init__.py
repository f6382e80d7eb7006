"""Checklists as files: their schema, loading with precise problems, answers and scoring.

This package knows nothing of Telegram or the database, so it can be tested and reused alone.
"""
