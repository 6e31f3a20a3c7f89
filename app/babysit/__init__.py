"""Babysitting a run and searching hyperparameters in the GUI: the Babysit dock and the Search dialog."""
