"""Kinds of targets: g4f providers (g4f.py), OpenAI-compatible HTTP endpoints (openai.py)."""
