"""The project plan: tasks from the council's plan definition, created on announce with owners and
due times anchored on the timetable, reminded and escalated through due rows; and the 18-case
audit of week 2."""
