"""Storage: the database engine and sessions, direct driver statements, the models, the schema."""
