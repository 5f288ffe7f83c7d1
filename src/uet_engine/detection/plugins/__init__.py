"""Error plugins: one module per built-in plugin, the protocol and helpers in ``base``, the registry in ``registry``."""
