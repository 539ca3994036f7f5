"""The shop's own knowledge: delivery, payment, returns, size charts, contacts and hours."""
