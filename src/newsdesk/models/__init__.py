"""Model loading, long-text handling and the extractive summariser's model."""
