"""Verdicts over time: day totals, alerts, streaks, history and their SQLite store."""
