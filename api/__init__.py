"""The FastAPI app serving the assistant over HTTP."""
