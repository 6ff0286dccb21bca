"""Dataset jobs: paths in, paths out, built on the core and io layers (see ARCHITECTURE.md)."""
