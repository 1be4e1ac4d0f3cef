"""FastAPI serving layer: assignment, variant search, event logging, web UI; the HTTP API is in the README.

Import the parts from their modules (`serving.app.create_app`, `serving.config`): this package root imports
nothing, so reading `serving.config` does not load FastAPI.
"""
