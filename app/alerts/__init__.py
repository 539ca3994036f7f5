"""Alertmanager → Telegram: alerts posted to the on-call chat, silenced from a button."""
