"""Chatbot app: a customer-service assistant with intent detection, out-of-scope
fallback, FAQ answers and human handoff (issue 3)."""
