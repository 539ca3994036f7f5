"""Quality evals with thresholds: retrieval (text → SKU), and later photos and conversations."""
