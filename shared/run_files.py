"""Schemas of the files in a run directory, and the check of a model against its run.

`shared.runs.Run` validates `config.yaml`, `metadata.json`, `metrics.json`
and `status.json` against these schemas when it reads them. Keys the runner
writes as free-form content (provenance, versions, metrics) are accepted as
they are; the keys the suite reads back are required with their types. The
task-specific `task_state` is validated by the task's own
`Task.state_schema` (`Run.task_state`).

A bad file is one line naming the run directory, the file, the key path and
the value received:

    run directory runs/fraud: metadata.json at task_state.columns.numeric: Input should be a valid list (received 'amount'); ...

`model_signature` records the names, shapes and dtypes of a model's inputs
and outputs at training time; `check_model` refuses a `model.keras` that
does not match them (or the recorded parameter count), such as another
run's model copied over this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from shared.errors import RunError

RESTORE_HINT = "restore the file from the training run, or train the run again"


class RunFile(BaseModel):
    """Base of the run-file schemas: keys the suite does not read are kept as they are."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())


class PermissiveState(RunFile):
    """The default `Task.state_schema`: any JSON object."""


class TensorSpec(BaseModel):
    """One model input or output: its name, shape without the batch axis, and dtype."""

    model_config = ConfigDict(extra="forbid")

    name: StrictStr
    shape: list[StrictInt | None]
    dtype: StrictStr


class ModelSignature(BaseModel):
    """The inputs and outputs of the model a run saved."""

    model_config = ConfigDict(extra="forbid")

    inputs: list[TensorSpec]
    outputs: list[TensorSpec]


class ConfigFile(RunFile):
    """`config.yaml`: the resolved run config; the task's own schema checks the rest."""

    domain: StrictStr = Field(min_length=1)
    task: StrictStr = Field(min_length=1)


class MetadataFile(RunFile):
    """`metadata.json`, as written by `shared.training.runner.train`.

    Every key is optional so that runs from older versions still open; a key
    that is present must have its type. `task_state` is required by the
    tasks that read it (`Run.task_state`).
    """

    domain: StrictStr | None = None
    task: StrictStr | None = None
    model_type: StrictStr | None = None
    parameters: StrictInt | None = Field(None, ge=0)
    created: StrictStr | None = None
    versions: dict[str, StrictStr | None] | None = None
    training: dict[str, Any] | None = None
    intended_use: StrictStr | None = None
    limitations: StrictStr | None = None
    data: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    signature: ModelSignature | None = None
    task_state: dict[str, Any] | None = None


class MetricsFile(RunFile):
    """`metrics.json`: free-form metrics; the tasks check the values they read (thresholds)."""


class StatusFile(RunFile):
    """`status.json`: the run's state and timestamps."""

    state: Literal["running", "complete", "failed", "interrupted"]
    started: StrictStr | None = None
    updated: StrictStr | None = None
    error: StrictStr | None = None
    phases_done: list[StrictStr] | None = None


def validated(schema: type[BaseModel], data: Any, run_dir: Path, filename: str, prefix: tuple = ()) -> Any:
    """`schema.model_validate(data)`, or one `RunError` line naming the first bad key.

    Args:
        schema: pydantic model class. The file's schema.
        data: The parsed file content (or the part of it at `prefix`).
        run_dir: Path. The run directory, for the message.
        filename: str. The file inside `run_dir`, for the message.
        prefix: tuple. Key path of `data` inside the file, e.g. `("task_state",)`.
    """
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        raise RunError(_describe(errors[0], run_dir, filename, prefix, more=len(errors) - 1)) from None


def _describe(err: dict, run_dir: Path, filename: str, prefix: tuple, more: int) -> str:
    where = ".".join(str(part) for part in (*prefix, *err["loc"])) or "(top level)"
    if err["type"] == "missing":
        problem = "required key is missing"
    else:
        problem = f"{err['msg']} (received {_short(err.get('input'))})"
    extra = f" (and {more} more problem{'s' if more > 1 else ''})" if more > 0 else ""
    return f"run directory {run_dir}: {filename} at {where}: {problem}{extra}; {RESTORE_HINT}"


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --- the model against the run ----------------------------------------------------


def model_signature(model: Any) -> dict | None:
    """Names, shapes (without the batch axis) and dtypes of `model`'s inputs and outputs.

    Returns None for a model without symbolic inputs (a subclassed model
    that was never called), whose signature is not known before it runs.
    """
    try:
        inputs, outputs, names = model.inputs, model.outputs, model.output_names
    except (AttributeError, ValueError):
        return None
    if not inputs or not outputs:
        return None

    def spec(tensor: Any, name: str) -> dict:
        return {"name": str(name), "shape": [None if d is None else int(d) for d in tuple(tensor.shape)[1:]], "dtype": str(tensor.dtype)}

    names = list(names) if names and len(names) == len(outputs) else [f"output_{i}" for i in range(len(outputs))]
    return {
        "inputs": [spec(t, t.name) for t in inputs],
        "outputs": [spec(t, n) for t, n in zip(outputs, names)],
    }


def check_model(model: Any, metadata: MetadataFile, run_dir: Path) -> None:
    """Refuse a `model.keras` that is not the model this run trained.

    Compares the loaded model with what `metadata.json` recorded at training
    time: the input names, shapes and dtypes and the output shapes and dtypes
    (`signature`), and the parameter count. Runs from older versions without
    a signature are checked by their parameter count alone.
    """
    problem = _signature_mismatch(model_signature(model), metadata.signature)
    if problem is None and metadata.parameters is not None:
        try:
            count = int(model.count_params())
        except ValueError:  # an unbuilt model has no parameter count yet
            count = None
        if count is not None and count != metadata.parameters:
            problem = f"it has {count:,} parameters, metadata.json records {metadata.parameters:,}"
    if problem is not None:
        kind = f"the {metadata.model_type!r} model of this run" if metadata.model_type else "the model this run trained"
        raise RunError(
            f"run directory {run_dir}: model.keras is not {kind}: {problem}; it was probably copied from another run. "
            "Put back this run's model.keras, or train the run again"
        )


def _signature_mismatch(found: dict | None, recorded: ModelSignature | None) -> str | None:
    if found is None or recorded is None:
        return None
    want = {s.name: s for s in recorded.inputs}
    have = {s["name"]: s for s in found["inputs"]}
    if set(want) != set(have):
        missing, unexpected = sorted(set(want) - set(have)), sorted(set(have) - set(want))
        parts = ([f"missing input(s) {', '.join(missing)}"] if missing else []) + ([f"unexpected input(s) {', '.join(unexpected)}"] if unexpected else [])
        return "; ".join(parts)
    for name, spec in want.items():
        got = have[name]
        if got["shape"] != spec.shape or got["dtype"] != spec.dtype:
            return f"input {name!r} is {got['dtype']} {got['shape']}, metadata.json records {spec.dtype} {spec.shape}"
    if len(found["outputs"]) != len(recorded.outputs):
        return f"it has {len(found['outputs'])} output(s), metadata.json records {len(recorded.outputs)}"
    for got, spec in zip(found["outputs"], recorded.outputs):
        if got["shape"] != spec.shape or got["dtype"] != spec.dtype:
            return f"output {spec.name!r} is {got['dtype']} {got['shape']}, metadata.json records {spec.dtype} {spec.shape}"
    return None


def arrays_mismatch(model: Any, arrays: dict) -> str | None:
    """Why the named input `arrays` (batch first) do not fit `model`'s inputs, or None when they do.

    Compares the same things as `check_model` does between a model and its
    recorded signature: input names, text or numeric dtype, and shape
    without the batch axis (`None` in the model matches any size). Tasks
    call it on the arrays their task state builds, before predicting.
    """
    found = model_signature(model)
    if found is None:
        return None
    have = {s["name"]: s for s in found["inputs"]}
    if set(have) != set(arrays):
        return f"the model reads {', '.join(sorted(have))}; the inputs are {', '.join(sorted(arrays))}"
    for name, spec in have.items():
        array = arrays[name]
        is_text = array.dtype.kind in "OSU"
        if is_text != (spec["dtype"] == "string"):
            return f"input {name!r} is {spec['dtype']} in the model but {'text' if is_text else 'numeric'} in the inputs"
        shape = spec["shape"]
        if len(shape) != array.ndim - 1 or any(d is not None and d != n for d, n in zip(shape, array.shape[1:])):
            return f"input {name!r} has shape {shape} in the model but {list(array.shape[1:])} in the inputs"
    return None
