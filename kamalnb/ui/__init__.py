"""Renderers of events: plain lines in a terminal, a live board in a notebook."""
