"""fame-bench."""
