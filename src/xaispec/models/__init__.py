"""Models: the studies' architectures, what they read, training, evaluation, the run layout
and the precision they train in on this machine.

Importing this package does not import TensorFlow: builders import Keras when called.
"""
from .architectures import MODELS, PREFIX, alexnet, audionet, build, cnn1d, cnn2d

__all__ = ["MODELS", "PREFIX", "alexnet", "audionet", "build", "cnn1d", "cnn2d"]
