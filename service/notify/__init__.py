"""Notification channels (outbox, SMTP, GOV.UK Notify), message templates, the outbox table
and the dispatcher that sends it."""
