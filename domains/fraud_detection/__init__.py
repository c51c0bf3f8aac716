"""Fraud detection: classifier, autoencoder anomaly detector and card-history sequence model."""
