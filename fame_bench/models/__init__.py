"""Video backbones and projection heads."""
