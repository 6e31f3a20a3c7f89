"""Run and step: forward/backward passes shown on the canvas wire by wire (issue 5)."""
