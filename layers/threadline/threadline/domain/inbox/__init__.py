"""The team inbox: conversations and messages as agents read them, lifecycle, assignment, labels, notes, read state, counts, search."""
