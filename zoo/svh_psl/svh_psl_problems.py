"""Benchmark problems of the SVH-PSL family, from pymoo.

ZDT1, ZDT2, ZDT3 (2 objectives) and DTLZ2 (3 objectives), all with
`NUM_VAR` decision variables in the unit box; true Pareto fronts and the
hypervolume / IGD indicators come from pymoo.
"""

import numpy as np

NUM_VAR = 6
PROBLEMS = {"zdt1": 2, "zdt2": 2, "zdt3": 2, "dtlz2": 3}


def check_problem(name):
    """Checks a problem name.

    Args:
        name: str.

    Returns:
        The name.

    Raises:
        ValueError: for an unknown problem.
    """
    if name not in PROBLEMS:
        raise ValueError(f"Unknown problem {name!r}. Known: "
                         f"{', '.join(PROBLEMS)}")
    return name


def get_problem(name, num_var=NUM_VAR):
    """The pymoo problem (`pymoo.problems.get_problem`).

    Args:
        name: str. A key of `PROBLEMS`.
        num_var: int. Number of decision variables.

    Returns:
        A pymoo `Problem` with box `[0, 1]^num_var`.
    """
    from pymoo.problems import get_problem as pymoo_problem

    check_problem(name)
    if name == "dtlz2":
        return pymoo_problem(name, n_var=num_var, n_obj=PROBLEMS[name])
    return pymoo_problem(name, n_var=num_var)


def evaluate(name, x, num_var=NUM_VAR):
    """True objective values (the "expensive" evaluation).

    Args:
        name: str. Problem.
        x: array `(n, num_var)` in the unit box.
        num_var: int.

    Returns:
        numpy float64 `(n, m)`.
    """
    x = np.clip(np.asarray(x, "float64"), 0.0, 1.0)
    return np.asarray(get_problem(name, num_var).evaluate(x), "float64")


def pareto_front(name, num_var=NUM_VAR):
    """pymoo's true Pareto front, `(k, m)`.

    Args:
        name: str.
        num_var: int.

    Returns:
        numpy array.
    """
    return np.asarray(get_problem(name, num_var).pareto_front(), "float64")


def reference_point(name):
    """Hypervolume reference point: true front's nadir + 0.1.

    Args:
        name: str.

    Returns:
        numpy `(m,)`.
    """
    return pareto_front(name).max(axis=0) + 0.1


def preference_grid(num_objectives, size=100):
    """Evenly spread preferences on the simplex (pymoo Das-Dennis / grid).

    Args:
        num_objectives: int.
        size: int. About this many vectors.

    Returns:
        numpy float32 `(k, num_objectives)`.
    """
    if num_objectives == 2:
        t = np.linspace(0.0, 1.0, size)
        return np.stack([t, 1.0 - t], axis=1).astype("float32")
    from pymoo.util.ref_dirs import get_reference_directions

    partitions = 1
    while (partitions + 2) * (partitions + 1) // 2 < size:
        partitions += 1
    return get_reference_directions(
        "das-dennis", num_objectives, n_partitions=partitions).astype(
            "float32")


def front_metrics(name, y):
    """Hypervolume and IGD (pymoo.indicators) of objective vectors.

    Args:
        name: str. Problem.
        y: array `(n, m)` of true objective values.

    Returns:
        dict with `hypervolume` and `igd`.
    """
    from pymoo.indicators.hv import HV
    from pymoo.indicators.igd import IGD

    y = np.asarray(y, "float64")
    return {"hypervolume": float(HV(ref_point=reference_point(name))(y)),
            "igd": float(IGD(pareto_front(name))(y))}
