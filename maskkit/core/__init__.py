"""Core: arrays in, arrays out.  Nothing here opens a file (see ARCHITECTURE.md)."""
