"""Training from the GUI: the train dock, its worker thread, live plots and the boundary view."""
