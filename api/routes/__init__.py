"""One router per concern: chat, openai_compat, conversations, subscribers, knowledge, feedback, health."""
