"""Corpora, downloads, synthesis, preparation into stores, and splits."""
