"""HTML significance reports rendered from `analysis` results."""
