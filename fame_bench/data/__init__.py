"""Video data: the synthetic benchmark, real datasets in their official layouts, frame sampling,
decoding and clip transforms."""
