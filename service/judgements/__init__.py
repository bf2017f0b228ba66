"""The report's judgements: recorded per framework (its file lists them, the scale and the rule
that decides the overall judgement), read back with that rule applied."""
