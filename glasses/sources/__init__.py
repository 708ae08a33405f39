"""Where perception gets its input: audio (files, microphones) and camera frames.

Heavy dependencies (soundfile, sounddevice, OpenCV, picamera2) are imported lazily inside the
sources that need them, so importing this package costs nothing.
"""
