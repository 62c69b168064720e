"""Pretraining methods (MoCo v2 with FAME/BE, VTHCL, supervised): each a model with its loss,
driven by the training loop."""
