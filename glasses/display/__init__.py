"""Screen layout, rasterising and the compositor that feeds the link."""
