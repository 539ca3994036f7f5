"""Messages to the managers' chat, kept in Postgres until a bot process has sent them."""
