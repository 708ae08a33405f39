"""Screen layout, rasterising and the compositor that feeds the link.

``views`` describe what to show (frozen dataclasses), ``layout`` breaks text into lines,
``raster.Renderer`` turns a :class:`views.Screen` into pixel levels, and ``compositor``
turns successive frames into the fewest BLIT + PRESENT messages.
"""
