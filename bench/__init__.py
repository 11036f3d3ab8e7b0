"""Measurements of the pipeline's quality and speed; run each as ``python -m bench.<area>``."""
