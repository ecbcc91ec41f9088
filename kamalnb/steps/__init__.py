"""Orchestration: each step runs builders' commands through an executor, emits events and
returns a Report. Steps never import ipywidgets; the ui layer listens to their events."""
