"""The physical layout of a release, declared once: read by the loaders (which build it) and
by the cube model (which maps cubes onto it)."""
