"""Notification channels, templates and the outbox dispatcher.

Deadline reminders reach people through `service.scheduler.jobs.reminder_listeners`; the
channels that carry them arrive with the communication tree."""
