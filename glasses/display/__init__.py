"""Screen layout and rasterising.

``views`` describe what to show (frozen dataclasses), ``layout`` breaks text into lines, and
``raster.Renderer`` turns a :class:`views.Screen` into pixel levels for a
:class:`~firmware_bridge.protocol.geometry.DisplayGeometry`; the link's
:class:`~firmware_bridge.compositor.Compositor` turns successive frames into the fewest
BLIT + PRESENT messages.
"""
