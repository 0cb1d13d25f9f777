"""LTX-2 video generation split across devices: placement plan, device hooks, precision, two-stage pipeline.

Every module here imports torch and diffusers inside functions only, so importing the package is light.
"""
