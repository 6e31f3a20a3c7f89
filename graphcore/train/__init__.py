"""Training: optimizers, schedules, datasets, preprocessing, the trainer and babysitting helpers."""
