"""Base Task of the zoo: keras-hub's Task without forced tf.data."""

import keras
from keras_hub.models import Task


class ZooTask(Task):
    """A `keras_hub.models.Task` that feeds arrays straight to Keras.

    keras-hub's `Task.fit/evaluate/predict` wrap every input in a
    `tf.data` (or Grain) pipeline so that a preprocessor can run on it.
    Zoo tasks without a preprocessor skip that wrapper: numpy arrays go
    to `keras.Model.fit` directly, so `shuffle=True` is honoured and
    training on JAX or PyTorch never goes through TensorFlow. With a
    preprocessor attached, keras-hub's pipeline is used unchanged.

    Args:
        *args: forwarded to `keras_hub.models.Task`.
        **kwargs: forwarded to `keras_hub.models.Task`.

    Example:

    ```python
    class MyClassifier(zoo.task.ZooTask):
        backbone_cls = MyBackbone
    ```
    """

    def fit(self, *args, **kwargs):
        if self.preprocessor is None:
            return keras.Model.fit(self, *args, **kwargs)
        return super().fit(*args, **kwargs)

    def evaluate(self, *args, **kwargs):
        if self.preprocessor is None:
            return keras.Model.evaluate(self, *args, **kwargs)
        return super().evaluate(*args, **kwargs)

    def predict(self, *args, **kwargs):
        if self.preprocessor is None:
            return keras.Model.predict(self, *args, **kwargs)
        return super().predict(*args, **kwargs)

    @classmethod
    def from_config(cls, config):
        # keras-hub's `from_config` replaces the backbone entry in place;
        # work on a copy so the caller's config stays serialisable. A
        # task's `head_dtype` (float32 head under mixed precision) is
        # stored as a serialised policy.
        config = dict(config)
        if isinstance(config.get("head_dtype"), dict):
            config["head_dtype"] = keras.dtype_policies.deserialize(
                config["head_dtype"]
            )
        return super().from_config(config)

    def compile_from_config(self, config):
        """Restores the compile state saved in a `.keras` file.

        Keras skips (with a warning) models that override `compile()`;
        zoo tasks accept every standard compile argument, so the saved
        optimizer, loss and metrics are restored as Keras would.

        Args:
            config: dict from `get_compile_config()`.
        """
        config = keras.saving.deserialize_keras_object(config)
        self.compile(**config)
        if getattr(self, "optimizer", None) is not None and self.built:
            self.optimizer.build(self.trainable_variables)
