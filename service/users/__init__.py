"""Staff who sign in to the web pages: accounts, roles, passwords, sessions and the sign-in
throttle. API keys (service.api_keys) stay separate: they are for machines, these are for people."""
