"""The model chain: OpenAI-compatible links with fallback, breaker, structured outputs and costs."""
