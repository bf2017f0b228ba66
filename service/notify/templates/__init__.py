"""Message templates: what each purpose may say, the shipped defaults and the council's edits,
validation, previews and rendering.

Templates are written in GOV.UK Notify's language (`language.py`): `((contact.name))`, and
`((inspection.lead_inspector??text))` for words shown only when a placeholder has a value. There
are no loops or expressions, so what a coordinator saves cannot make rendering slow or large.
Every placeholder a purpose offers is listed in `placeholders.PLACEHOLDERS`; a template using
anything else is refused when it is saved, naming the placeholder. Rendering is strict (a missing
value is an error, never a blank), and a drill is marked whatever the template says. The
shipped wording is data, in `defaults/`."""
