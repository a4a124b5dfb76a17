"""Argument checks shared by the layers (private; `zoo` may use them too).

Each check raises a `ValueError` that names the argument and repeats the
value received, in the form
``"`name` must be <what>. Received: name=<value!r>"``, and returns the
value (converted where said) so that a constructor can check and store
in one line.
"""

import numpy as np


def _invalid(name, what, value):
    """The `ValueError` of every check: `name` must be `what`."""
    return ValueError(f"`{name}` must be {what}. Received: {name}={value!r}")


def check_positive_int(name, value, allow_none=False):
    """Checks that `value` is a positive integer (not a bool).

    Python and numpy integers are accepted; floats, bools and strings
    are not.

    Args:
        name: str. Argument name used in the error message.
        value: the value to check.
        allow_none: bool. Accept (and return) `None`.

    Returns:
        `int(value)`, or `None` when `value` is `None` and `allow_none`.

    Example:

    ```python
    units = check_positive_int("units", units)
    ```
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) \
            or value <= 0:
        raise _invalid(name, "a positive integer", value)
    return int(value)


def check_choice(name, value, choices):
    """Checks that `value` is one of `choices`.

    Args:
        name: str. Argument name used in the error message.
        value: the value to check.
        choices: tuple of the allowed values (printed in the message).

    Returns:
        `value`, unchanged.

    Example:

    ```python
    mode = check_choice("mode", mode, ("channel", "channel_spatial"))
    ```
    """
    if value not in choices:
        raise _invalid(name, f"one of {choices}", value)
    return value


def check_positive(name, value):
    """Checks that `value > 0` (any type that compares with 0).

    Args:
        name: str. Argument name used in the error message.
        value: the value to check. NaN fails.

    Returns:
        `value`, unchanged.

    Example:

    ```python
    omega_0 = float(check_positive("omega_0", omega_0))
    ```
    """
    if not value > 0:
        raise _invalid(name, "> 0", value)
    return value


def check_number_above(name, value, minimum=0.0):
    """Checks that `value` is a real number (not a bool) `> minimum`.

    Args:
        name: str. Argument name used in the error message.
        value: the value to check.
        minimum: float. Exclusive lower bound.

    Returns:
        `float(value)`.

    Example:

    ```python
    temperature = check_number_above("initial_temperature", t, 1.0)
    ```
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not value > minimum:
        raise _invalid(name, f"a number > {minimum}", value)
    return float(value)


def check_rate(name, value):
    """Checks that `value` lies in `[0, 1)` (a dropout rate).

    Args:
        name: str. Argument name used in the error message.
        value: the value to check.

    Returns:
        `value`, unchanged.

    Example:

    ```python
    dropout = check_rate("dropout", dropout)
    ```
    """
    if not 0.0 <= value < 1.0:
        raise _invalid(name, "in [0, 1)", value)
    return value


def check_bool(name, value):
    """Checks that `value` is a Python or numpy bool.

    Args:
        name: str. Argument name used in the error message.
        value: the value to check.

    Returns:
        `bool(value)`.

    Example:

    ```python
    coupled = check_bool("coupled_carry", coupled_carry)
    ```
    """
    if not isinstance(value, (bool, np.bool_)):
        raise _invalid(name, "a bool", value)
    return bool(value)
