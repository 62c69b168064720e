"""fame-bench: FAME, BE, MoCo v2 and VTHCL for background-bias research in video SSL."""

__version__ = "0.1.0"
