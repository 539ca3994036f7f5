"""Text retrieval over the catalog: embedders, the pgvector index, hybrid search, prompt context."""
