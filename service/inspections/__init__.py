"""Inspections: announce, timetable, deadlines, overrides, milestones and deadline reminders."""
