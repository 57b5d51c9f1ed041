"""genjax: functional JAX building blocks for autoencoders, VAEs and GANs."""

__version__ = "0.1.0"
