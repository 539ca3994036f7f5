"""Conversation with the customer: reply rendering (states, tools and hand-off come later)."""
