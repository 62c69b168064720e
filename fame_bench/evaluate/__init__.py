"""Evaluation of a pretrained backbone: linear probe, finetune, retrieval and the synthetic
bias metrics, on the synthetic benchmark or real datasets."""
