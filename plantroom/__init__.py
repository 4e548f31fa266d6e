"""The plantroom command line and the wiring of components into processes."""
