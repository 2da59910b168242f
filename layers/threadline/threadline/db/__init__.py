"""PostgreSQL access: one reused connection per container, tenant-scoped transactions, migrations, repositories."""
