"""Fraud app: real-time payment fraud scoring with reason codes, cost-based decisions and a review queue."""
