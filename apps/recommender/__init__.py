"""Recommender app: product recommendations from implicit feedback (EASE / item-kNN served as an
item-to-item matrix, ALS/BPR/popularity baselines from ``implicit``), similar items, cold start."""
