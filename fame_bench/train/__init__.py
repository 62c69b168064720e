"""Pretraining: configuration, batches, the training loop, checkpoints, distributed set-up and
the run-record layer (one experiment = pretrain -> evaluate -> record)."""
