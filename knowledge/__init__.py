"""Playbook ingestion, embeddings, stores and hybrid retrieval. Imports nothing of ours above it."""
