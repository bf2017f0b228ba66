"""Working days: bank holidays and the council's closure days, the one place for them."""
