"""Test helpers for the model store: a local stand-in of the Hugging Face Hub."""
