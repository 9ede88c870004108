"""Figures and animations (matplotlib, imageio)."""
