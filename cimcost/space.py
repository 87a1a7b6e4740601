"""Design spaces: a YAML file naming a network, the rules and the parameters to vary.

A space is parsed and checked once, on the machine that starts the sweep; the result
(:class:`Space`) is plain picklable data — the techfile, memory-cell and floorplan models are
loaded here and travel with it, so worker processes (or dask workers on other machines) need
no access to the files.

Dimensions come in three kinds:

* ``config``: choices that need their own :class:`~cimcost.config.Config` — the files
  (``tech``, ``memory``, ``floorplan``, ``circuits``) and floorplan fields that change the
  structure (strings such as ``adc.type``, or numbers that land in
  :class:`~cimcost.config.Options`, such as ``training.wgus``);
* ``network``: the network file, or the depth and width of a generated MLP;
* ``numeric``: every other number, handed to the cost kernel as a numpy array.

Design points are enumerated lazily by index arithmetic (mixed radix, structural dimensions
outermost), or drawn at random in chunks seeded by ``(seed, chunk)``.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import Config, Options, load_config
from .errors import InputError
from .network import Network, load_network, mlp
from .rules import RuleDecl, get_rule, rule_names
from .training.hardware import FLOORPLAN_FIELDS, MEMORY_FIELDS, MEMORY_KNOBS
from .yamlio import LocatedDocument, load_yaml

FILE_DIMS = ("floorplan", "tech", "memory", "circuits")
CONSTANT_SECTIONS = ("tech", "memory", "circuits")
TOP_KEYS = ("kind", "name", "description", "network", "mlp", "rules", "rule", "floorplan", "tech",
            "memory", "circuits", "parameters", "sample", "constraints", "chunk_size", "shares",
            "accuracy")
ACCURACY_KEYS = ("dataset", "data", "epochs", "seed", "batch_size", "limit", "max_trainings")
DEFAULT_TRAIN_BATCH = 32  # as `cimcost train`
DEFAULT_MAX_TRAININGS = 10_000
# (input features, classes) of the built-in classification data sets (no need to load them)
DATA_SHAPES = {"digits": (64, 10), "synthetic-classification": (256, 10)}
DEFAULT_CHUNK = 65536
MAX_VALUES = 1_000_000  # values one dimension may list or generate
MAX_CHECKED = 2000  # values of one dimension validated one by one against the spec models

UNITS: dict[str, dict[str, float]] = {
    "area": {"m2": 1.0, "cm2": 1e-4, "mm2": 1e-6, "um2": 1e-12, "µm2": 1e-12, "nm2": 1e-18,
             "m²": 1.0, "mm²": 1e-6, "um²": 1e-12, "µm²": 1e-12},
    "energy": {"J": 1.0, "mJ": 1e-3, "uJ": 1e-6, "µJ": 1e-6, "nJ": 1e-9, "pJ": 1e-12, "fJ": 1e-15},
    "latency": {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9, "ps": 1e-12},
    "traffic": {"B": 1.0, "kB": 1e3, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12, "KiB": 1024.0,
                "MiB": 1024.0 ** 2, "GiB": 1024.0 ** 3, "TiB": 1024.0 ** 4},
    "share": {"%": 0.01},
}
SI_UNIT = {"area": "m2", "energy": "J", "latency": "s", "traffic": "B"}

# the breakdown shares a sweep writes by default (``shares: all`` writes every component)
MAIN_SHARES: tuple[tuple[str, str], ...] = (
    ("area", "memory_array"), ("area", "adc"), ("area", "wgu"), ("area", "buffer"),
    ("energy", "dram"), ("energy", "buffer"), ("energy", "adc"), ("energy", "wgu"),
    ("latency", "buffer"), ("latency", "dram"), ("latency", "wgu"), ("latency", "adc"),
    ("traffic", "dram"),
)
TOTALS = ("area", "energy", "latency", "traffic")

_CONSTRAINT = re.compile(
    r"^\s*(?P<col>[A-Za-z_][\w.\-]*)\s*(?P<op><=|>=|==|!=|<|>)\s*"
    r"(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(?P<unit>[^\s\d][^\s]*)?\s*$")


@dataclass
class Dim:
    """One varied quantity: discrete ``values`` or, in sampled spaces, a distribution."""

    name: str
    kind: str  # "config", "network" or "numeric"
    values: list[Any] | None = None
    dist: tuple[str, float, float] | None = None  # ("uniform" | "loguniform", lo, hi)
    line: int | None = None

    @property
    def size(self) -> int:
        return len(self.values) if self.values is not None else 0

    @property
    def dtype(self) -> str:
        if self.values is None:
            return "float"
        if all(isinstance(v, int) and not isinstance(v, bool) for v in self.values):
            return "int"
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in self.values):
            return "float"
        return "str"

    def array(self) -> np.ndarray:
        assert self.values is not None
        kind = self.dtype
        if kind == "int":
            return np.asarray(self.values, dtype=np.int64)
        if kind == "float":
            return np.asarray(self.values, dtype=float)
        return np.asarray([str(v) for v in self.values], dtype=str)


@dataclass(frozen=True)
class Constraint:
    text: str
    column: str
    op: str
    value: float  # SI

    def mask(self, col: np.ndarray) -> np.ndarray:
        ops = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal,
               "==": np.equal, "!=": np.not_equal}
        result: np.ndarray = ops[self.op](col, self.value)
        return result


@dataclass(frozen=True)
class AccuracySpec:
    """The ``accuracy`` section: train every distinct training configuration once and write
    its final test accuracy as the ``accuracy`` column."""

    dataset: str  # a name of cimcost.training.data.DATASETS or a path to MNIST-format files
    data: str | None  # mnist / fashion-mnist: where the files are
    epochs: int
    seed: int
    batch_size: int | None  # None: the point's training.batch_size if the space sets it, else 32
    limit: int | None  # only the first N training samples
    max_trainings: int
    dims: tuple[str, ...]  # the space's dimensions training depends on
    stamp: str = ""  # size and modification time of data files (part of the space hash)


@dataclass
class Space:
    """A checked design space, ready to enumerate.  Picklable."""

    file: str
    name: str
    dims: list[Dim]
    rules: list[RuleDecl]
    rule_labels: list[str]
    # fixed parts of the configuration and every loaded file choice
    base: Config
    file_models: dict[str, dict[str, Any]]  # "tech" -> {"22nm": Technology, ...}
    floorplan_for: dict[str, Config]  # floorplan value -> Config loaded with it
    networks: list[Network] | None  # network files, or the single network
    mlp_spec: tuple[int, int] | None  # (input, classes) of a generated MLP
    sample: int | None
    seed: int
    constraints: list[Constraint]
    chunk_size: int
    shares: list[tuple[str, str]]
    hash: str = ""
    _cache: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)
    accuracy: AccuracySpec | None = None
    # filled by the sweep before chunks are evaluated: training combination (see
    # :meth:`accuracy_dims`) -> final accuracy under each rule
    accuracy_table: dict[tuple[Any, ...], np.ndarray] | None = field(default=None, repr=False,
                                                                     compare=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_cache"] = {}
        return state

    # ------------------------------------------------------------------ shape

    @property
    def points(self) -> int:
        if self.sample is not None:
            return self.sample
        return math.prod(d.size for d in self.dims)

    @property
    def rows(self) -> int:
        return self.points * len(self.rules)

    @property
    def chunks(self) -> int:
        return max(1, -(-self.points // self.chunk_size))

    def chunk_bounds(self, k: int) -> tuple[int, int]:
        start = k * self.chunk_size
        return start, min(self.points, start + self.chunk_size)

    def columns(self) -> list[tuple[str, str]]:
        """(name, dtype) of every output column, dtype one of 'str', 'int', 'float'."""
        cols = [("rule", "str")]
        cols += [(d.name, d.dtype) for d in self.dims]
        cols += [(t, "float") for t in TOTALS]
        if self.accuracy is not None:
            cols.append(("accuracy", "float"))
        cols += [(f"{book}.{key}_share", "float") for book, key in self.shares]
        return cols

    def accuracy_dims(self) -> list[int]:
        """Indices of the dimensions training depends on (empty without an accuracy section)."""
        if self.accuracy is None:
            return []
        return [i for i, d in enumerate(self.dims) if d.name in self.accuracy.dims]

    def strides(self) -> list[int]:
        """Mixed-radix strides of the grid: the first dimension varies slowest."""
        out = [1] * len(self.dims)
        acc = 1
        for i in range(len(self.dims) - 1, -1, -1):
            out[i] = acc
            acc *= max(1, self.dims[i].size)
        return out

    # ------------------------------------------------------------------ structure

    def network_for(self, choice: dict[str, Any]) -> Network:
        """The network of one combination of network-dimension values."""
        if self.mlp_spec is not None:
            inp, classes = self.mlp_spec
            depth = int(choice["mlp.depth"])
            width = int(choice["mlp.width"])
            key = ("mlp", depth, width)
            if key not in self._cache:
                sizes = [inp] + [width] * (depth - 1) + [classes]
                self._cache[key] = mlp(sizes, name=f"mlp-{inp}-{width}x{depth - 1}-{classes}")
            net: Network = self._cache[key]
            return net
        assert self.networks is not None
        if "network" in choice:
            names = [str(v) for v in self.dim("network").values or []]
            return self.networks[names.index(str(choice["network"]))]
        return self.networks[0]

    def config_for(self, choice: dict[str, Any]) -> tuple[dict[str, Any], Options]:
        """Flat parameters and options of one combination of config-dimension values."""
        key = ("cfg", tuple(sorted((k, str(v)) for k, v in choice.items())))
        if key not in self._cache:
            cfg = self.floorplan_for[str(choice["floorplan"])] if "floorplan" in choice else self.base
            parts: dict[str, Any] = {"tech": cfg.tech, "memory": cfg.memory, "circuits": cfg.circuits}
            for name in ("tech", "memory", "circuits"):
                if name in choice:
                    parts[name] = self.file_models[name][str(choice[name])]
            fp = cfg.floorplan
            overrides = {k: v for k, v in choice.items() if k not in FILE_DIMS}
            if overrides:
                data = fp.model_dump()
                for path, value in overrides.items():
                    _set_path(data, path.split("."), value)
                fp = type(fp).model_validate(data)
            built = Config(parts["tech"], parts["memory"], parts["circuits"], fp, dict(cfg.files))
            self._cache[key] = (built.params(), built.options())
        params, opts = self._cache[key]
        return params, opts

    def training_config(self, values: dict[str, Any]) -> Config:
        """The full configuration of a combination of training dimensions (floorplan and
        memory files, floorplan fields, memory constants; other dimensions are ignored).
        Memory knobs a memory file does not define (``c2c_sigma`` ...) are added to it."""
        cfg = self.floorplan_for[str(values["floorplan"])] if "floorplan" in values else self.base
        memory = (self.file_models["memory"][str(values["memory"])] if "memory" in values
                  else cfg.memory)
        mem_over = {k.removeprefix("memory."): v for k, v in values.items()
                    if k.startswith("memory.")}
        fp_over = {k: v for k, v in values.items() if k not in FILE_DIMS
                   and k.split(".")[0] not in CONSTANT_SECTIONS}
        if mem_over:
            data = memory.model_dump(exclude_none=True)
            for k, v in mem_over.items():
                if isinstance(data.get(k), dict):
                    data[k]["value"] = float(v)
                else:
                    data[k] = {"value": float(v), "unit": "1", "source": "sweep space parameter"}
            memory = type(memory).model_validate(data)
        fp = cfg.floorplan
        if fp_over:
            fdata = fp.model_dump()
            for path, v in fp_over.items():
                _set_path(fdata, path.split("."), _as_field(v))
            fp = type(fp).model_validate(fdata)
        return Config(cfg.tech, memory, cfg.circuits, fp, dict(cfg.files))

    def dim(self, name: str) -> Dim:
        for d in self.dims:
            if d.name == name:
                return d
        raise KeyError(name)


# ---------------------------------------------------------------------------- helpers


def _set_path(data: dict[str, Any], keys: list[str], value: Any) -> None:
    node: Any = data
    for k in keys[:-1]:
        node = node[k]
    node[keys[-1]] = value


def _has_path(data: Any, keys: list[str]) -> bool:
    node = data
    for k in keys:
        if not isinstance(node, dict) or k not in node:
            return False
        node = node[k]
    return not isinstance(node, dict) or ("value" in node and "source" in node)


def _leaf_paths(prefix: str, data: Any, out: list[str]) -> None:
    if isinstance(data, dict) and not ("value" in data and "source" in data):
        for k, v in data.items():
            _leaf_paths(f"{prefix}.{k}" if prefix else str(k), v, out)
    else:
        out.append(prefix)


def _clean(v: float) -> float | int:
    """Round generated values to 12 significant digits (1e3 * 10**0.5 ... not 127.99999)."""
    x = float(f"{v:.12g}")
    return int(x) if x.is_integer() and abs(x) < 2 ** 53 else x


def _plain_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class _Reader:
    def __init__(self, doc: LocatedDocument) -> None:
        self.doc = doc

    def err(self, message: str, path: tuple[Any, ...], expected: str | None = None) -> InputError:
        return InputError(message, file=self.doc.file, line=self.doc.line_of(path),
                          field=".".join(str(p) for p in path), expected=expected)

    def values(self, raw: Any, path: tuple[Any, ...], allow_dist: bool) -> tuple[list[Any] | None,
                                                                                 tuple[str, float, float]
                                                                                 | None]:
        """A parameter's value spec: scalar, list, range or (sampled spaces) distribution."""
        if isinstance(raw, list):
            if not raw:
                raise self.err("empty list of values", path, "at least one value")
            for i, v in enumerate(raw):
                if isinstance(v, (list, dict)) or v is None:
                    raise self.err(f"value {i} is a {type(v).__name__}", path + (i,),
                                   "plain numbers or names")
            return list(raw), None
        if isinstance(raw, dict):
            keys = set(raw)
            if keys & {"uniform", "loguniform"}:
                kind = "uniform" if "uniform" in raw else "loguniform"
                pair = raw[kind]
                if (len(keys) != 1 or not isinstance(pair, list) or len(pair) != 2
                        or not all(_plain_number(x) for x in pair)):
                    raise self.err(f"bad {kind} distribution", path, f"{{{kind}: [low, high]}}")
                lo, hi = float(pair[0]), float(pair[1])
                if not lo < hi:
                    raise self.err(f"empty {kind} range [{lo:g}, {hi:g}]", path, "low < high")
                if kind == "loguniform" and lo <= 0:
                    raise self.err("loguniform needs a positive low end", path, "0 < low < high")
                if not allow_dist:
                    raise self.err(f"a {kind} distribution needs a sampled space", path,
                                   "a top-level 'sample: N' or a list/range here")
                return None, (kind, lo, hi)
            return self.range(raw, path), None
        if raw is None:
            raise self.err("no value given", path, "a value, a list, or a range {from, to, step}")
        return [raw], None

    def range(self, raw: dict[str, Any], path: tuple[Any, ...]) -> list[Any]:
        allowed = {"from", "to", "step", "num", "factor", "log"}
        unknown = set(raw) - allowed
        if unknown:
            raise self.err(f"unknown range key(s) {', '.join(sorted(map(str, unknown)))}", path,
                           "{from, to, step}, {from, to, num[, log: true]} or {from, to, factor}")
        if "from" not in raw or "to" not in raw:
            raise self.err("a range needs 'from' and 'to'", path, "{from, to, step}")
        lo, hi = raw["from"], raw["to"]
        if not (_plain_number(lo) and _plain_number(hi)):
            raise self.err("range ends must be numbers", path)
        given = [k for k in ("step", "num", "factor") if k in raw]
        if len(given) > 1:
            raise self.err(f"give one of step, num, factor, not {' and '.join(given)}", path)
        how = given[0] if given else "step"
        log = raw.get("log", False)
        if not isinstance(log, bool):
            raise self.err("'log' must be true or false", path + ("log",))
        if log and how != "num":
            raise self.err("'log: true' goes with 'num'", path, "{from, to, num, log: true}")
        arg = raw.get(how, 1)
        if not _plain_number(arg):
            raise self.err(f"'{how}' must be a number", path + (how,))
        lo_f, hi_f, a = float(lo), float(hi), float(arg)
        vals: np.ndarray
        if how == "step":
            if a == 0 or (hi_f - lo_f) / a < 0:
                raise self.err(f"empty range: from {lo} to {hi} in steps of {arg}", path,
                               "a step that leads from 'from' towards 'to'")
            count = int(math.floor((hi_f - lo_f) / a + 1e-9)) + 1
            self._count(count, path)
            vals = lo_f + a * np.arange(count)
        elif how == "num":
            if a < 1 or not a.is_integer():
                raise self.err(f"empty range: num is {arg}", path, "num >= 1, a whole number")
            self._count(int(a), path)
            if log:
                if lo_f <= 0 or hi_f <= 0:
                    raise self.err("a log-spaced range needs positive ends", path)
                vals = np.geomspace(lo_f, hi_f, int(a))
            else:
                vals = np.linspace(lo_f, hi_f, int(a))
        else:
            if lo_f <= 0 or hi_f <= 0 or a <= 0 or a == 1 or math.log(hi_f / lo_f) / math.log(a) < 0:
                raise self.err(f"empty range: from {lo} to {hi} by factor {arg}", path,
                               "positive ends and a factor that leads from 'from' towards 'to'")
            count = int(math.floor(math.log(hi_f / lo_f) / math.log(a) + 1e-9)) + 1
            self._count(count, path)
            vals = lo_f * a ** np.arange(count)
        return [_clean(float(v)) for v in vals]

    def _count(self, n: int, path: tuple[Any, ...]) -> None:
        if n > MAX_VALUES:
            raise self.err(f"range has {n} values, more than {MAX_VALUES}", path,
                           "a coarser step, or 'sample' with a uniform distribution")


# ---------------------------------------------------------------------------- loading


def load_space(source: str | Path | dict[str, Any], chunk_size: int | None = None) -> Space:
    """Parse and check a space file (or an already parsed mapping)."""
    if isinstance(source, dict):
        doc = LocatedDocument(copy.deepcopy(source), {}, "<space>")
    else:
        doc = load_yaml(source)
    return _build(doc, chunk_size)


def _build(doc: LocatedDocument, chunk_override: int | None) -> Space:
    rd = _Reader(doc)
    data = doc.data
    file = doc.file
    base_dir = Path(file).parent if file != "<space>" else Path(".")
    for key in data:
        if key not in TOP_KEYS:
            close = difflib.get_close_matches(str(key), TOP_KEYS, n=1)
            raise rd.err(f"unknown key '{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""),
                         (key,), "one of " + ", ".join(TOP_KEYS))
    if data.get("kind", "space") != "space":
        raise rd.err(f"kind is '{data['kind']}'", ("kind",), "space")

    # ---- sampling
    sample: int | None = None
    seed = 0
    if "sample" in data:
        raw = data["sample"]
        if isinstance(raw, dict):
            bad = set(raw) - {"points", "seed"}
            if bad or "points" not in raw:
                raise rd.err("bad sample block", ("sample",), "{points: N, seed: S} or a number")
            n, seed = raw["points"], raw.get("seed", 0)
        else:
            n = raw
        if isinstance(n, float) and n.is_integer():
            n = int(n)
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise rd.err(f"sample size {n!r} is not a positive whole number", ("sample",))
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise rd.err(f"seed {seed!r} is not a whole number >= 0", ("sample", "seed"))
        sample = n

    # ---- rules
    raw_rules = data.get("rules", data.get("rule"))
    rkey = "rules" if "rules" in data else "rule"
    if raw_rules is None:
        raise rd.err("no rules given", ("rules",), "rules: [bp, dfa] (one of " +
                     ", ".join(rule_names()) + ")")
    if isinstance(raw_rules, str):
        raw_rules = [raw_rules]
    if not isinstance(raw_rules, list) or not raw_rules:
        raise rd.err("rules must be a non-empty list", (rkey,), "rules: [bp, dfa]")
    rules: list[RuleDecl] = []
    labels: list[str] = []
    for i, r in enumerate(raw_rules):
        if not isinstance(r, str):
            raise rd.err(f"rule {i} is not a name", (rkey, i))
        target = r
        if r.endswith((".yaml", ".yml")) and not Path(r).exists() and (base_dir / r).exists():
            target = str(base_dir / r)
        try:
            rule = get_rule(target)
        except InputError as exc:
            if exc.file:
                raise
            raise rd.err(exc.message, (rkey, i), exc.expected) from None
        if rule.name in labels:
            raise rd.err(f"rule '{rule.name}' is listed twice", (rkey, i))
        rules.append(rule)
        labels.append(rule.name)

    # ---- parameters (collected first: file choices may come from here or the top level)
    params_raw = data.get("parameters", {})
    if params_raw is None:
        params_raw = {}
    if not isinstance(params_raw, dict):
        raise rd.err("parameters must be a mapping", ("parameters",),
                     "parameters: {adc.bits: [4, 6], subarray.rows: {from: 64, to: 512, factor: 2}}")
    file_choice: dict[str, tuple[list[Any], tuple[Any, ...]]] = {}
    for name in FILE_DIMS:
        top = data.get(name)
        under = params_raw.get(name)
        if top is not None and under is not None:
            raise rd.err(f"'{name}' is given both at the top level and under parameters",
                         ("parameters", name))
        if top is not None or under is not None:
            path: tuple[Any, ...] = (name,) if top is not None else ("parameters", name)
            raw = top if top is not None else under
            vals, _ = rd.values(raw, path, allow_dist=False)
            assert vals is not None
            for i, v in enumerate(vals):
                if not isinstance(v, str):
                    raise rd.err(f"'{v}' is not a file name", path + ((i,) if len(vals) > 1 else ()),
                                 f"a {name} YAML file or bundled name")
            resolved = [v if Path(v).exists() or not (base_dir / v).exists() else str(base_dir / v)
                        for v in vals]
            file_choice[name] = (resolved, path)

    def fixed(name: str) -> str | None:
        choice = file_choice.get(name)
        return choice[0][0] if choice and len(choice[0]) == 1 else None

    def varied(name: str) -> bool:
        choice = file_choice.get(name)
        return bool(choice and (len(choice[0]) > 1 or choice[1][0] == "parameters"))

    base = load_config(fixed("floorplan"), fixed("tech"), fixed("memory"), fixed("circuits"))
    floorplan_for: dict[str, Config] = {}
    file_models: dict[str, dict[str, Any]] = {}
    dims_file: list[Dim] = []
    for name in FILE_DIMS:
        if not varied(name):
            continue
        vals, path = file_choice[name]
        label_vals = list(vals)
        dims_file.append(Dim(name, "config", label_vals, None, doc.line_of(path)))
        if name == "floorplan":
            for v in vals:
                floorplan_for[v] = load_config(v, fixed("tech"), fixed("memory"), fixed("circuits"))
        else:
            models = {}
            for v in vals:
                kw = {name: v}
                models[v] = getattr(load_config(fixed("floorplan"), **kw), name)
            file_models[name] = models

    # ---- network
    networks: list[Network] | None = None
    mlp_spec: tuple[int, int] | None = None
    dims_net: list[Dim] = []
    if "network" in data and "mlp" in data:
        raise rd.err("give 'network' or 'mlp', not both", ("mlp",))
    if "mlp" in data:
        m = data["mlp"]
        if not isinstance(m, dict):
            raise rd.err("mlp must be a mapping", ("mlp",),
                         "{input: 784, classes: 10, depth: [2, 5, 10], width: [256, 1024]}")
        bad = set(m) - {"input", "classes", "depth", "width"}
        if bad:
            raise rd.err(f"unknown key(s) {', '.join(sorted(map(str, bad)))}", ("mlp",),
                         "input, classes, depth, width")
        ends = []
        for key in ("input", "classes"):
            v = m.get(key)
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise rd.err(f"mlp.{key} is {v!r}", ("mlp", key), "a positive whole number")
            ends.append(v)
        mlp_spec = (ends[0], ends[1])
        for key in ("depth", "width"):
            if key not in m:
                raise rd.err(f"mlp.{key} is missing", ("mlp",), "e.g. depth: [2, 5, 10]")
            vals, _ = rd.values(m[key], ("mlp", key), allow_dist=False)
            assert vals is not None
            for v in vals:
                if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                    raise rd.err(f"mlp.{key} value {v!r} is not a positive whole number",
                                 ("mlp", key))
            dims_net.append(Dim(f"mlp.{key}", "network", vals, None, doc.line_of(("mlp", key))))
    elif "network" in data:
        raw = data["network"]
        vals, _ = rd.values(raw, ("network",), allow_dist=False)
        assert vals is not None
        networks = []
        for i, v in enumerate(vals):
            where: tuple[Any, ...] = ("network", i) if isinstance(raw, list) else ("network",)
            if not isinstance(v, str):
                raise rd.err(f"network {v!r} is not a file name", where, "a network YAML file")
            target = v if Path(v).exists() or not (base_dir / v).exists() else str(base_dir / v)
            if not Path(target).exists():
                from .config import data_root

                bundled = data_root() / v
                if bundled.is_file():
                    target = str(bundled)
                else:
                    raise rd.err(f"network file '{v}' not found", where, "a network YAML file")
            networks.append(load_network(target))
        if isinstance(raw, list):
            dims_net.append(Dim("network", "network", list(vals), None, doc.line_of(("network",))))
    else:
        raise rd.err("no network given", ("network",),
                     "'network: path/to/net.yaml' or 'mlp: {input: 784, classes: 10, depth: [...], "
                     "width: [...]}'")

    # ---- numeric and structural parameters
    dims_struct: list[Dim] = []
    dims_num: list[Dim] = []
    base_models = {"tech": base.tech, "memory": base.memory, "circuits": base.circuits,
                   "floorplan": base.floorplan}
    all_paths: list[str] = []
    for section in CONSTANT_SECTIONS:
        _leaf_paths(section, base_models[section].model_dump(exclude_none=True), all_paths)
    _leaf_paths("", base.floorplan.model_dump(), all_paths)
    params_base = base.params()
    for pname, raw in params_raw.items():
        pname = str(pname)
        if pname in FILE_DIMS:
            continue
        path = ("parameters", pname)
        if pname == "network" or pname.startswith("mlp."):
            raise rd.err(f"'{pname}' goes at the top level, not under parameters", path)
        keys = pname.split(".")
        section = keys[0] if keys[0] in CONSTANT_SECTIONS else "floorplan"
        sub = keys[1:] if section != "floorplan" else keys
        # with an accuracy section, memory.c2c_sigma (...) may be varied although the memory
        # file does not define it: a training-only knob, as `cimcost train --set` accepts it
        knob = ("accuracy" in data and section == "memory" and len(sub) == 1
                and sub[0] in MEMORY_KNOBS)
        if knob:
            vals, dist = rd.values(raw, path, allow_dist=sample is not None)
            for v in (list(vals) if vals is not None else [dist[1], dist[2]] if dist else []):
                if not _plain_number(v) or not math.isfinite(v) or (
                        sub[0].endswith("sigma") and v < 0):
                    raise rd.err(f"value {v!r} is not valid for '{pname}'", path,
                                 "a number >= 0" if sub[0].endswith("sigma") else "a number")
            dims_num.append(Dim(pname, "numeric", vals, dist, doc.line_of(path)))
            continue
        if pname in ("technology", "memory", "circuits", "kind", "name") or not _has_path(
                base_models[section].model_dump(exclude_none=True), sub):
            close = difflib.get_close_matches(pname, all_paths, n=3)
            raise rd.err(f"unknown parameter '{pname}'", path,
                         ("one of " + ", ".join(close)) if close else
                         "a dotted field of the floorplan (adc.bits), techfile (tech.vdd), memory "
                         "cell (memory.r_on) or circuits file (circuits.sense_amp.area_f2)")
        vals, dist = rd.values(raw, path, allow_dist=sample is not None)
        # the field must exist in every file choice of its section
        if section in file_models:
            for label, model in file_models[section].items():
                if not _has_path(model.model_dump(exclude_none=True), sub):
                    raise rd.err(f"parameter '{pname}' is not defined by {section} '{label}'", path)
        checks: list[Any] = []
        if dist is not None:
            checks = [dist[1], dist[2], dist[1] + (dist[2] - dist[1]) * 0.4142135623]
        elif vals is not None and len(vals) > MAX_CHECKED and all(_plain_number(v) for v in vals):
            checks = [min(vals), max(vals)]
            checks += [v for v in vals if isinstance(v, float) and not v.is_integer()][:1]
        elif vals is not None:
            checks = list(vals)
        for v in checks:
            _check_value(rd, base_models[section], section, sub, v, path, pname)
        structural = section == "floorplan" and (
            pname not in params_base
            or (vals is not None and not all(_plain_number(v) for v in vals)))
        if not structural and section == "floorplan" and vals is not None:
            base_opts = base.options()
            structural = any(_with(base, sub, _as_field(v)).options() != base_opts
                             for v in checks)
        if structural and vals is None:
            raise rd.err(f"'{pname}' changes the hardware structure and cannot be drawn from a "
                         "distribution", path, "a list of values")
        dim = Dim(pname, "config" if structural else "numeric", vals, dist, doc.line_of(path))
        if structural and vals is not None:
            dim.values = [_as_field(v) if _plain_number(v) else v for v in vals]
        (dims_struct if structural else dims_num).append(dim)

    dims = dims_file + dims_net + dims_struct + dims_num
    if sample is None:
        for d in dims:
            if d.values is None:
                raise rd.err("a distribution needs a sampled space", ("parameters", d.name))

    # ---- shares
    shares = list(MAIN_SHARES)
    if "shares" in data:
        sraw = data["shares"]
        if sraw == "all":
            from .costs import ENERGY_KEYS, TRAFFIC_KEYS
            from .hardware import AREA_KEYS

            shares = ([("area", k) for k in AREA_KEYS] + [("energy", k) for k in ENERGY_KEYS]
                      + [("latency", k) for k in ENERGY_KEYS[:-1]]
                      + [("traffic", k) for k in TRAFFIC_KEYS])
        elif sraw != "main":
            raise rd.err(f"shares is {sraw!r}", ("shares",), "main or all")

    # ---- chunking
    chunk = data.get("chunk_size", DEFAULT_CHUNK)
    if chunk_override is not None:
        chunk = chunk_override
    if isinstance(chunk, float) and chunk.is_integer():
        chunk = int(chunk)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or not 1 <= chunk <= 1 << 24:
        raise rd.err(f"chunk_size {chunk!r}", ("chunk_size",), "a whole number from 1 to 16777216")

    space = Space(file=file, name=str(data.get("name", Path(file).stem)), dims=dims, rules=rules,
                  rule_labels=labels, base=base, file_models=file_models,
                  floorplan_for=floorplan_for, networks=networks, mlp_spec=mlp_spec,
                  sample=sample, seed=int(seed), constraints=[], chunk_size=chunk, shares=shares)
    if space.points == 0:
        raise rd.err("the space has no design points", ("parameters",))
    if "accuracy" in data:
        space.accuracy = _accuracy(rd, data["accuracy"], base_dir, space)

    # ---- constraints (they may name any output column)
    craw = data.get("constraints", [])
    if isinstance(craw, str):
        craw = [craw]
    if not isinstance(craw, list):
        raise rd.err("constraints must be a list", ("constraints",), "['area < 100 mm2', ...]")
    colnames = [c for c, _ in space.columns()]
    dtypes = dict(space.columns())
    for i, text in enumerate(craw):
        space.constraints.append(parse_constraint(text, colnames, dtypes, rd, ("constraints", i)))
    space.hash = _hash(space)
    return space


def _as_field(v: Any) -> Any:
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _with(cfg: Config, keys: list[str], value: Any) -> Config:
    data = cfg.floorplan.model_dump()
    _set_path(data, keys, value)
    fp = type(cfg.floorplan).model_validate(data)
    return Config(cfg.tech, cfg.memory, cfg.circuits, fp, cfg.files)


def _check_value(rd: _Reader, model: Any, section: str, keys: list[str], value: Any,
                 path: tuple[Any, ...], pname: str) -> None:
    from pydantic import ValidationError

    data = model.model_dump(exclude_none=True)
    v = _as_field(value)
    if section in CONSTANT_SECTIONS:
        node = data
        for k in keys:
            node = node[k]
        node["value"] = float(v) if _plain_number(v) else v
    else:
        _set_path(data, keys, v)
    try:
        type(model).model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        msg = first.get("msg", "invalid value")
        raise rd.err(f"value {value!r} is not valid for '{pname}': {msg}", path) from None


def parse_constraint(text: Any, columns: list[str], dtypes: dict[str, str], rd: _Reader | None = None,
                     path: tuple[Any, ...] = ("constraints",)) -> Constraint:
    """``'area < 100 mm2'`` -> Constraint('area', '<', 1e-4)."""

    def err(message: str, expected: str | None = None) -> InputError:
        if rd is not None:
            return rd.err(message, path, expected)
        return InputError(message, field="constraint", expected=expected)

    if not isinstance(text, str):
        raise err(f"constraint {text!r} is not text", "e.g. 'area < 100 mm2'")
    m = _CONSTRAINT.match(text)
    if not m:
        raise err(f"cannot read constraint '{text}'",
                  "'<column> <op> <number> [unit]' with op one of < <= > >= == !=, "
                  "e.g. 'area < 100 mm2' or 'latency <= 2 ms'")
    col, op, num, unit = m["col"], m["op"], float(m["num"]), m["unit"]
    if col not in columns:
        close = difflib.get_close_matches(col, columns, n=3)
        raise err(f"constraint '{text}' names unknown column '{col}'",
                  "one of " + ", ".join(close or columns[:12]))
    if dtypes.get(col) == "str":
        raise err(f"constraint '{text}': column '{col}' holds names, not numbers")
    quantity = (col if col in TOTALS else "share" if col.endswith("_share") or col == "accuracy"
                else None)
    scale = 1.0
    if unit:
        table = UNITS.get(quantity or "", {})
        if unit not in table:
            want = (", ".join(table) if table else "no unit (parameters are compared as written)")
            raise err(f"constraint '{text}': unit '{unit}' does not fit '{col}'", want)
        scale = table[unit]
    return Constraint(text, col, op, num * scale)


def _code_hash() -> str:
    """The cost model's own source (modules and bundled rules): a sweep resumed after the
    model changed must not mix old and new chunks."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for f in sorted(root.rglob("*")):
        if f.suffix in (".py", ".yaml") and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(root)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _hash(space: Space) -> str:
    """What a chunk's content depends on: changing any of it invalidates finished chunks."""
    from . import __version__

    def dump(model: Any) -> Any:
        return model.model_dump(mode="json")

    doc = {
        "version": __version__,
        "code": _code_hash(),
        "dims": [(d.name, d.kind, d.values, d.dist) for d in space.dims],
        "rules": [dump(r) for r in space.rules],
        "base": [dump(space.base.tech), dump(space.base.memory), dump(space.base.circuits),
                 dump(space.base.floorplan)],
        "files": {k: {n: dump(m) for n, m in v.items()} for k, v in space.file_models.items()},
        "floorplans": {k: [dump(c.floorplan), dump(c.tech), dump(c.memory), dump(c.circuits)]
                       for k, c in space.floorplan_for.items()},
        "networks": [(n.name, n.input_features, [dataclasses.astuple(ly) for ly in n.layers])
                     for n in space.networks] if space.networks else None,
        "mlp": space.mlp_spec,
        "sample": space.sample,
        "seed": space.seed,
        "constraints": [(c.column, c.op, c.value) for c in space.constraints],
        "chunk_size": space.chunk_size,
        "shares": space.shares,
        "options": dataclasses.asdict(space.base.options()),
        "accuracy": dataclasses.asdict(space.accuracy) if space.accuracy else None,
    }
    text = json.dumps(doc, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------- accuracy


def training_dim(name: str, kind: str, batch_from_space: bool) -> bool:
    """Whether a dimension changes what the training engine does: the network, the floorplan
    and memory files, and the fields :mod:`cimcost.training.hardware` reads."""
    if kind == "network" or name in ("floorplan", "memory"):
        return True
    if name.startswith("memory."):
        return name.removeprefix("memory.") in MEMORY_FIELDS
    return name in FLOORPLAN_FIELDS or (batch_from_space and name == "training.batch_size")


def _file_stamp(path: Path) -> str:
    files = sorted(path.iterdir()) if path.is_dir() else [path]
    return ";".join(f"{f.name}:{f.stat().st_size}:{f.stat().st_mtime_ns}" for f in files if f.is_file())


def _accuracy(rd: _Reader, raw: Any, base_dir: Path, space: Space) -> AccuracySpec:
    """Check the ``accuracy`` section against the data set, the networks and the rules."""
    from .training.data import DATASETS, _default_location, load_dataset
    from .training.engine import ALGORITHMS, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS, resolve_rule

    sec = ("accuracy",)
    example = "accuracy: {dataset: digits, epochs: 5, seed: 0}"
    if not isinstance(raw, dict):
        raise rd.err("accuracy must be a mapping", sec, example)
    for key in raw:
        if key not in ACCURACY_KEYS:
            close = difflib.get_close_matches(str(key), ACCURACY_KEYS, n=1)
            raise rd.err(f"unknown key '{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""),
                         sec + (key,), "one of " + ", ".join(ACCURACY_KEYS))

    def whole(key: str, default: int | None, low: int) -> int | None:
        v = raw.get(key, default)
        if v is None and default is None and key not in raw:
            return None
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise rd.err(f"accuracy.{key} is {v!r}", sec + (key,), f"a whole number >= {low}")
        return v

    if "epochs" not in raw:
        raise rd.err("accuracy.epochs is missing", sec, "e.g. epochs: 5")
    epochs = whole("epochs", None, 1)
    seed = whole("seed", 0, 0)
    batch = whole("batch_size", None, 1)
    limit = whole("limit", None, 1)
    max_trainings = whole("max_trainings", DEFAULT_MAX_TRAININGS, 1)
    assert epochs is not None and seed is not None and max_trainings is not None

    # ---- the data set
    expected = ("digits, synthetic-classification, mnist, fashion-mnist, or a path to MNIST-format "
                "files (a folder of IDX files or an .npz)")
    name = raw.get("dataset")
    if name is None:
        raise rd.err("accuracy.dataset is missing", sec, expected)
    if not isinstance(name, str) or not name:
        raise rd.err(f"accuracy.dataset is {name!r}", sec + ("dataset",), expected)
    data_path: str | None = None
    if "data" in raw:
        d = raw["data"]
        if not isinstance(d, str) or not d:
            raise rd.err(f"accuracy.data is {d!r}", sec + ("data",), "a folder of IDX files or an .npz")
        data_path = str(d if Path(d).exists() or not (base_dir / d).exists() else base_dir / d)
        if not Path(data_path).exists():
            raise rd.err(f"accuracy.data '{d}' does not exist", sec + ("data",),
                         "a folder of IDX files or an .npz (never downloaded)")
        if name not in ("mnist", "fashion-mnist"):
            raise rd.err("accuracy.data goes with dataset mnist or fashion-mnist", sec + ("data",))
    if name == "synthetic-regression":
        raise rd.err("the synthetic-regression task has real-valued targets: no accuracy",
                     sec + ("dataset",), "a classification data set: " + expected)
    stamp = ""
    if name in DATA_SHAPES:
        features, classes = DATA_SHAPES[name]
        if name == "digits":
            import importlib.util

            if importlib.util.find_spec("sklearn") is None:
                raise rd.err("the digits data set is read from scikit-learn, which is not installed",
                             sec + ("dataset",), "pip install 'cimcost[experiments]' (or "
                             "scikit-learn), or dataset: synthetic-classification")
    else:
        if name in ("mnist", "fashion-mnist"):
            located = Path(data_path) if data_path else _default_location(name)
            if located is None:
                raise rd.err(f"no {name} files found ($CIMCOST_DATA/{name}, /usr/share/datasets/"
                             f"{name}); cimcost never downloads data", sec + ("data",),
                             f"data: a folder of {name} IDX files or an .npz")
            data_path = str(located)
        elif name in DATASETS:  # pragma: no cover - every named set is handled above
            raise rd.err(f"dataset '{name}' cannot give an accuracy", sec + ("dataset",), expected)
        else:
            target = Path(name) if Path(name).exists() else base_dir / name
            if not target.exists():
                close = difflib.get_close_matches(name, DATASETS, n=1)
                raise rd.err(f"unknown dataset '{name}'" + (f" (did you mean '{close[0]}'?)"
                                                            if close else ""),
                             sec + ("dataset",), expected)
            name = str(target)
        try:
            loaded = load_dataset(name, data_path, seed=seed)
        except InputError as exc:
            raise rd.err(exc.message, sec + ("dataset",), exc.expected) from None
        features, classes = loaded.features, loaded.outputs
        stamp = _file_stamp(Path(data_path or name))

    # ---- networks: dense chains of the data set's shape
    hint = ""
    if name == "digits":
        hint = ("; use examples/mlp-digits.yaml (64-256-256-10), or mlp: {input: 64, classes: 10, "
                "...}")
    elif name == "synthetic-classification":
        hint = "; use mlp: {input: 256, classes: 10, depth: [...], width: [...]}"
    depths: set[int] = set()
    if space.mlp_spec is not None:
        inp, cls = space.mlp_spec
        if inp != features:
            raise rd.err(f"mlp.input is {inp} but the {name} data set has {features} features{hint}",
                         ("mlp", "input"), str(features))
        if cls != classes:
            raise rd.err(f"mlp.classes is {cls} but the {name} data set has {classes} classes",
                         ("mlp", "classes"), str(classes))
        depths = {int(v) for v in space.dim("mlp.depth").values or []}
    else:
        assert space.networks is not None
        many = len(space.networks) > 1
        for i, net in enumerate(space.networks):
            where: tuple[Any, ...] = ("network", i) if many else ("network",)
            if net.has_conv or net.ops or any(ly.kind != "dense" for ly in net.layers):
                raise rd.err(f"network '{net.name}' is not a plain MLP; the training engine trains "
                             "dense layers only", where, "an MLP network file")
            if net.input_features != features:
                raise rd.err(f"network '{net.name}' takes {net.input_features} inputs but the {name} "
                             f"data set has {features} features{hint}", where, str(features))
            if net.layers[-1].out_features != classes:
                raise rd.err(f"network '{net.name}' has {net.layers[-1].out_features} outputs but "
                             f"the {name} data set has {classes} classes", where, str(classes))
            acts = [ly.activation for ly in net.layers]
            if any(a not in HIDDEN_ACTIVATIONS for a in acts[:-1]) or acts[-1] not in OUTPUT_ACTIVATIONS:
                raise rd.err(f"network '{net.name}' has activations {acts} the training engine does "
                             "not train", where, "hidden: " + ", ".join(HIDDEN_ACTIVATIONS) +
                             "; output: " + ", ".join(OUTPUT_ACTIVATIONS))
            depths.add(net.depth)
    rkey = "rules" if "rules" in rd.doc.data else "rule"
    for i, rule in enumerate(space.rules):
        for depth in sorted(depths):
            try:
                resolve_rule(rule, depth)
            except InputError as exc:
                raise rd.err(f"{exc.message}: the accuracy column needs a learning rule",
                             (rkey, i) if isinstance(rd.doc.data.get(rkey), list) else (rkey,),
                             "one of " + ", ".join(ALGORITHMS)) from None

    names = {d.name for d in space.dims}
    batch_from_space = batch is None and "training.batch_size" in names
    dims = tuple(d.name for d in space.dims if training_dim(d.name, d.kind, batch_from_space))
    return AccuracySpec(dataset=name, data=data_path, epochs=epochs, seed=seed, batch_size=batch,
                        limit=limit, max_trainings=max_trainings, dims=dims, stamp=stamp)
