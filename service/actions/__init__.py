"""Action plans after the inspection: recommendations from the report, each with actions led by
an agency. Every action is a plan task underneath, so owners are reminded and overdue actions
escalate by the plan's own machinery; the action adds the agency, the RAG status and progress."""
