"""Synthetic data: buy-till-you-die draws for the models' tests and the realistic sample exports."""
