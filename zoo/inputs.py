"""Input adapters: what `python -m zoo predict NAME INPUT` reads.

Each bundled preset declares the kinds of file it takes
(`zoo.family.PresetSpec.inputs`): a picture (`PictureInput`), a `.npy`
or `.csv` array (`ArrayInput`), or a JSON document such as a few-shot
episode (`JSONInput`). An adapter turns the file into the model's input
batch and says how the output reads (`"classes"`: top-k labels with
probabilities; `"values"`: the output array). Files are checked before
the model is loaded where they can be (pictures), and every refusal is a
`ValueError` naming the file and what was expected.
"""

import json
import os

# Pictures: larger ones are refused before decoding (a PNG cannot be
# decoded at a lower resolution; a JPEG is decoded at 1/2..1/8 scale with
# `Image.draft` first). Decoded pictures are shrunk to at most
# `_WORK_SIDE` pixels a side before any array is made.
MAX_IMAGE_PIXELS = 4096 * 4096
_WORK_SIDE = 512
# Modes with more than 8 bits per sample: rescaled by their real range.
_HIGH_DEPTH_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def read_image(path):
    """Decodes a picture file with bounded memory and time.

    The size in the header is checked right after `Image.open`, before
    any pixel is decoded: pictures over `MAX_IMAGE_PIXELS` are refused
    (a JPEG is first decoded at a reduced scale with `Image.draft`), as
    are decompression bombs and truncated files. Decoded pictures are
    shrunk to at most 512 pixels a side. 16-bit and 32-bit pictures
    (modes `I;16`, `I`, `F`) are rescaled by their real value range;
    palette, grey+alpha and RGBA pictures are converted to RGBA.

    Args:
        path: str. Picture file (PNG, JPEG, ...).

    Returns:
        A uint8 array `(H, W, 4)` (RGBA), or a float64 array `(H, W)` in
        `[0, 1]` for high-depth pictures; either is accepted by
        `zoo.data.digit_image_to_features`.

    Raises:
        ValueError: unreadable, truncated, too large or empty picture.

    Example:

    ```python
    features = zoo.data.digit_image_to_features(
        zoo.cli.read_image("three.png"))
    ```
    """
    import warnings

    import numpy as np
    from PIL import Image
    from PIL import UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as e:
        raise ValueError(
            f"`input` {path!r} is refused: its header declares more pixels "
            f"than allowed ({e}). The limit is {MAX_IMAGE_PIXELS} pixels "
            "(4096x4096); downscale the picture first."
        ) from None
    except UnidentifiedImageError:
        raise ValueError(
            f"`input` {path!r} is not a readable image (PNG, JPEG, ...)."
        ) from None
    except OSError as e:
        raise ValueError(
            f"`input` {path!r} cannot be read: {e.strerror or e}."
        ) from None
    with img:
        width, height = img.size
        if width * height > MAX_IMAGE_PIXELS and img.format == "JPEG":
            img.draft(img.mode, (_WORK_SIDE, _WORK_SIDE))
            width, height = img.size
        if width * height > MAX_IMAGE_PIXELS:
            raise ValueError(
                f"`input` {path!r} is {width}x{height} pixels "
                f"({width * height / 1e6:.1f} M), over the limit of "
                f"{MAX_IMAGE_PIXELS} pixels (4096x4096) decoded by the CLI; "
                "downscale the picture first."
            )
        if width < 1 or height < 1:
            raise ValueError(f"`input` {path!r} is an empty image.")
        try:
            img.load()
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise ValueError(
                f"`input` {path!r} is truncated or corrupt and cannot be "
                f"decoded ({e})."
            ) from None
        if img.mode in _HIGH_DEPTH_MODES:
            # 16-bit and 32-bit pictures: rescaled by their real range
            # (clipping to 8 bits would blank light ink on dark).
            img = img.convert("F")
            if max(img.size) > _WORK_SIDE:
                img.thumbnail((_WORK_SIDE, _WORK_SIDE))
            arr = np.asarray(img, dtype="float64")
            if not np.all(np.isfinite(arr)):
                raise ValueError(
                    f"`input` {path!r} contains NaN or infinite pixels."
                )
            lo, hi = arr.min(), arr.max()
            return (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
        img = img.convert("RGBA")
        if max(img.size) > _WORK_SIDE:
            img.thumbnail((_WORK_SIDE, _WORK_SIDE))
        return np.asarray(img)


def read_array(path):
    """Reads a `.npy` or `.csv` file of numbers (CSV: one sample a row).

    Args:
        path: str. The file.

    Returns:
        A numeric numpy array with at least one value.

    Raises:
        ValueError: unreadable file, non-numeric values, no values.

    Example:

    ```python
    x = zoo.inputs.read_array("sequence.npy")
    ```
    """
    import numpy as np

    try:
        if path.lower().endswith(".npy"):
            arr = np.load(path, allow_pickle=False)
        else:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # empty file
                arr = np.loadtxt(path, delimiter=",", ndmin=2,
                                 dtype="float64")
    except (ValueError, OSError, EOFError) as e:
        raise ValueError(
            f"`input` {path!r} is not a readable numeric "
            f"{'.npy' if path.lower().endswith('.npy') else 'CSV'} file "
            f"({' '.join(str(e).split())})."
        ) from None
    if not isinstance(arr, np.ndarray) or arr.dtype == object or not (
            np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(
            f"`input` {path!r} must hold numbers. Received dtype="
            f"{getattr(arr, 'dtype', type(arr).__name__)}."
        )
    if arr.size == 0:
        raise ValueError(f"`input` {path!r} holds no values (empty array).")
    return arr


class InputAdapter:
    """Base class of the input adapters.

    Subclasses set `kind` (a word for error messages), `output`
    (`"classes"` or `"values"`) and implement `accepts` and `read`.

    Example:

    ```python
    adapter = zoo.inputs.ArrayInput()
    x, model = adapter.read("x.npy", metadata, lambda: zoo.load(name))
    ```
    """

    kind = "input"
    output = "classes"

    def accepts(self, path):
        """Whether this adapter reads the file at `path` (by its suffix).

        Args:
            path: str.

        Returns:
            bool.
        """
        raise NotImplementedError

    def read(self, path, metadata, load_model):
        """Reads the file into an input batch, loading the model.

        Args:
            path: str. An existing file.
            metadata: dict. The preset's metadata.
            load_model: callable `() -> model`, called once.

        Returns:
            `(x, model)`.
        """
        raise NotImplementedError

    def write_example(self, model, metadata, directory):
        """Writes a valid example input file for `model` (tests, docs).

        Args:
            model: the loaded preset.
            metadata: dict. The preset's metadata.
            directory: str. An existing directory.

        Returns:
            str, the file's path.
        """
        raise NotImplementedError


_ARRAY_SUFFIXES = (".npy", ".csv")
_JSON_SUFFIXES = (".json",)


class PictureInput(InputAdapter):
    """A picture of a digit (PNG, JPEG, ...), read as 8x8 digit features.

    Any file that is not `.npy`, `.csv` or `.json` is decoded as a
    picture by `read_image` (bounded memory and time) and converted by
    `zoo.data.digit_image_to_features`.

    Args:
        sample_shape: tuple. Shape of one model input, e.g. `(64,)` or
            `(8, 8, 1)`.
        output: str. `"classes"` or `"values"`.

    Example:

    ```python
    PictureInput((8, 8, 1))
    ```
    """

    kind = "picture"

    def __init__(self, sample_shape, output="classes"):
        self.sample_shape = tuple(sample_shape)
        self.output = output

    def accepts(self, path):
        return not path.lower().endswith(_ARRAY_SUFFIXES + _JSON_SUFFIXES)

    def read(self, path, metadata, load_model):
        from zoo.data.digit_images import digit_image_to_features

        features = digit_image_to_features(read_image(path))
        return features.reshape((1,) + self.sample_shape), load_model()

    def write_example(self, model, metadata, directory):
        import numpy as np
        from PIL import Image

        # A dark "1": a vertical bar on white paper.
        pixels = np.full((32, 32), 255, "uint8")
        pixels[4:28, 14:19] = 0
        path = os.path.join(directory, "example.png")
        Image.fromarray(pixels).save(path)
        return path


class ArrayInput(InputAdapter):
    """A `.npy` array or a `.csv` file (one sample a row).

    The array is shaped by the loaded model's input spec: a single
    sample gets a batch axis; CSV rows are reshaped to the sample shape
    when their length matches; `(..., 8, 8)` is flattened for a
    `(batch, 64)` model.

    Args:
        output: str. `"classes"` (classifier logits) or `"values"`.

    Example:

    ```python
    ArrayInput(output="values")
    ```
    """

    kind = "array"

    def __init__(self, output="classes"):
        self.output = output

    def accepts(self, path):
        return path.lower().endswith(_ARRAY_SUFFIXES)

    def read(self, path, metadata, load_model):
        import numpy as np

        arr = read_array(path)
        model = load_model()
        spec = model.input_specs()
        if isinstance(spec, dict) or spec is None:
            raise ValueError(
                f"Preset {metadata.get('_name')!r} takes a dict of inputs "
                f"({metadata.get('input_spec', '')}); give a file kind it "
                "takes or use the Python API."
            )
        sample = tuple(spec.shape[1:])
        if sample == (64,) and arr.shape[-2:] == (8, 8):
            arr = arr.reshape(arr.shape[:-2] + (64,))
        if tuple(arr.shape) == sample:
            arr = arr[None]  # one sample
        elif path.lower().endswith(".csv") and arr.ndim == 2 \
                and None not in sample \
                and arr.shape[1] == int(np.prod(sample)):
            arr = arr.reshape((arr.shape[0],) + sample)
        return arr, model

    def write_example(self, model, metadata, directory):
        import numpy as np

        spec = model.input_specs()
        sample = tuple(8 if d is None else d for d in spec.shape[1:])
        lo, hi = model.input_value_ranges.get(spec.name, (None, None))
        lo = 0.0 if lo is None else lo
        hi = lo + 1.0 if hi is None else hi
        rng = np.random.default_rng(0)
        x = rng.uniform(lo, hi, (2,) + sample).astype("float32")
        path = os.path.join(directory, "example.npy")
        np.save(path, x)
        return path


class JSONInput(InputAdapter):
    """A JSON document turned into a model input by a family's parser.

    Args:
        parse: callable `(document, model, metadata) -> x`. Raises
            `ValueError` naming the missing or malformed field.
        description: str. What the document holds, for error messages.
        output: str. `"classes"` or `"values"`.
        example: callable `(model, metadata) -> document` or `None`: a
            valid document, written by `write_example`.

    Example:

    ```python
    JSONInput(parse_episode, "a few-shot episode")
    ```
    """

    kind = "JSON document"

    def __init__(self, parse, description, output="classes",
                 example=None):
        self.parse = parse
        self.description = description
        self.output = output
        self.example = example

    def accepts(self, path):
        return path.lower().endswith(_JSON_SUFFIXES)

    def read(self, path, metadata, load_model):
        try:
            with open(path, encoding="utf-8") as f:
                document = json.load(f)
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise ValueError(
                f"`input` {path!r} is not a readable JSON file ({e})."
            ) from None
        model = load_model()
        return self.parse(document, model, metadata), model

    def write_example(self, model, metadata, directory):
        if self.example is None:
            raise NotImplementedError(
                f"No example document for {self.description}."
            )
        path = os.path.join(directory, "example.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.example(model, metadata), f)
        return path


def describe(adapters):
    """One phrase listing the file kinds a preset takes.

    Args:
        adapters: sequence of `InputAdapter`.

    Returns:
        str, e.g. `"a picture or a .npy/.csv array"`.

    Example:

    ```python
    zoo.inputs.describe([ArrayInput()])  # 'a .npy/.csv array'
    ```
    """
    words = []
    for a in adapters:
        if isinstance(a, ArrayInput):
            words.append("a .npy/.csv array")
        elif isinstance(a, JSONInput):
            words.append(f"a .json file ({a.description})")
        else:
            words.append(f"a {a.kind}")
    return " or ".join(words) if words else "no file input"


def read_input(path, adapters, metadata, load_model):
    """Reads `path` with the first adapter that accepts it.

    Args:
        path: str. The input file.
        adapters: sequence of `InputAdapter` (the preset's `inputs`).
        metadata: dict. Preset metadata; `_name` holds the preset name.
        load_model: callable `() -> model`.

    Returns:
        `(x, model, adapter)`.

    Raises:
        ValueError: missing file, or a kind the preset does not take.

    Example:

    ```python
    x, model, adapter = zoo.inputs.read_input(path, spec.inputs, meta,
                                              load)
    ```
    """
    if not os.path.isfile(path):
        raise ValueError(f"`input` file not found: {path!r}")
    for adapter in adapters:
        if adapter.accepts(path):
            x, model = adapter.read(path, metadata, load_model)
            return x, model, adapter
    name = metadata.get("_name")
    if not path.lower().endswith(_ARRAY_SUFFIXES + _JSON_SUFFIXES):
        got = "a picture"
    else:
        got = f"a {os.path.splitext(path)[1]} file"
    raise ValueError(
        f"Preset {name!r} does not take {got}: give {describe(adapters)} "
        f"({metadata.get('input_spec', 'see `python -m zoo info`')})."
    )


class SequenceInput(ArrayInput):
    """A sequence of state vectors, for models on `(batch, time, dim)`.

    A `.npy` array `(time, dim)` (one sequence) or `(batch, time, dim)`,
    or a `.csv` file with one time step a row (one sequence). The
    sequence length is free; the state size is checked against the
    model's input spec.

    Args:
        output: str. `"values"` (the default) or `"classes"`.

    Example:

    ```python
    SequenceInput()  # a context sequence -> the model's output values
    ```
    """

    kind = "sequence"

    def __init__(self, output="values"):
        super().__init__(output)

    def read(self, path, metadata, load_model):
        arr = read_array(path)
        model = load_model()
        spec = model.input_specs()
        if isinstance(spec, dict) or spec is None or len(spec.shape) != 3:
            raise ValueError(
                f"Preset {metadata.get('_name')!r} does not take a "
                f"sequence ({metadata.get('input_spec', '')})."
            )
        if arr.ndim == 2:
            arr = arr[None]  # one sequence: (time, dim)
        return arr, model


class ChannelArrayInput(ArrayInput):
    """An `ArrayInput` where a single trailing channel may be left out.

    For models whose samples end in one channel, `(length, 1)` or
    `(height, width, 1)`: an array of the sample's shape without that
    axis (40 values of an MNIST-1D sequence, an 8x8 image), or a batch
    of them, is read with the channel added. Everything else is read as
    by `ArrayInput`.

    Args:
        output: str. `"classes"` (classifier logits) or `"values"`.

    Example:

    ```python
    ChannelArrayInput()  # x.npy of shape (40,) or (n, 40) for (40, 1)
    ```
    """

    def read(self, path, metadata, load_model):
        arr, model = super().read(path, metadata, load_model)
        spec = model.input_specs()
        sample = tuple(spec.shape[1:])
        if len(sample) >= 2 and sample[-1] == 1 \
                and tuple(arr.shape[-(len(sample) - 1):]) == sample[:-1]:
            arr = arr[..., None]
            if arr.ndim == len(sample):
                arr = arr[None]  # one sample
        return arr, model


def check_document(document, fields, description):
    """Checks that a parsed JSON document is an object with `fields`.

    For `JSONInput` parsers: the first check of every document.

    Args:
        document: the parsed JSON value.
        fields: sequence of str. Keys the object must hold.
        description: str. What the document should be, for the message
            (e.g. the `JSONInput` description).

    Returns:
        The document, unchanged.

    Raises:
        ValueError: not a JSON object, or a missing field (named).

    Example:

    ```python
    check_document(document, ("features", "task_id"),
                   "a JSON object with features and a task id")
    ```
    """
    if not isinstance(document, dict):
        raise ValueError(
            f"The document must be {description}. "
            f"Received: a JSON {type(document).__name__}."
        )
    for key in fields:
        if key not in document:
            raise ValueError(
                f"The document has no `{key}` field; expected {description}."
            )
    return document


def json_numbers(value, field, description):
    """A field of a JSON document as a numeric numpy array.

    For the parsers of `JSONInput`: the field's value (a number or nested
    lists of numbers) becomes an integer or float array; anything else is
    refused with a message naming the field.

    Args:
        value: the field's parsed JSON value.
        field: str. The field's name, for the message.
        description: str. What the document holds, for the message.

    Returns:
        A numpy array of integer or float dtype.

    Raises:
        ValueError: a value that is not numbers, or ragged lists.

    Example:

    ```python
    zoo.inputs.json_numbers([[0, 1], [1, 0]], "image", "an image")
    ```
    """
    import numpy as np

    try:
        arr = np.asarray(value)
    except (ValueError, TypeError):
        arr = None
    if arr is None or arr.dtype.kind not in "iuf":
        raise ValueError(
            f"`{field}` must hold numbers ({description}). "
            f"Received: {str(value)[:80]}"
        )
    return arr
