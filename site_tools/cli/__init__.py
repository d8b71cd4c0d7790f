"""The ``site-tools`` command: thin click wrappers over the layers, and the text people read."""
