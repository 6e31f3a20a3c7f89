"""The Qt GUI of Backprop Studio: it shows and edits what graphcore owns."""
