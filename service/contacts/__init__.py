"""Contacts and the communication tree: who notifies whom, each with a deputy."""
