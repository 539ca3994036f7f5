"""Database access: the async engine, the declarative base, migrations and the embedded Postgres."""
