"""What goes out: agents' replies on every channel, their replay, connector callbacks, window expiry."""
