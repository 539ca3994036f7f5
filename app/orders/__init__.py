"""Orders: checkout drafts with reserved stock, the status workflow, and the admin API."""
