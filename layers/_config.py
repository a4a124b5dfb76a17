"""Stored constructor arguments and the `get_config` built from them.

Private; `zoo` uses it too. A layer or model that keeps each argument
under an attribute of the same name, in the order of its config, stores
them with one `_set_config` call instead of one assignment per argument
and inherits a `get_config` that lists the same names again.
"""


class ConfigMixin:
    """`get_config` from the arguments stored by `_set_config`.

    Put it before the Keras base class (`class M(ConfigMixin, Backbone)`).
    Tuples are returned as lists (their JSON form); every other value as
    stored.

    Example:

    ```python
    class Scale(ConfigMixin, keras.layers.Layer):
        def __init__(self, factor=2.0, axes=(1,), **kwargs):
            super().__init__(**kwargs)
            self._set_config(factor=float(factor), axes=tuple(axes))
    ```
    """

    def _set_config(self, **config):
        """Sets every `name=value` as an attribute; they form the config.

        Args:
            **config: the arguments, already checked and normalised, in
                config order.
        """
        for key, value in config.items():
            setattr(self, key, value)
        self._config_keys = tuple(config)

    def get_config(self):
        config = super().get_config()
        for key in self._config_keys:
            value = getattr(self, key)
            config[key] = list(value) if isinstance(value, tuple) else value
        return config
