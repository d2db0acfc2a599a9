"""Training, evaluation, scoring and allocation, plus the synthetic county model."""
