"""Scheduled work: due rows in the database, claimed by a short APScheduler tick."""
