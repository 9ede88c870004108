"""physvae: temporal VAEs whose latent dynamics are locally linear or neural ODEs, and their evaluation."""

__version__ = "0.1.0"
