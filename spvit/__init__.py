"""spvit-fpga: token-pruned Vision Transformers, bit-exact from PyTorch to HLS, RTL and the ZCU102."""

__version__ = "0.1.0"
