"""Argument checks shared by zoo modules (private).

They complement `layers._checks` and raise the same `ValueError` form,
``"`name` must be <what>. Received: name=<value!r>"``: checks of the data
generators and loaders (numpy integers and reals accepted, bools
refused, a choice that must be a string) and of sequences of positive
integers (shapes, widths, class counts).
"""

import numbers

import numpy as np

from layers._checks import check_positive_int


def check_str_choice(name, value, choices):
    """Checks that `value` is a string and one of `choices`.

    Unlike `layers._checks.check_choice`, anything but a string is
    refused even when it compares equal to a choice (a 0-d numpy array).

    Args:
        name: str. Argument name used in the error message.
        value: the value to check.
        choices: tuple of str (printed in the message).

    Returns:
        `value`, unchanged.

    Example:

    ```python
    split = check_str_choice("split", split, ("train", "val", "test"))
    ```
    """
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"`{name}` must be one of {choices}. Received: {name}={value!r}"
        )
    return value


def check_int(name, value, minimum):
    """Checks that `value` is an integer (not a bool) `>= minimum`.

    Args:
        name: str. Argument name used in the error message.
        value: the value to check (any `numbers.Integral`).
        minimum: int. Inclusive lower bound; the message says "a positive
            integer" for 1 and "a non-negative integer" for 0.

    Returns:
        `int(value)`.

    Example:

    ```python
    num_steps = check_int("num_steps", num_steps, 1)
    ```
    """
    if (
        isinstance(value, (bool, np.bool_))
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        if minimum == 1:
            kind = "a positive integer"
        elif minimum == 0:
            kind = "a non-negative integer"
        else:
            kind = f"an integer >= {minimum}"
        raise ValueError(f"`{name}` must be {kind}. Received: {name}={value!r}")
    return int(value)


def check_real(name, value, positive=False):
    """Checks that `value` is a finite real number (not a bool).

    Args:
        name: str. Argument name used in the error message.
        value: the value to check (any `numbers.Real`).
        positive: bool. Also require `value > 0`.

    Returns:
        `float(value)`.

    Example:

    ```python
    dt = check_real("dt", dt, positive=True)
    ```
    """
    valid = isinstance(value, numbers.Real) and not isinstance(
        value, (bool, np.bool_)
    )
    if valid:
        valid = bool(np.isfinite(value)) and (value > 0 or not positive)
    if not valid:
        kind = "a positive finite" if positive else "a finite real"
        raise ValueError(
            f"`{name}` must be {kind} number. Received: {name}={value!r}"
        )
    return float(value)


def check_positive_ints(name, values, length, requirement):
    """Checks a sequence of positive integers of a given length.

    Args:
        name: str. Argument name used in the error messages.
        values: iterable of the values to check.
        length: int, or `None` for at least one value.
        requirement: str. What a wrong length breaks, after the name in
            the message (`"must be (height, width, channels)"` gives
            "`image_shape` must be (height, width, channels). Received:
            image_shape=(8, 8)").

    Returns:
        `tuple(values)` (the values themselves are not converted).

    Example:

    ```python
    image_shape = check_positive_ints(
        "image_shape", image_shape, 3, "must be (height, width, channels)")
    ```
    """
    values = tuple(values)
    wrong_length = not values if length is None else len(values) != length
    if wrong_length:
        raise ValueError(
            f"`{name}` {requirement}. Received: {name}={values!r}"
        )
    for value in values:
        check_positive_int(f"{name}[i]", value)
    return values


def check_has(name, present, required, what):
    """Checks that every name in `required` is in `present`.

    Args:
        name: str. Argument name used in the error message.
        present: a container of the names the argument has (dict keys,
            attribute names).
        required: tuple of str, in the order the message lists them.
        what: str. What the argument must be, e.g. ``"a dict with
            'support' and 'query'"``.

    Raises:
        ValueError: naming `what` and the missing names.

    Example:

    ```python
    check_has("batch", batch, ("support", "query"), "a dict of episodes")
    ```
    """
    missing = [n for n in required if n not in present]
    if missing:
        raise ValueError(f"`{name}` must be {what}. Missing: {missing}")
