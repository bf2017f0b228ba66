"""The written statement of action: drafted, approved at a named meeting, then published, which
meets the `action_statement` deadline (the `action_statement_published` milestone)."""
