"""Imaging app: medical image diagnosis with calibrated probabilities, Grad-CAM heat maps and an audit trail."""
