"""iCalendar (RFC 5545) feeds of an inspection's timetable, deadlines and tasks, for the council's
Outlook and Google calendars: a secret URL per feed, and what each event last looked like, so a
changed event is published with a higher SEQUENCE under the same UID."""
