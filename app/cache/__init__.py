"""Caches: one backend (Redis or in-process) under typed product, vision and session caches."""
