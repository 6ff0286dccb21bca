"""The overlap study: synthetic scenes, the degradation benchmark and the dataset audit."""
