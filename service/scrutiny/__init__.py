"""Reporting the action plans' progress to scrutiny committees and Cabinet, meeting by meeting."""
