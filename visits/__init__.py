"""The visit's domain: a shopper's way through a draft, submitting it, the integrity checks
and the admin's review, and assigned visits. No Telegram; the database through the ORM
objects and the queries in ``storage``."""
