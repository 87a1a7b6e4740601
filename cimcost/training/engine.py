"""A numpy training engine for MLPs under BP, FA, DFA, sDFA, DRTP and ELM/NoProp, with the
hardware effects of :mod:`cimcost.training.hardware`.

Notation: layer l maps h[l] (its input; h[0] is the data) to a[l] = h[l] W[l] + b[l] and
h[l+1] = f_l(a[l]).  e = dL/da[last] (softmax + cross-entropy, sigmoid + binary cross-entropy,
or squared error); delta[l] is the learning signal at a[l]:

=====  ==================================================================================
bp     delta[l] = (delta[l+1] W[l+1]^T) * f'(a[l])   (transposed read of the same arrays)
fa     delta[l] = (delta[l+1] B[l+1]) * f'(a[l])     (B[l+1] fixed, shaped like W[l+1]^T)
dfa    delta[l] = (e B[l]) * f'(a[l])                (B[l]: classes x width, fixed)
sdfa   delta[l] = (sign(e) B[l]) * f'(a[l])
drtp   delta[l] = -(t B[l]) * f'(a[l])               (t one-hot: a column look-up of B)
elm    hidden layers fixed random; only the read-out learns, by sign Widrow-Hoff:
       dW = -pulse * sign(h^T e), one programming pulse per cell per batch
=====  ==================================================================================

The output layer always learns from e.  Updates are plain mini-batch SGD (dW = h^T delta / n),
or one pulse in the sign of the gradient with ``sign_updates``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError
from .data import Dataset
from .hardware import DeviceArray, Hardware, fixed_matrix, mvm, quantize_tensor

ALGORITHMS = ("bp", "fa", "dfa", "sdfa", "drtp", "elm")
# which layers learn, for rules whose declaration does not exist (yet)
FALLBACK_TRAINED = {"bp": "all", "fa": "all", "dfa": "all", "sdfa": "all", "drtp": "all",
                    "elm": "last", "noprop": "last"}
HIDDEN_ACTIVATIONS = ("relu", "tanh", "sigmoid", "identity")
OUTPUT_ACTIVATIONS = ("softmax", "sigmoid", "tanh", "identity", "relu")
DEFAULT_LR = {"bp": 0.1, "fa": 0.1, "dfa": 0.05, "sdfa": 0.1, "drtp": 0.1, "elm": 0.1}
# sign-of-error and target projections never shrink as the network learns: a smaller rate
DEFAULT_HIDDEN_LR: dict[str, float] = {"sdfa": 0.001, "drtp": 0.001}

FloatArray = np.ndarray


def _select(selector: str, depth: int) -> set[int]:
    return {"all": set(range(depth)), "hidden": set(range(depth - 1)),
            "not_first": set(range(1, depth)), "last": {depth - 1}}[selector]


def resolve_rule(rule: Any, depth: int) -> tuple[str, list[bool]]:
    """The algorithm name and which layers learn: from the rule's declaration (phases that run on
    a weight-gradient unit; ``rule`` a name or a loaded :class:`~cimcost.rules.RuleDecl`), else
    from :data:`FALLBACK_TRAINED`."""
    from ..rules import get_rule

    if not isinstance(rule, str):
        name, selectors = rule.name, rule.trained_layers_selector
    else:
        try:
            decl = get_rule(rule)
            name, selectors = decl.name, decl.trained_layers_selector
        except InputError:
            if rule not in FALLBACK_TRAINED:
                raise
            name, selectors = ("elm" if rule == "noprop" else rule), {FALLBACK_TRAINED[rule]}
    if name not in ALGORITHMS:
        raise InputError(f"rule '{name}' cannot be trained here", field="--rule",
                         expected="one of " + ", ".join(ALGORITHMS))
    trained: set[int] = set()
    for sel in selectors:
        trained |= _select(sel, depth)
    if not trained:
        raise InputError(f"rule '{name}' trains no layer", field="--rule")
    return name, [i in trained for i in range(depth)]


def _act(name: str, a: FloatArray) -> FloatArray:
    if name == "relu":
        return np.maximum(a, 0)
    if name == "tanh":
        return np.tanh(a)
    if name == "sigmoid":
        return 0.5 * (1.0 + np.tanh(0.5 * a))
    if name == "softmax":
        z = np.exp(a - a.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)
    return a


def _dact(name: str, a: FloatArray, h: FloatArray) -> FloatArray:
    """f'(a) given a and h = f(a) (softmax: only used with its own loss)."""
    if name == "relu":
        return (a > 0).astype(a.dtype)
    if name == "tanh":
        return 1.0 - h * h
    if name == "sigmoid":
        return h * (1.0 - h)
    return np.ones_like(a)


@dataclass
class Options:
    epochs: int = 10
    batch_size: int = 32
    lr: float | None = None            # None: DEFAULT_LR of the rule
    hidden_lr: float | None = None     # hidden layers' rate; None: DEFAULT_HIDDEN_LR or lr
    sign_threshold: float = 0.1        # sdfa: |e| below this sends 0 (a ternary sign)
    seed: int = 0
    init: str = "auto"                 # auto (He for relu, Xavier otherwise), he, xavier
    sign_updates: bool | None = None   # None: only elm
    sign_step: float | None = None     # float weights: step of a sign update (default: 8-bit pulse)
    feedback: str = "sliced"           # dfa/sdfa/drtp: one B sliced for all layers, or per_layer
    dtype: str = "float32"
    bias: bool = True


@dataclass
class Epoch:
    epoch: int
    train_loss: float
    test_loss: float
    train_accuracy: float | None
    test_accuracy: float | None

    def to_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "train_accuracy": self.train_accuracy,
                "test_accuracy": self.test_accuracy, "train_loss": self.train_loss,
                "test_loss": self.test_loss}


@dataclass
class TrainResult:
    rule: str
    dataset: str
    history: list[Epoch] = field(default_factory=list)
    hardware: dict[str, Any] = field(default_factory=dict)
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def final_test_accuracy(self) -> float | None:
        return self.history[-1].test_accuracy if self.history else None

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "dataset": self.dataset,
                "history": [h.to_dict() for h in self.history],
                "final_test_accuracy": self.final_test_accuracy,
                "final_test_loss": self.history[-1].test_loss if self.history else None,
                "hardware": self.hardware, "options": self.options}


class Trainer:
    """An MLP (``sizes``: input first) trained by ``rule`` on hardware ``hw``."""

    def __init__(self, sizes: Sequence[int], activations: Sequence[str], rule: str = "bp",
                 hw: Hardware | None = None, options: Options | None = None,
                 trained: Sequence[bool] | None = None) -> None:
        self.sizes = [int(s) for s in sizes]
        self.depth = len(self.sizes) - 1
        if len(activations) != self.depth:
            raise InputError("one activation per layer is needed", field="layers")
        self.activations = list(activations)
        for act in self.activations[:-1]:
            if act not in HIDDEN_ACTIVATIONS:
                raise InputError(f"hidden activation '{act}' cannot be trained here",
                                 field="activation", expected=", ".join(HIDDEN_ACTIVATIONS))
        if self.activations[-1] not in OUTPUT_ACTIVATIONS:
            raise InputError(f"output activation '{self.activations[-1]}' is not supported",
                             field="activation", expected=", ".join(OUTPUT_ACTIVATIONS))
        self.hw = hw or Hardware.ideal()
        self.opt = options or Options()
        if trained is None:
            self.rule, self.trained = resolve_rule(rule, self.depth)
        else:
            self.rule, self.trained = rule, list(trained)
        if self.rule not in ALGORITHMS:
            raise InputError(f"unknown rule '{self.rule}'", field="--rule",
                             expected=", ".join(ALGORITHMS))
        self.dtype = np.dtype(self.opt.dtype)
        self.lr = self.opt.lr if self.opt.lr is not None else DEFAULT_LR[self.rule]
        self.hidden_lr = self.opt.hidden_lr if self.opt.hidden_lr is not None else \
            DEFAULT_HIDDEN_LR.get(self.rule, self.lr)
        self.sign_updates = (self.rule == "elm") if self.opt.sign_updates is None else self.opt.sign_updates
        seeds = np.random.SeedSequence(self.opt.seed).spawn(4)
        init_rng, fb_rng, dev_rng, self.shuffle_rng = (np.random.default_rng(s) for s in seeds)
        self.bounds: list[float] = []
        self.layers: list[DeviceArray] = []
        self.biases: list[FloatArray] = []
        for i in range(self.depth):
            fan_in, fan_out = self.sizes[i], self.sizes[i + 1]
            he = self.opt.init == "he" or (self.opt.init == "auto" and self.activations[i] == "relu")
            bound = math.sqrt(6.0 / fan_in) if he else math.sqrt(6.0 / (fan_in + fan_out))
            w0 = init_rng.uniform(-bound, bound, size=(fan_in, fan_out)).astype(self.dtype)
            self.bounds.append(bound)
            self.layers.append(DeviceArray(w0, bound, self.hw, dev_rng, trainable=self.trained[i]))
            self.biases.append(np.zeros(fan_out, self.dtype))
        self.feedback: list[FloatArray | None] = self._make_feedback(fb_rng)

    # ------------------------------------------------------------------ set-up

    @property
    def weights(self) -> list[FloatArray]:
        return [layer.w for layer in self.layers]

    @property
    def classes(self) -> int:
        return self.sizes[-1]

    def _make_feedback(self, rng: np.random.Generator) -> list[FloatArray | None]:
        out: list[FloatArray | None] = [None] * self.depth
        c = self.classes
        if self.rule == "fa":
            for i in range(1, self.depth):
                if self.trained[i - 1]:
                    shape = (self.sizes[i + 1], self.sizes[i])     # like W[i]^T
                    b = rng.uniform(-self.bounds[i], self.bounds[i], shape).astype(self.dtype)
                    out[i] = fixed_matrix(b, self.hw, rng, in_cim=True)
        elif self.rule in ("dfa", "sdfa", "drtp"):
            hidden = [i for i in range(self.depth - 1) if self.trained[i]]
            if not hidden:
                return out
            widest = max(self.sizes[i + 1] for i in hidden)
            in_cim = self.rule != "drtp"        # drtp keeps B in a digital look-up table
            shared = rng.uniform(-1, 1, (c, widest)).astype(self.dtype) * math.sqrt(6.0 / (c + widest))
            for i in hidden:
                width = self.sizes[i + 1]
                if self.opt.feedback == "per_layer":
                    b = rng.uniform(-1, 1, (c, width)).astype(self.dtype) * math.sqrt(6.0 / (c + width))
                else:
                    b = shared[:, :width]
                out[i] = fixed_matrix(np.ascontiguousarray(b), self.hw, rng, in_cim=in_cim)
        return out

    # ------------------------------------------------------------------ passes

    def forward(self, x: FloatArray) -> tuple[list[FloatArray], list[FloatArray]]:
        """Inputs h[0..depth] (h[depth] the output) and pre-activations a[0..depth-1]."""
        hw = self.hw
        h = quantize_tensor(np.asarray(x, dtype=self.dtype), hw.activation_bits)
        hs, as_ = [h], []
        for i, layer in enumerate(self.layers):
            a = mvm(h, layer.w, hw.adc_rows, hw.adc_bits)
            if self.opt.bias:
                a = a + self.biases[i]
            h = _act(self.activations[i], a)
            if i < self.depth - 1:
                h = quantize_tensor(h, hw.activation_bits)
            as_.append(a)
            hs.append(h)
        return hs, as_

    def _targets(self, y: FloatArray) -> FloatArray:
        if y.ndim == 1:
            t = np.zeros((len(y), self.classes), self.dtype)
            t[np.arange(len(y)), y] = 1.0
            return t
        return np.asarray(y, dtype=self.dtype)

    def _loss(self, out: FloatArray, a: FloatArray, t: FloatArray) -> tuple[float, FloatArray]:
        """Mean loss over the batch and e = dL/da (per sample, not divided by n)."""
        act = self.activations[-1]
        eps = 1e-12
        if act == "softmax":
            loss = -float(np.mean(np.sum(t * np.log(out + eps), axis=1)))
            return loss, out - t
        if act == "sigmoid" and (t.min() >= 0 and t.max() <= 1):
            loss = -float(np.mean(np.sum(t * np.log(out + eps) + (1 - t) * np.log(1 - out + eps),
                                         axis=1)))
            return loss, out - t
        diff = out - t
        return 0.5 * float(np.mean(np.sum(diff * diff, axis=1))), diff * _dact(act, a, out)

    def loss(self, x: FloatArray, y: FloatArray) -> float:
        hs, as_ = self.forward(x)
        return self._loss(hs[-1], as_[-1], self._targets(y))[0]

    def signals(self, hs: list[FloatArray], as_: list[FloatArray], t: FloatArray,
                e: FloatArray) -> list[FloatArray | None]:
        """delta[l] for every trained layer (None for frozen layers nobody needs)."""
        hw = self.hw
        q = hw.error_bits
        e = quantize_tensor(e, q)
        deltas: list[FloatArray | None] = [None] * self.depth
        deltas[-1] = e
        last = self.depth - 1
        need_chain = self.rule in ("bp", "fa")
        first_needed = min((i for i in range(self.depth) if self.trained[i]), default=last)
        for i in range(last - 1, -1, -1):
            if not self.trained[i] and not (need_chain and i > first_needed):
                continue
            fprime = _dact(self.activations[i], as_[i], hs[i + 1])
            if self.rule == "bp":
                nxt = deltas[i + 1]
                assert nxt is not None
                back = mvm(nxt, self.layers[i + 1].w.T, hw.transposed_adc_rows, hw.transposed_adc_bits)
            elif self.rule == "fa":
                nxt, fb = deltas[i + 1], self.feedback[i + 1]
                assert nxt is not None and fb is not None
                back = mvm(nxt, fb, hw.adc_rows, hw.adc_bits)
            elif self.rule in ("dfa", "sdfa"):
                fb = self.feedback[i]
                assert fb is not None
                signal = e
                if self.rule == "sdfa":
                    signal = np.sign(e) * (np.abs(e) > self.opt.sign_threshold)
                back = mvm(signal, fb, hw.adc_rows, hw.adc_bits)
            elif self.rule == "drtp":
                fb = self.feedback[i]
                assert fb is not None
                back = -(t @ fb)
            else:
                continue
            deltas[i] = quantize_tensor(back * fprime, q)
        return deltas

    def gradients(self, x: FloatArray, y: FloatArray) -> list[tuple[FloatArray, FloatArray] | None]:
        """(dW, db) per layer, mean over the batch, before gradient quantisation."""
        hs, as_ = self.forward(x)
        t = self._targets(y)
        _, e = self._loss(hs[-1], as_[-1], t)
        deltas = self.signals(hs, as_, t, e)
        n = len(x)
        out: list[tuple[FloatArray, FloatArray] | None] = []
        for i in range(self.depth):
            d = deltas[i]
            if not self.trained[i] or d is None:
                out.append(None)
                continue
            out.append((hs[i].T @ d / n, d.mean(axis=0)))
        return out

    def step(self, x: FloatArray, y: FloatArray) -> tuple[float, int]:
        """One mini-batch: forward, learning signals, updates.  Returns (loss, correct)."""
        hs, as_ = self.forward(x)
        t = self._targets(y)
        loss, e = self._loss(hs[-1], as_[-1], t)
        correct = int(np.sum(hs[-1].argmax(axis=1) == y)) if y.ndim == 1 else 0
        deltas = self.signals(hs, as_, t, e)
        n = len(x)
        for i in range(self.depth):
            d = deltas[i]
            if not self.trained[i] or d is None:
                continue
            lr = self.lr if i == self.depth - 1 else self.hidden_lr
            grad = quantize_tensor(hs[i].T @ d, self.hw.gradient_bits)
            if self.sign_updates:
                pulse = self._sign_step(i)
                self.layers[i].apply(-pulse * np.sign(grad))
            else:
                self.layers[i].apply(grad * (-lr / n))
            if self.opt.bias:
                self.biases[i] -= (lr / n) * d.sum(axis=0)
        return loss, correct

    def _sign_step(self, i: int) -> FloatArray | float:
        layer = self.layers[i]
        if layer.levels is not None:
            return layer.pulse_size()
        if self.opt.sign_step is not None:
            return self.opt.sign_step
        return 2 * self.hw.weight_range * self.bounds[i] / 255

    def evaluate(self, x: FloatArray, y: FloatArray, chunk: int = 2000) -> tuple[float, float | None]:
        """(mean loss, accuracy or None for regression) with the chip's forward pass."""
        total, correct = 0.0, 0
        for s in range(0, len(x), chunk):
            xb, yb = x[s:s + chunk], y[s:s + chunk]
            hs, as_ = self.forward(xb)
            total += self._loss(hs[-1], as_[-1], self._targets(yb))[0] * len(xb)
            if yb.ndim == 1:
                correct += int(np.sum(hs[-1].argmax(axis=1) == yb))
        n = max(len(x), 1)
        return total / n, (correct / n if y.ndim == 1 else None)

    def fit(self, data: Dataset, epochs: int | None = None,
            callback: Callable[[Epoch], None] | None = None) -> list[Epoch]:
        epochs = self.opt.epochs if epochs is None else epochs
        x = data.x_train.astype(self.dtype, copy=False)
        y = data.y_train if data.task == "classification" else data.y_train.astype(self.dtype)
        xt = data.x_test.astype(self.dtype, copy=False)
        yt = data.y_test if data.task == "classification" else data.y_test.astype(self.dtype)
        bs = self.opt.batch_size
        history = []
        for epoch in range(1, epochs + 1):
            order = self.shuffle_rng.permutation(len(x))
            loss_sum, correct = 0.0, 0
            for s in range(0, len(x), bs):
                idx = order[s:s + bs]
                loss, ok = self.step(x[idx], y[idx])
                loss_sum += loss * len(idx)
                correct += ok
            test_loss, test_acc = self.evaluate(xt, yt)
            rec = Epoch(epoch, loss_sum / len(x), test_loss,
                        correct / len(x) if data.task == "classification" else None, test_acc)
            history.append(rec)
            if callback is not None:
                callback(rec)
        return history


def check_fit(sizes: Sequence[int], data: Dataset, source: str = "network") -> None:
    """InputError unless the network's input and output sizes match the data set."""
    if sizes[0] != data.features:
        hint = ""
        if data.name == "digits":
            hint = "; use examples/mlp-digits.yaml (64-256-256-10) or --mlp 64,256,256,10"
        if sizes[0] == 784:
            hint += "; a 784-input network needs MNIST-shaped data: --dataset fashion-mnist " \
                    "--data PATH (or mnist) with files already on disk"
        raise InputError(f"{source} takes {sizes[0]} inputs but the {data.name} data set has "
                         f"{data.features} features{hint}", field="input_features",
                         expected=str(data.features))
    if sizes[-1] != data.outputs:
        kind = "classes" if data.task == "classification" else "outputs"
        raise InputError(f"{source} has {sizes[-1]} outputs but the {data.name} data set has "
                         f"{data.outputs} {kind}", field="layers[-1].out_features",
                         expected=str(data.outputs))


def one_blas_thread() -> contextlib.AbstractContextManager[Any]:
    """The engine's float sums (and so its results, through stochastic rounding) depend on the
    BLAS thread count, so every training runs with one BLAS thread, wherever it runs (on two
    cores small matrix products are also faster that way)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(1)


def train(network: Any, dataset: Dataset | str, rule: str = "bp", hw: Hardware | None = None,
          options: Options | None = None, callback: Callable[[Epoch], None] | None = None) -> TrainResult:
    """Train ``network`` (a :class:`cimcost.Network`, a YAML path or MLP sizes) on ``dataset``."""
    from ..network import Network, load_network, mlp
    from .data import load_dataset

    if isinstance(network, str):
        network = load_network(network)
    elif isinstance(network, (list, tuple)):
        network = mlp(list(network))
    if not isinstance(network, Network):
        raise InputError("network must be a Network, a YAML path or a list of sizes", field="network")
    opts = options or Options()
    data = load_dataset(dataset, seed=opts.seed) if isinstance(dataset, str) else dataset
    sizes = [network.input_features] + [ly.out_features for ly in network.layers]
    check_fit(sizes, data, f"network '{network.name}'")
    trainer = Trainer(sizes, [ly.activation for ly in network.layers], rule, hw, opts)
    result = TrainResult(trainer.rule, data.name, hardware=trainer.hw.to_dict(),
                         options={"epochs": opts.epochs, "batch_size": opts.batch_size,
                                  "lr": trainer.lr, "seed": opts.seed,
                                  "sign_updates": trainer.sign_updates, "feedback": opts.feedback,
                                  "trained_layers": [ly.name for ly, t in
                                                     zip(network.layers, trainer.trained, strict=True)
                                                     if t]})
    with one_blas_thread():
        result.history = trainer.fit(data, opts.epochs, callback)
    return result


def final_accuracy(sizes: Sequence[int], activations: Sequence[str], rule: str, data: Dataset,
                   hw: Hardware | None = None, options: Options | None = None,
                   trained: Sequence[bool] | None = None) -> tuple[float, list[Epoch]]:
    """Train once (as ``cimcost train`` does) and return the final test accuracy and the
    per-epoch history.  Classification data only."""
    if data.task != "classification":
        raise InputError(f"the {data.name} task has no accuracy (real-valued targets)",
                         field="dataset", expected="a classification data set")
    check_fit(sizes, data)
    trainer = Trainer(sizes, activations, rule, hw, options, trained)
    with one_blas_thread():
        history = trainer.fit(data)
    acc = history[-1].test_accuracy if history else None
    return float(acc) if acc is not None else float("nan"), history
