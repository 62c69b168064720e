"""Measurements: augmentation cost, mask quality, data and training throughput."""
