"""Standard Webhooks for the council intranet: subscriptions, an outbox of events written in the
same transaction as the change they report, and the worker that delivers them in order."""
