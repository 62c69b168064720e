"""NumPy reference implementation (no torch): one function per paper step."""
