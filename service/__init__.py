"""inspection-week: starts a council's inspection plan the moment the notification call comes."""
