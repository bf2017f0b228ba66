"""The cascade: the communication tree set in motion for one inspection."""
