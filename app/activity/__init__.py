"""Daily figures kept in Postgres, so every replica adds to the same numbers (admin overview)."""
