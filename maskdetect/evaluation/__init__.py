"""Measuring a model: metrics per class and source, annotated photos end to end, face-check folders."""
