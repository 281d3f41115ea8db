"""tinysense host toolkit: train, convert, build and replay for the tinysense device library."""

__version__ = "0.1.0"
